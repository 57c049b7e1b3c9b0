// Package api is swell's HTTP surface: /healthz and /metrics on every
// long-running process, and (on the server) the API that the CLI talks to.
//
// A Server owns one listener. Health is the sum of named checks that the
// components register; /healthz answers 200 only when every check passes and
// lists each check's result in JSON so an operator sees which part is down.
package api
