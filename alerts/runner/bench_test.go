package runner

import (
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/testenv"
)

// BenchmarkCrossingToWebhook measures a threshold crossing published on
// swell.metrics.n1 until an httptest webhook has the notification, through
// embedded NATS, the runner and the webhook receiver. It reports the p50
// and p99 of those latencies (DESIGN §7 target: p99 ≤ 1s).
func BenchmarkCrossingToWebhook(b *testing.B) {
	srv := testenv.NATS(b)
	_, js := testenv.Connect(b, srv.ClientURL())
	if err := bus.EnsureStreams(b.Context(), js, bus.StreamLimits{}); err != nil {
		b.Fatal(err)
	}
	if err := bus.EnsureKV(b.Context(), js, 1); err != nil {
		b.Fatal(err)
	}
	h := newHook(b)
	run := startRunner(b, js, h, slog.New(slog.DiscardHandler))
	defer run.stop()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		// A new container each time: a new group, sent at once.
		sent := publish(b, js, "bench-"+strconv.Itoa(i), 99)
		got := h.waitFor(b, i+1)
		lat = append(lat, got.Sub(sent))
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
