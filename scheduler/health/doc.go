// Package health runs an agent's health checks on its instances, with
// Marathon's semantics, and reports every result.
//
//	Checker ──(every interval)──► probe: HTTP, HTTPS, TCP or COMMAND
//	   │                               │ Outcome: pass, fail or ignored
//	   │                               ▼
//	   └── OnResult(Result) ◄──── Tracker (grace period, consecutive
//	                                       failures, kill decision)
//
// Probe does the I/O and knows nothing of history; Tracker is a pure state
// machine over the times it is given, so the rules are tested with tables:
//
//   - HTTP and HTTPS pass on a status of 200–399, received within the
//     timeout. Redirects are not followed (a 3xx is a pass). A 1xx fails
//     unless ignoreHttp1xx, which discards the result and leaves the
//     instance's health as it was. HTTPS does not verify the certificate:
//     the probe addresses an instance by IP and port, with no name to check.
//   - TCP passes when a connection opens within the timeout.
//   - COMMAND passes when the command, run inside the container through an
//     Execer (docker exec), exits 0 within the timeout.
//   - Failures are ignored during gracePeriodSeconds after the instance
//     started, until it is healthy for the first time.
//   - After maxConsecutiveFailures counted failures in a row the result
//     says Kill; 0 means never.
package health
