// Package bus holds everything swell knows about NATS in one place: how to
// connect (auth, TLS, reconnect forever with backoff), the subject names, and
// the JetStream streams every component expects. The embedded server that
// `swell up` and the tests run is package natsd.
//
// Producers publish line protocol to MetricsSubject(node); the stream
// SWELL_METRICS keeps it until ingest has written it to InfluxDB. Lines that
// cannot be written go to SubjectDeadLetterMetrics, kept in SWELL_DEADLETTER.
package bus
