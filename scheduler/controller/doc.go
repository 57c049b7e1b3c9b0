// Package controller is the scheduler's control loop. It runs on the
// elected leader only, and keeps nothing authoritative in memory: on every
// change of the state buckets and on every tick it derives the cluster from
// KV, asks the pure core (package scheduler) what must change, and writes
// the answer back as placements, so a restarted or newly elected leader
// picks up exactly where the last one stopped.
//
//	swell_services ─┐
//	swell_nodes ────┤ watch → mirror ─► Build (view.go) ─► scheduler.Reconcile
//	swell_instances ┤                                             │
//	swell_placements┘ ◄── start / stop / lost (apply.go) ◄────────┘
//	                        └─► events (deploy, instance, node)
//
// Agents carry placements out: they watch swell_placements for their node,
// run the containers and report to swell_instances. A placement with Stop
// set asks the agent to stop its instance; the controller deletes the
// placement once the agent reports the instance stopped.
package controller
