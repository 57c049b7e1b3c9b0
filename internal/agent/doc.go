// Package agent wires what runs on every node: the collector with its
// inputs, the NATS output that spools to disk while NATS is away, the node
// registration, and the executor that runs the node's containers.
//
//	inputs ──Gather──► collector ──batches──► natsout ──► swell.metrics.<node>
//	                                             └──► spool (disk) ──replay──┘
//
//	KV swell_placements <node>.> ──watch + resync──► Executor ──► Docker (runtime.Runtime)
//	        health.Checker ◄── running instances ───┘    │
//	              │                                      └──► KV swell_instances <node>.<instance>
//	              └──► swell_health points (natsout) and swell.signal.<service>
//
// The executor is level-triggered: each pass compares every placement of
// the node with every container labelled with it, so a missed watch event
// costs a delay, never a wrong state. It starts only once the Docker
// engine answers; until then the agent says so once and keeps asking.
package agent
