// Package server wires the control plane's parts: ingest (NATS → InfluxDB)
// now; the scheduler, autoscaler and alerts as they land. It checks at start
// that NATS and InfluxDB answer, so a wrong URL is one clear error instead of
// a process that looks alive and does nothing.
package server
