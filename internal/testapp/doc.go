// Command testapp is the payload that swell's container tests and demo run
// inside images built FROM scratch: no image can be pulled here, so the
// project ships its own tiny static program instead.
//
// Usage:
//
//	testapp [serve]       HTTP server on :$PORT (default :8080)
//	testapp sleep         block until SIGTERM or SIGINT, then exit 0
//	testapp ignore-term   block and ignore SIGTERM (only SIGKILL ends it)
//	testapp probe URL     GET URL once; exit 0 on a 2xx or 3xx answer, 1
//	                      otherwise (a COMMAND health check for images
//	                      that have no shell or curl)
//
// The long-running modes print "testapp: ready" once their signal handling
// is in place (as PID 1 a container ignores signals it has no handler for),
// so a test that stops a container waits for that line first.
//
// The server, which is also swell's demo service, answers:
//
//	/            200 "ok" after burning CPU for ?cpu_ms=N milliseconds and
//	             then sleeping ?ms=N milliseconds; ?status=N answers N instead
//	/healthz     200 "ok", or 503 while a failure is injected
//	/version     the VERSION environment variable
//	/fail        failure injection: ?healthz=N makes /healthz fail for the
//	             next N seconds (0 ends it); ?exit=N exits the process with
//	             status N right after answering
//
// FAIL_HEALTHZ=1 makes /healthz fail from the start; FAIL_HEALTHZ_AFTER=D
// (a Go duration such as 30s, or plain seconds) makes it fail from D after
// the start on.
package main
