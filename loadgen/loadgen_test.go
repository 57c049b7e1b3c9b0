package loadgen

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestClosedLoopCountsRequestsAndErrors(t *testing.T) {
	var n, inFlight, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
		}
		time.Sleep(2 * time.Millisecond)
		if n.Add(1)%10 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	var progress int
	res, err := Run(t.Context(), Options{URL: srv.URL, Concurrency: 4, Duration: 1200 * time.Millisecond, Progress: func(Progress) { progress++ }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != n.Load() || res.Requests == 0 {
		t.Errorf("result counts %d requests, the server saw %d", res.Requests, n.Load())
	}
	if want := n.Load() / 10; res.Errors != want || res.Statuses[503] != want {
		t.Errorf("errors = %d, 503s = %d; want every tenth (%d)", res.Errors, res.Statuses[503], want)
	}
	if peak.Load() > 4 {
		t.Errorf("the server saw %d requests at once, more than the 4 workers", peak.Load())
	}
	if res.P50Ms <= 0 || res.P99Ms < res.P50Ms {
		t.Errorf("p50 %v, p99 %v", res.P50Ms, res.P99Ms)
	}
	if progress == 0 {
		t.Error("no progress report in more than a second")
	}
	lines := strings.Split(strings.TrimSpace(res.Summary()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "result: requests=") || !strings.Contains(last, " errors=") ||
		!strings.Contains(last, " rps=") || !strings.Contains(last, " p50_ms=") || !strings.Contains(last, " p99_ms=") {
		t.Errorf("last summary line = %q", last)
	}
}

func TestOpenLoopSendsAtTheRate(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { n.Add(1) }))
	t.Cleanup(srv.Close)
	res, err := Run(t.Context(), Options{URL: srv.URL, RPS: 200, Duration: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Requests are due every 5 ms from the start: 100 fall in 500 ms.
	if res.Requests < 98 || res.Requests > 101 || res.Errors != 0 {
		t.Errorf("sent %d requests (%d errors) at 200/s for 500ms, want 100", res.Requests, res.Errors)
	}
	if res.Requests != n.Load() {
		t.Errorf("result counts %d, server saw %d", res.Requests, n.Load())
	}
}

func TestRefusesRemoteTargetsUnlessAllowed(t *testing.T) {
	tests := []struct {
		url    string
		remote bool
		ok     bool
	}{
		{"http://127.0.0.1:1/", false, true},
		{"http://127.0.0.3:1/", false, true},
		{"http://[::1]:1/", false, true},
		{"http://localhost:1/", false, true},
		{"http://192.0.2.1/", false, false},
		{"http://192.0.2.1/", true, true},
	}
	for _, tc := range tests {
		err := CheckTarget(t.Context(), tc.url, tc.remote)
		if (err == nil) != tc.ok {
			t.Errorf("CheckTarget(%s, allowRemote=%v) = %v, want ok=%v", tc.url, tc.remote, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "--allow-remote") {
			t.Errorf("refusal %q does not say how to allow it", err)
		}
	}
}

func TestValidateBoundsTheRun(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no URL", Options{Concurrency: 1, Duration: time.Second}, "no URL"},
		{"not http", Options{URL: "ftp://127.0.0.1/", Concurrency: 1, Duration: time.Second}, "want http"},
		{"no load", Options{URL: "http://127.0.0.1/", Duration: time.Second}, "concurrency or a rate"},
		{"too many workers", Options{URL: "http://127.0.0.1/", Concurrency: MaxConcurrency + 1, Duration: time.Second}, "concurrency"},
		{"no duration", Options{URL: "http://127.0.0.1/", Concurrency: 1}, "duration"},
		{"too long", Options{URL: "http://127.0.0.1/", Concurrency: 1, Duration: 2 * MaxDuration}, "duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for q, want := range map[float64]float64{0.5: 5, 0.9: 9, 0.99: 10, 0.01: 1} {
		if got := Percentile(s, q); got != want {
			t.Errorf("Percentile(1..10, %v) = %v, want %v", q, got, want)
		}
	}
	if Percentile(nil, 0.5) != 0 {
		t.Error("empty is not 0")
	}
}
