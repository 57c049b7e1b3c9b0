// Package collector is the agent's metric collection: it runs inputs on
// their intervals, turns what they gather into InfluxDB line protocol and
// hands it, in batches, to an Output (the NATS output in production).
//
// Data flows like this:
//
//	input.Gather(ctx, acc) ──► accumulator ──► gathered lines ──► batcher ──► Output.Write
//	  one goroutine per input,   converts values,   one channel        cuts batches at
//	  timeout = its interval     adds global tags,                     MaxBatchBytes or
//	                             encodes a line                        FlushInterval
//
// Decisions worth knowing when reading the data downstream:
//
//   - Every point carries the global tags `host` and `node`, both set to
//     Options.Node: `host` keeps Telegraf's host dashboards working, `node`
//     is the name the rest of swell uses. A tag the input sets itself wins
//     over a global tag of the same key, as in Telegraf.
//   - Integers of any width are written as line protocol integers (`i`);
//     unsigned values above MaxInt64 are clamped to MaxInt64. This is what
//     Telegraf does by default, and InfluxDB 1.x rejects unsigned (`u`)
//     fields.
//   - NaN and ±Inf field values are dropped and counted, because InfluxDB
//     rejects the whole line otherwise; a point left without fields is
//     dropped.
//   - Timestamps are those the input gives, or the gather's start time,
//     truncated to Options.Precision (default 1s for intervals of 1s or more,
//     like Telegraf's default) and written in nanoseconds.
//   - Inputs gather once right after Run starts, then every interval; there is
//     no jitter unless Options.Jitter asks for it, so points from every node
//     fall on the same seconds.
//
// GatherOnce is the one-shot form used by `swell collect --once`, like
// `telegraf --test`.
package collector
