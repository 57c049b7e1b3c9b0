package collector

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the collector's Prometheus self-metrics.
type metrics struct {
	pointsGathered *prometheus.CounterVec
	gatherErrors   *prometheus.CounterVec
	gatherSeconds  *prometheus.HistogramVec
	fieldsDropped  *prometheus.CounterVec
	pointsDropped  *prometheus.CounterVec
	batches        prometheus.Counter
	batchBytes     prometheus.Counter
	writeErrors    prometheus.Counter
	writeSeconds   prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, inputs []string) (*metrics, error) {
	m := &metrics{
		pointsGathered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swell_collector_points_gathered_total",
			Help: "Points the collector's inputs gathered and encoded.",
		}, []string{"input"}),
		gatherErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swell_collector_gather_errors_total",
			Help: "Errors reported by inputs: failed or timed-out gathers and problems an input worked around.",
		}, []string{"input"}),
		gatherSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "swell_collector_gather_seconds",
			Help:    "How long one gather of an input took.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"input"}),
		fieldsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swell_collector_fields_dropped_total",
			Help: "Fields dropped before encoding, by reason (non_finite, unsupported, invalid).",
		}, []string{"input", "reason"}),
		pointsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swell_collector_points_dropped_total",
			Help: "Points dropped, by reason (no_fields, invalid, late, oversize, write_error).",
		}, []string{"reason"}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swell_collector_batches_total",
			Help: "Batches handed to the output.",
		}),
		batchBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swell_collector_batch_bytes_total",
			Help: "Bytes of line protocol handed to the output.",
		}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swell_collector_write_errors_total",
			Help: "Batches the output returned an error for; their points are lost.",
		}),
		writeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "swell_collector_write_seconds",
			Help:    "How long the output took to take one batch.",
			Buckets: prometheus.DefBuckets,
		}),
	}
	for _, c := range []prometheus.Collector{
		m.pointsGathered, m.gatherErrors, m.gatherSeconds, m.fieldsDropped,
		m.pointsDropped, m.batches, m.batchBytes, m.writeErrors, m.writeSeconds,
	} {
		if err := reg.Register(c); err != nil {
			if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
				return nil, fmt.Errorf("collector: register metrics: %w (is a second collector using the same registerer?)", are)
			}
			return nil, fmt.Errorf("collector: register metrics: %w", err)
		}
	}
	// Start the per-input series at zero so a rate() over them works from
	// the first scrape.
	for _, in := range inputs {
		m.pointsGathered.WithLabelValues(in)
		m.gatherErrors.WithLabelValues(in)
	}
	return m, nil
}

// totals are the cumulative counts the swell_pipeline point reports. They
// mirror the Prometheus counters, which cannot be read back cheaply.
type totals struct {
	pointsGathered atomic.Int64
	gatherErrors   atomic.Int64
	fieldsDropped  atomic.Int64
	pointsDropped  atomic.Int64
	batches        atomic.Int64
	batchBytes     atomic.Int64
	writeErrors    atomic.Int64
}

// fields returns the totals as swell_pipeline fields.
func (t *totals) fields() map[string]any {
	return map[string]any{
		"points_gathered": t.pointsGathered.Load(),
		"gather_errors":   t.gatherErrors.Load(),
		"fields_dropped":  t.fieldsDropped.Load(),
		"points_dropped":  t.pointsDropped.Load(),
		"batches":         t.batches.Load(),
		"batch_bytes":     t.batchBytes.Load(),
		"write_errors":    t.writeErrors.Load(),
	}
}
