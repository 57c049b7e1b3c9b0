// Package httpd is the HTTP listener every long-running swell process has:
// /healthz, /metrics, and the routes a component adds with Handle (behind
// the API token when one is set).
//
// Health is the sum of named checks that the components register; /healthz
// answers 200 only when every check passes and lists each check's result in
// JSON so an operator sees which part is down. The agent uses this package
// alone; the server adds the API of package api on top.
package httpd
