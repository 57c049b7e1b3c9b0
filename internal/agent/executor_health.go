package agent

import (
	"context"
	"encoding/json"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/internal/bus"
)

// SignalSubjectPrefix starts the subjects of a service's signals,
// swell.signal.<service token>.
const SignalSubjectPrefix = "swell.signal"

// SignalSubject is the subject of a service's signals.
func SignalSubject(service string) string { return SignalSubjectPrefix + "." + bus.Token(service) }

// HealthSignal is the signal published on every health-check result of an
// instance: its combined health over all its checks.
type HealthSignal struct {
	Instance string `json:"instance"`
	Service  string `json:"service"`
	Node     string `json:"node"`
	Healthy  bool   `json:"healthy"`
	// ConsecutiveFailures is the most any of its checks has in a row.
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	At                  time.Time `json:"at"`
}

// publishHealth sends an instance's combined health as a swell_health
// point into the metrics stream and as a signal. Neither may hold up the
// loop: a point that cannot go now is the output's (spool) business, a
// signal that cannot go is simply lost, as signals are frequent.
func (e *Executor) publishHealth(ctx context.Context, it *instance, failures int, at time.Time) {
	if at.IsZero() {
		at = e.o.Clock.Now()
	}
	var enc lineprotocol.Encoder
	enc.SetPrecision(lineprotocol.Nanosecond)
	enc.StartLine("swell_health")
	// Tags in key order, as line protocol wants them.
	enc.AddTag("instance", it.rec.ID)
	enc.AddTag("node", e.o.Node)
	enc.AddTag("service", it.rec.Service)
	enc.AddField("healthy", lineprotocol.BoolValue(it.rec.Healthy))
	enc.AddField("consecutive_failures", lineprotocol.MustNewValue(int64(failures)))
	enc.EndLine(at)
	if err := enc.Err(); err != nil {
		e.log.Error("cannot encode a swell_health point", "instance", it.rec.ID, "err", err)
	} else if e.o.Metrics != nil {
		if err := e.o.Metrics.Write(ctx, collector.Batch{Data: enc.Bytes(), Points: 1}); err != nil {
			e.log.Debug("swell_health point not sent", "err", err)
		}
	} else if _, err := e.o.JS.PublishAsync(bus.MetricsSubject(e.o.Node), enc.Bytes()); err != nil {
		e.log.Debug("swell_health point not sent", "err", err)
	}

	sig, _ := json.Marshal(HealthSignal{
		Instance: it.rec.ID, Service: it.rec.Service, Node: e.o.Node,
		Healthy: it.rec.Healthy, ConsecutiveFailures: failures, At: at.UTC(),
	})
	if err := e.o.JS.Conn().Publish(SignalSubject(it.rec.Service), sig); err != nil {
		e.log.Debug("health signal not sent", "err", err)
	}
}
