package runner

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/alerts"
)

type metrics struct {
	points           prometheus.Counter
	badLines         prometheus.Counter
	transitions      *prometheus.CounterVec
	active           *prometheus.GaugeVec
	checkpointErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		points: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swell_alerts_points_total", Help: "Metric points the alert runner read from the stream.",
		}),
		badLines: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swell_alerts_bad_lines_total", Help: "Line-protocol lines the alert runner could not parse (ingest dead-letters them).",
		}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swell_alerts_transitions_total", Help: "Alert state changes by the state entered.",
		}, []string{"state"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "swell_alerts_active", Help: "Firing alerts by rule and state.",
		}, []string{"rule", "state"}),
		checkpointErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swell_alerts_checkpoint_errors_total", Help: "Checkpoints of alert state to KV that failed (the batch is read again).",
		}),
	}
	for _, c := range []prometheus.Collector{m.points, m.badLines, m.transitions, m.active, m.checkpointErrors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("alerts runner: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) setActive(all []alerts.Active) {
	m.active.Reset()
	for _, a := range all {
		m.active.WithLabelValues(a.Rule, a.State.String()).Inc()
	}
}
