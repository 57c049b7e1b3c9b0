// Package alerts holds the alert rules and the deterministic core that
// evaluates them: rules in, points and ticks in, state transitions out.
//
// Data flows like this:
//
//	Rule ──NewEvaluator──► Evaluator
//	points from swell.metrics.> ──Observe──► per-series window and condition level
//	clock ticks ──Tick──► for / keepFiringFor / deadman / staleness ──► []Transition
//	Snapshot / Restore ──► state kept in KV across restarts and leader moves
//	[]Active ──Inhibited──► which alerts a node-down alert silences
//	[]Transition ──Router.Observe──► notification groups per Route
//	clock ticks ──Router.Tick──► []Dispatch (groupWait, groupInterval,
//	    repeatInterval, silences, mute windows, escalation to SMS)
//	Delivered ──► notification log, kept with the groups in RouterSnapshot
//
// Nothing here does I/O or reads the wall clock: the caller (the leader's
// alert runner) owns the NATS consumer, the KV bucket and the notifiers in
// alerts/notify, and passes the time in. That keeps the state machine
// testable with tables over a fake clock and replayable, like etcd's raft.
package alerts
