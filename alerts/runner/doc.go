// Package runner is the alert runner of the leader: it reads the metric
// stream, runs the alert rules, routes their state changes into
// notification groups and sends them, and keeps everything it must not
// forget in KV swell_alerts.
//
//	SWELL_METRICS (durable consumer swell-alerts, from new messages on first start)
//	   ─► line protocol ─► alerts.Evaluator.Observe (per rule)
//	   ─► Tick after each batch and every second ─► []alerts.Transition
//	   ─► alerts.Router (routes, groups, silences, mute windows, escalation)
//	   ─► []alerts.Dispatch ─► one worker per receiver ─► notify.Pipeline ─► receiver
//	   ─► Delivered ─► notification log
//
// Checkpoints write each rule's snapshot (key rule.<name>) and the router's
// groups and notification log (key router) to KV, then acknowledge the
// messages read since the last one. After a restart or a leader move the
// runner restores both, so alerts that did not change are not sent again,
// and resumes the consumer where it was acknowledged, so the points it
// missed (and the resolves they carry) are replayed. A crash between a send
// and its checkpoint sends that notification again rather than losing it.
// Silences live under silence.<id> and are watched.
package runner
