// Package ingest moves metric batches from NATS JetStream into InfluxDB.
//
// Producers publish line protocol on swell.metrics.<node>; the stream
// SWELL_METRICS keeps every batch until ingest has written it. Workers share
// the durable pull consumer swell-ingest (so do several ingest processes):
//
//	Fetch ──► parse + validate every line ──► group up to MaxPointsPerWrite
//	      ──► write to InfluxDB (one request per group)
//	      ──► 2xx: publish dead letters, then ack each message
//	      ──► 400: bisect the group, dead-letter the lines InfluxDB refuses
//	      ──► unreachable/5xx/timeout: NAK with growing delay, wait for InfluxDB
//
// A message is acked only once InfluxDB accepted all of its valid lines and
// its rejected lines sit in SWELL_DEADLETTER with the reason. Writing again
// after a crash or a lost ack is harmless: every line carries a timestamp
// (ingest stamps the ones without, from the message's stream time), and
// InfluxDB keeps one point per series and timestamp.
package ingest
