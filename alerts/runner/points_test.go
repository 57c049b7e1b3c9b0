package runner

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/testenv"
)

func TestRunnerWritesAlertAndNotificationPoints(t *testing.T) {
	srv := testenv.NATS(t)
	_, js := testenv.Connect(t, srv.ClientURL())
	if err := bus.EnsureStreams(t.Context(), js, bus.StreamLimits{}); err != nil {
		t.Fatal(err)
	}
	if err := bus.EnsureKV(t.Context(), js, 1); err != nil {
		t.Fatal(err)
	}
	h := newHook(t)
	startRunner(t, js, h, slog.New(slog.DiscardHandler))
	publish(t, js, "c1", 97)
	h.waitFor(t, 1)

	cons, err := js.OrderedConsumer(t.Context(), bus.StreamMetrics, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{bus.MetricsSubject(PointsSource)},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		// The change to CRITICAL, at once, and again in the periodic batch.
		`swell_alert,rule=container-memory,service=/shop/web,severity=critical state=2i,value=97`: false,
		`swell_alert_notification,receiver=hook failed=0i,sent=1i`:                                false,
	}
	deadline := time.Now().Add(10 * time.Second)
	var seen []string
	for time.Now().Before(deadline) {
		missing := false
		for _, ok := range want {
			missing = missing || !ok
		}
		if !missing {
			return
		}
		m, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(strings.TrimSpace(string(m.Data())), "\n") {
			seen = append(seen, line)
			for w := range want {
				if strings.HasPrefix(line, w+" ") {
					want[w] = true
				}
			}
		}
	}
	t.Fatalf("points %v not all seen within 10s; saw:\n%s", want, strings.Join(seen, "\n"))
}
