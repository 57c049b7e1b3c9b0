// Package autoscaler turns per-instance load and health into desired
// instance counts. Its core is a pure state machine over an injected
// clock, as the scheduler's is: inputs in, decisions out, no I/O, so it is
// tested with tables, benchmarked at 10,000 services and replayed by the
// simulator.
//
//	routers ── Signal (JSON on swell.signal.<svc>, every 250 ms) ──┐
//	scheduler ── []Instance (starting, ready, unhealthy, draining) ─┤
//	spec.Autoscale ── PolicyFromSpec ── Policy ─────────────────────┤
//	                                                                ▼
//	   Core: SetPolicy · SetInstances · ObserveSignal/Observe · Tick(now)
//	                                                                │
//	      []ScaleEvent (one per changed desired count) ◄────────────┘
//	      Desired(svc), Status(svc) (the latest tick, changed or not)
//
// Using the core:
//
//	c, _ := autoscaler.NewCore(autoscaler.Options{})
//	p, _ := autoscaler.PolicyFromSpec(svc.Autoscale, svc.Priority)
//	c.SetPolicy(svc.ID, p, currentCount, now)    // add or update
//	c.ObserveSignal(sig, now)                     // each signal received
//	c.SetInstances(svc.ID, instances, now)        // before each tick
//	for _, e := range c.Tick(now) {               // every second
//		// publish e.Event() on swell.events.scale.<svc>; apply e.To
//	}
//
// The core is not safe for concurrent use: one goroutine owns it (the
// leader's autoscaler loop), and a standby builds its own from the
// current desired counts (SetPolicy's current), then holds scale-down
// until its stable window has filled.
//
// Files, one stage each:
//
//	signal.go    the router's Signal format, its decoder, and its samples
//	window.go    1 s buckets per service and metric: time-weighted totals
//	policy.go    Policy, the tuned defaults, PolicyFromSpec
//	cron.go      five-field cron for schedule floors
//	core.go      Core: services, instances, samples, Tick
//	decide.go    one service's decision: fallback, panic, formula,
//	             tolerance, stabilization, gates, rate limits, bounds
//	event.go     ScaleEvent, its reason, its events.Event form
//	sim.go       traces and the simulator's world (start delay, router)
//	baseline.go  KPA and HPA emulations on the same world
//
// Package simplot draws a simulation as a PNG. docs/autoscaling.md
// describes the algorithm with its formulas.
package autoscaler
