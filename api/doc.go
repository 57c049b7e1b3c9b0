// Package api is the control plane's HTTP API that the CLI talks to: the
// routes under /v1/ that a server adds to its httpd.Server (services,
// nodes, instances, events, rollouts, alerts), and the Client that the
// commands use to call them.
package api
