// Package agent wires what runs on every node: the collector with its
// inputs, and the NATS output that spools to disk while NATS is away. Later
// the node's container executor and router join here.
//
//	inputs ──Gather──► collector ──batches──► natsout ──► swell.metrics.<node>
//	                                             └──► spool (disk) ──replay──┘
package agent
