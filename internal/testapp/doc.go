// Command testapp is the payload that swell's container tests and demo run
// inside images built FROM scratch: no image can be pulled here, so the
// project ships its own tiny static program instead.
//
// Usage:
//
//	testapp [serve]   HTTP server on :$PORT (default :8080)
//	testapp sleep     block until SIGTERM or SIGINT, then exit 0
//
// Both modes print "testapp: ready" once they handle SIGTERM (as PID 1 a
// container ignores signals it has no handler for), so a test that stops a
// container waits for that line first.
//
// The server answers /healthz with 200 "ok", and / with 200 after optionally
// burning CPU for ?cpu_ms=N milliseconds and then sleeping ?ms=N
// milliseconds, so a test can shape a container's CPU use and latency from
// the outside.
package main
