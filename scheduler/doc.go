// Package scheduler decides where service instances run. Its core is pure:
// a snapshot of the cluster in, a plan out, no I/O, so it is fast, tested
// with tables and replayable in the simulator. The flow, one file per stage:
//
//	Reconcile(snapshot, services, now) → Plan
//	  ├─ reconcile.go  what must change: desired instances against actual ones
//	  ├─ rollout.go / drain.go  how fast old instances may be replaced
//	  └─ select.go     Place(snapshot, svc, n) and Victims(snapshot, svc, n)
//	        ├─ filter.go  which nodes can take an instance; Explain
//	        └─ score.go   which of those is best
//
//	cluster.go     the model: Node, Instance, ServiceReq and the indexed Snapshot
//	constraint.go  Marathon placement constraints
//	reconcile.go   what must change: desired instances against actual ones
//	filter.go      which nodes can take an instance (resources, ports, constraints)
//	score.go       which of those is best (spread or binpack, domain balance)
//	select.go      place N in one pass; choose scale-down victims
//	rollout.go     Marathon's rolling-upgrade arithmetic
//	drain.go       moving instances off a node
//	bench.go       a synthetic cluster for swell bench scheduler
//
// The runtime that carries plans out on each node lives in scheduler/runtime.
package scheduler
