// Package router is the per-node proxy in front of swell's containers: for
// every service with a servicePort it listens on <agent --addr>:<servicePort>
// and forwards to the service's healthy, running instances on every node.
//
//	KV swell_services, swell_instances, swell_nodes, swell_placements
//	        │ watch (level-triggered, rebuilt on every change)
//	        ▼
//	   buildTable (pure) ──► routes: port → service → backends by version
//	        │
//	        ▼
//	listeners per servicePort ──► HTTP/1.1 + h2c reverse proxy, or TCP splice
//	        │                        │ pick: version by weight, then least
//	        │                        │ in-flight of two random backends,
//	        │                        │ under containerConcurrency; retry an
//	        │                        │ idempotent request once elsewhere
//	        ▼                        ▼
//	meters per backend ──► swell.signal.<service> every 250 ms (Signal)
//	                  └──► swell_concurrency points at the collection interval
//
// Draining: an instance whose record is not running and healthy, or whose
// placement says Stop, leaves the rotation at once but stays known, and
// its in-flight count keeps being reported (Draining: true) until the
// instance is gone. The executor's DrainWaiter listens to those reports
// and stops the container only once every router shows zero.
//
// Scale from zero: a service with autoscale.scaleToZero.enabled and no
// ready instance holds requests in a bounded queue, publishes its demand
// at once, and releases them when the first instance is healthy.
package router
