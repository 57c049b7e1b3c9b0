// Package scheduler decides where service instances run. Its core is pure:
// a snapshot of the cluster in, a plan out, no I/O, so it is fast, tested
// with tables and replayable in the simulator. One file per stage:
//
//	reconcile.go   what must change: desired instances against actual ones
//	filter.go      which nodes can take an instance (resources, ports, constraints)
//	score.go       which of those is best (spread or binpack, domain balance)
//	select.go      place N in one pass; choose scale-down victims
//	rollout.go     Marathon's rolling-upgrade arithmetic
//	drain.go       moving instances off a node
//
// The runtime that carries plans out on each node lives in scheduler/runtime.
package scheduler
