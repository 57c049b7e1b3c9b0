// Package natsout is the collector's output to NATS JetStream.
//
// Write turns each collector.Batch into one message on
// swell.metrics.<node> with a Nats-Msg-Id of <node>:<boot-id>:<seq> and
// publishes it asynchronously, with at most MaxInFlight messages waiting for
// their JetStream acks:
//
//	Write ─┬─ NATS up, spool empty, a slot free ─► PublishMsgAsync ─► ack ─► counted
//	       │                                                         └─ no ack / error ─┐
//	       └─ NATS down, spool not empty, window full ───────────────► spool (disk) ◄────┘
//	                                                                        │
//	Run: replays the spool oldest first, MaxInFlight at a time, and removes ┘
//	     a record only after its ack.
//
// A spooled batch keeps the message id it was first published under, so a
// batch that reached the stream although its ack was lost is dropped by
// JetStream's duplicate window when replayed. See README.md for what is and
// is not guaranteed.
package natsout
