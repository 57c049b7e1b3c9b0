package alerts

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkObserve measures points per second through one evaluator that
// tracks 1,000 series, ticking once per 1,000 points as a runner that
// ticks after each batch would.
func BenchmarkObserve(b *testing.B) {
	for _, bc := range []struct {
		name string
		edit func(*Rule)
	}{
		{"last", func(*Rule) {}},
		{"mean-1m", func(r *Rule) { r.Reduce, r.Window = ReduceMean, time.Minute }},
		{"groupBy-flapping", func(r *Rule) {
			r.GroupBy = []string{"container", "node"}
			r.Flapping = &Flapping{Low: 0.2, High: 0.5}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := Rule{Name: "bench", Measurement: "docker_container_mem", Field: "usage_percent",
				Where: []Matcher{MustMatcher("service", MatchRegexp, "/shop/.*")},
				Warn:  MustCondition("> 80"), Crit: MustCondition("> 95"), For: 10 * time.Second}
			bc.edit(&r)
			e, err := NewEvaluator(r, EvalOptions{})
			if err != nil {
				b.Fatal(err)
			}
			const series = 1000
			points := make([]Point, series)
			for i := range points {
				points[i] = Point{
					Measurement: "docker_container_mem",
					Tags: map[string]string{"node": fmt.Sprintf("n%d", i%20), "service": "/shop/web",
						"container": fmt.Sprintf("c%04d", i), "instance": fmt.Sprintf("web.%d", i)},
					Fields: map[string]any{"usage_percent": float64(i % 100), "usage": int64(1 << 20)},
				}
			}
			now := t0
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				p := &points[i%series]
				p.Time = now
				p.Fields["usage_percent"] = float64((i/series*7 + i) % 100)
				e.Observe(*p, now)
				if i%series == series-1 {
					now = now.Add(time.Second)
					e.Tick(now)
				}
			}
			b.StopTimer()
			if e.Len() != series && b.N >= series {
				b.Fatalf("tracked %d series, want %d", e.Len(), series)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "points/s")
		})
	}
}
