package router

import (
	"math"
	"testing"
	"time"
)

func TestHistogramBucketsCoverValuesWithinASixteenth(t *testing.T) {
	prev := -1
	for _, us := range []int64{0, 1, 31, 32, 33, 63, 64, 100, 1000, 12345, 999_999, 1 << 40} {
		i := histIndex(us)
		if i < prev {
			t.Fatalf("histIndex(%d) = %d, below the index of a smaller value (%d)", us, i, prev)
		}
		prev = i
		got := histValue(i)
		if diff := math.Abs(got - float64(us)); diff > float64(us)/16+0.5 {
			t.Errorf("histValue(histIndex(%d)) = %v: off by %v, more than 1/16", us, got, diff)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name     string
		samples  []time.Duration
		p50, p99 float64 // ms
	}{
		{"empty is zero", nil, 0, 0},
		{"one sample", []time.Duration{10 * time.Millisecond}, 10, 10},
		{"ninety-nine fast, one slow", append(repeat(99, time.Millisecond), 500*time.Millisecond), 1, 1},
		{"ninety-eight fast, two slow", append(repeat(98, time.Millisecond), 500*time.Millisecond, 500*time.Millisecond), 1, 500},
		{"half and half", append(repeat(50, 2*time.Millisecond), repeat(50, 8*time.Millisecond)...), 2, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h histogram
			for _, d := range tc.samples {
				h.add(d)
			}
			near := func(got, want float64) bool { return math.Abs(got-want) <= want/16+0.001 }
			if got := h.quantile(0.5); !near(got, tc.p50) {
				t.Errorf("p50 = %v ms, want %v", got, tc.p50)
			}
			if got := h.quantile(0.99); !near(got, tc.p99) {
				t.Errorf("p99 = %v ms, want %v", got, tc.p99)
			}
		})
	}
}

func repeat(n int, d time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// TestMeterIsTimeWeighted drives a meter with explicit times: one request
// for the whole second, a second one for its last half, a third for a
// quarter of it.
func TestMeterIsTimeWeighted(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	m := newMeter(t0)
	m.begin(at(0))
	m.begin(at(500))
	m.begin(at(600))
	m.end(at(850), 250*time.Millisecond)
	s := m.take(winSignal, at(1000))
	// 1×0.5 s + 2×0.1 s + 3×0.25 s + 2×0.15 s = 1.75 in-flight-seconds.
	if math.Abs(s.InFlight-1.75) > 1e-9 {
		t.Errorf("average in flight = %v, want 1.75", s.InFlight)
	}
	if s.InFlightMax != 3 || s.Now != 2 || s.Requests != 1 || s.RPS != 1 || s.Period != time.Second {
		t.Errorf("period = %+v; want max 3, now 2, 1 request, 1 rps over 1s", s)
	}
	if math.Abs(s.P50Ms-250) > 250.0/16 {
		t.Errorf("p50 = %v ms, want 250", s.P50Ms)
	}

	// The next period starts where the last ended: two in flight.
	m.end(at(1500), 1500*time.Millisecond)
	m.end(at(1500), time.Second)
	s = m.take(winSignal, at(2000))
	if math.Abs(s.InFlight-1) > 1e-9 || s.InFlightMax != 2 || s.Now != 0 || s.Requests != 2 || s.RPS != 2 {
		t.Errorf("second period = %+v; want average 1, max 2, now 0, 2 requests", s)
	}

	// The metrics window ran beside the signal window all along.
	s = m.take(winMetrics, at(2000))
	if math.Abs(s.InFlight-1.375) > 1e-9 || s.InFlightMax != 3 || s.Requests != 3 || s.RPS != 1.5 {
		t.Errorf("metrics period = %+v; want average 1.375 over 2s, max 3, 3 requests, 1.5 rps", s)
	}

	// An idle period is all zeros.
	s = m.take(winSignal, at(3000))
	if s.InFlight != 0 || s.InFlightMax != 0 || s.RPS != 0 || s.P99Ms != 0 {
		t.Errorf("idle period = %+v, want zeros", s)
	}
}
