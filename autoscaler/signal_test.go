package autoscaler

import (
	"strings"
	"testing"
	"time"
)

func TestSignalRoundTrip(t *testing.T) {
	s := Signal{Service: "/shop/web", Node: "n1", Time: time.Date(2026, 11, 23, 10, 0, 0, 250e6, time.UTC), PeriodMS: 250, Queued: 1.5,
		Instances: []InstanceSignal{{ID: "web-1", InFlight: 3.2, InFlightMax: 5, RPS: 41.5, P50MS: 12.1, P99MS: 80.4}}}
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"service":"/shop/web","node":"n1","time":"2026-11-23T10:00:00.25Z","period_ms":250,"queued":1.5,"instances":[{"id":"web-1","in_flight":3.2,"in_flight_max":5,"rps":41.5,"p50_ms":12.1,"p99_ms":80.4}]}`
	if string(b) != want {
		t.Fatalf("encoded\n%s\nwant\n%s", b, want)
	}
	got, err := DecodeSignal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Time.Equal(s.Time) || got.Instances[0] != s.Instances[0] || got.Queued != 1.5 || got.Period() != 250*time.Millisecond {
		t.Fatalf("decoded %+v", got)
	}
}

func TestDecodeSignalRejects(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not json", `{`, "autoscaler: signal:"},
		{"no service", `{"node":"n1","time":"2026-11-23T10:00:00Z"}`, "no service"},
		{"no node", `{"service":"/a","time":"2026-11-23T10:00:00Z"}`, "no node"},
		{"no time", `{"service":"/a","node":"n1"}`, "no time"},
		{"negative in-flight", `{"service":"/a","node":"n1","time":"2026-11-23T10:00:00Z","instances":[{"id":"x","in_flight":-1}]}`, "values must be numbers ≥ 0"},
		{"instance without id", `{"service":"/a","node":"n1","time":"2026-11-23T10:00:00Z","instances":[{"in_flight":1}]}`, "instances[0]: no id"},
		{"period", `{"service":"/a","node":"n1","time":"2026-11-23T10:00:00Z","period_ms":-5}`, "period_ms -5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeSignal([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	// Unknown fields are a newer router's, not an error.
	if _, err := DecodeSignal([]byte(`{"service":"/a","node":"n1","time":"2026-11-23T10:00:00Z","cpu":3}`)); err != nil {
		t.Fatal(err)
	}
}

func TestWindowIsTimeWeighted(t *testing.T) {
	w := newWindow(10 * time.Second)
	base := time.Unix(1000, 0)
	// Two routers: one every 250 ms, one every 500 ms, both covering second 1000.
	for i := 1; i <= 4; i++ {
		w.add(base.Add(time.Duration(i)*250*time.Millisecond), 4, 250*time.Millisecond)
	}
	for i := 1; i <= 2; i++ {
		w.add(base.Add(time.Duration(i)*500*time.Millisecond), 2, 500*time.Millisecond)
	}
	if v, ok := w.avg(1000, 1001); !ok || v != 6 {
		t.Fatalf("second 1000: %g %v, want 6", v, ok)
	}
	// A second with a signal of zero has data; one without has none.
	w.mark(base.Add(2*time.Second), 250*time.Millisecond)
	if v, ok := w.avg(1001, 1002); !ok || v != 0 {
		t.Fatalf("second 1001: %g %v, want 0 with data", v, ok)
	}
	if _, ok := w.avg(1002, 1003); ok {
		t.Fatal("second 1002 has no signal but reports data")
	}
	if v, _ := w.avg(990, 1003); v != 3 {
		t.Fatalf("average over the seconds with data %g, want 3", v)
	}
	// A bucket reused after wrapping around forgets the old second.
	w.add(time.Unix(1012, 500e6), 1, 250*time.Millisecond)
	if _, ok := w.avg(1000, 1001); ok {
		t.Fatal("overwritten second still reported")
	}
	g := w.grow(time.Minute)
	if v, ok := g.avg(1012, 1013); !ok || v != 0.25 {
		t.Fatalf("grown window lost data: %g %v", v, ok)
	}
}
