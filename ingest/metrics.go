package ingest

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Stats are an Ingest's cumulative counts since New.
type Stats struct {
	// PointsWritten counts lines InfluxDB accepted, once per acked message
	// (a message written twice after a retry counts once).
	PointsWritten uint64
	// MessagesAcked counts NATS messages acked.
	MessagesAcked uint64
	// DeadLetterLines counts lines published to the dead-letter subject.
	DeadLetterLines uint64
	// WriteErrors counts failed write requests, whatever the cause.
	WriteErrors uint64
}

type totals struct {
	points, acked, dead, writeErrors atomic.Uint64
}

func (t *totals) stats() Stats {
	return Stats{
		PointsWritten:   t.points.Load(),
		MessagesAcked:   t.acked.Load(),
		DeadLetterLines: t.dead.Load(),
		WriteErrors:     t.writeErrors.Load(),
	}
}

// metrics are the Prometheus self-metrics.
type metrics struct {
	points       prometheus.Counter
	acked        prometheus.Counter
	dead         *prometheus.CounterVec
	writeErrors  *prometheus.CounterVec
	writeSeconds prometheus.Histogram
	lag          prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		points: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swell_ingest_points_written_total",
			Help: "Points InfluxDB accepted, counted once per acked message.",
		}),
		acked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swell_ingest_messages_acked_total",
			Help: "NATS messages acked after their points were written.",
		}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swell_ingest_deadletter_lines_total",
			Help: "Lines sent to swell.deadletter.metrics, by who refused them (parser, influxdb).",
		}, []string{"stage"}),
		writeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swell_ingest_write_errors_total",
			Help: "Failed write requests: unavailable (retried later) or rejected (split to find the bad lines).",
		}, []string{"reason"}),
		writeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "swell_ingest_write_seconds",
			Help:    "Duration of one write request to InfluxDB.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "swell_ingest_lag_messages",
			Help: "Messages in SWELL_METRICS not yet written: undelivered plus delivered and unacked.",
		}),
	}
	for _, c := range []prometheus.Collector{m.points, m.acked, m.dead, m.writeErrors, m.writeSeconds, m.lag} {
		if err := reg.Register(c); err != nil {
			if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
				return nil, fmt.Errorf("ingest: register metrics: %w (is a second ingest using the same registerer?)", are)
			}
			return nil, fmt.Errorf("ingest: register metrics: %w", err)
		}
	}
	for _, s := range []string{stageParser, stageInflux} {
		m.dead.WithLabelValues(s)
	}
	for _, r := range []string{"unavailable", "rejected"} {
		m.writeErrors.WithLabelValues(r)
	}
	return m, nil
}

const (
	stageParser = "parser"
	stageInflux = "influxdb"
)
