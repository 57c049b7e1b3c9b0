// Package loadgen is swell's load generator, for tests, demos and
// benchmarks (`swell load`): it sends HTTP requests to one URL either from
// a fixed number of workers (closed loop: --concurrency) or at a fixed
// rate (open loop: --rps), for a bounded time, and reports requests,
// errors, throughput and latency percentiles.
//
// At a fixed rate each request's latency counts from when it was due, not
// from when it was sent, so a slow target cannot hide its queueing by
// slowing the generator down (coordinated omission).
//
// It refuses targets that are not loopback addresses unless told
// otherwise: a load test aimed at the wrong host is an outage.
package loadgen
