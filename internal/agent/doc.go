// Package agent wires what runs on every node: the collector with its
// inputs, the NATS output that spools to disk while NATS is away, the node
// registration, the executor that runs the node's containers, and the
// router that serves the service ports.
//
//	inputs ──Gather──► collector ──batches──► natsout ──► swell.metrics.<node>
//	                                             └──► spool (disk) ──replay──┘
//
//	KV swell_placements <node>.> ──watch + resync──► Executor ──► Docker (runtime.Runtime)
//	        health.Checker ◄── running instances ───┘    │
//	              │                                      └──► KV swell_instances <node>.<instance>
//	              └──► swell_health points (natsout) and swell.signal.<service>
//
//	KV swell_services, _instances, _nodes, _placements ──watch──► router.Router
//	    <addr>:<servicePort> ──proxy──► instances on every node
//	    in-flight per instance ──► swell.signal.<service> (250 ms), swell_concurrency (natsout)
//
// Before the executor stops an instance that may be in the routers'
// rotation, it writes the record as stopping (the routers drop it at once)
// and waits, through router.DrainWaiter, until every router reports
// nothing in flight to it or the drain timeout passes.
//
// The executor is level-triggered: each pass compares every placement of
// the node with every container labelled with it, so a missed watch event
// costs a delay, never a wrong state. It starts only once the Docker
// engine answers; until then the agent says so once and keeps asking.
package agent
