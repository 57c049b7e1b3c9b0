// Package influxd runs InfluxDB OSS 1.8.10 as a child process, for `swell up`
// and for the tests.
//
// Start writes an influxd.conf under the data dir (loopback HTTP, its own
// free RPC port so several instances never fight over 8088, reporting and
// the _internal monitor off, modest cache sizes), launches the binary in its
// own process group, waits until GET /ping answers 204 and creates the
// database. The child gets SIGKILL if swell dies (Pdeathsig on Linux), so a
// crashed swell never leaves an orphan holding the port.
//
//	Start ──► conf ──► exec (pgid, pdeathsig) ──► /ping 204 ──► CREATE DATABASE
//	Stop: SIGTERM to the group ─(timeout)─► SIGKILL     Kill: SIGKILL at once
//	Restart: same dir, same ports                       Wait/Done: notice a crash
package influxd
