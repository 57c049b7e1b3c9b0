package runner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/alerts"
	"github.com/swell-pipeline/swell/internal/bus"
)

// PointsSource is the node token under which the runner's swell_alert and
// swell_alert_notification points travel in the metrics stream.
const PointsSource = "_alerts"

// DefaultPointsInterval is how often firing alerts and notification counts
// are written; state changes are written at once.
const DefaultPointsInterval = 10 * time.Second

// stateValue is a state as the swell_alert state field holds it.
func stateValue(s alerts.State) int64 {
	switch s {
	case alerts.Warning:
		return 1
	case alerts.Critical:
		return 2
	}
	return 0
}

// alertLine appends one swell_alert point: tags rule, severity and the
// alert's service and node labels (not every label, to keep the series
// few); fields state (0 OK, 1 WARNING, 2 CRITICAL) and value.
func alertLine(enc *lineprotocol.Encoder, rule string, labels map[string]string, st alerts.State, value float64, at time.Time) {
	enc.StartLine("swell_alert")
	if n := labels["node"]; n != "" {
		enc.AddTag("node", n)
	}
	enc.AddTag("rule", rule)
	if s := labels["service"]; s != "" {
		enc.AddTag("service", s)
	}
	enc.AddTag("severity", severityTag(st))
	enc.AddField("state", lineprotocol.IntValue(stateValue(st)))
	if v, ok := lineprotocol.FloatValue(value); ok {
		enc.AddField("value", v)
	}
	enc.EndLine(at)
}

func severityTag(st alerts.State) string {
	switch st {
	case alerts.Warning:
		return "warning"
	case alerts.Critical:
		return "critical"
	}
	return "ok"
}

// notificationLines appends the cumulative notification counts per
// receiver.
func notificationLines(enc *lineprotocol.Encoder, sent, failed map[string]int64, receivers []string, at time.Time) {
	for _, name := range receivers {
		enc.StartLine("swell_alert_notification")
		enc.AddTag("receiver", name)
		enc.AddField("failed", lineprotocol.IntValue(failed[name]))
		enc.AddField("sent", lineprotocol.IntValue(sent[name]))
		enc.EndLine(at)
	}
}

// statusPoints is the periodic batch: every firing alert and the
// notification counts.
func (r *Runner) statusPoints(now time.Time) []byte {
	var enc lineprotocol.Encoder
	r.mu.Lock()
	active := slices.Clone(r.active)
	r.mu.Unlock()
	for _, a := range active {
		alertLine(&enc, a.Rule, a.Labels, a.State, a.Value, now)
	}
	notificationLines(&enc, r.sent, r.failed, slices.Sorted(maps.Keys(r.o.Receivers)), now)
	if enc.Err() != nil {
		r.log.Warn("alert points not encoded", "err", enc.Err())
		return nil
	}
	return enc.Bytes()
}

// publishPoints sends batches from ch until it closes; a batch that
// cannot be published is logged and dropped (the next one carries the
// cumulative counts).
func (r *Runner) publishPoints(ctx context.Context, ch <-chan []byte) {
	for b := range ch {
		if ctx.Err() != nil {
			continue // shutting down: drop
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := r.o.JS.Publish(pctx, bus.MetricsSubject(PointsSource), b,
			jetstream.WithMsgID(fmt.Sprintf("%s:%d", PointsSource, r.clock.Now().UnixNano())))
		cancel()
		if err != nil && ctx.Err() == nil {
			r.log.Debug("alert points not published", "err", err)
		}
	}
}
