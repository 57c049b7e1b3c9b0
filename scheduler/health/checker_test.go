package health

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/internal/clock"
	"github.com/swell-pipeline/swell/internal/testenv"
)

// toggleServer answers /healthz with 200 while healthy is true, 503
// otherwise.
func toggleServer(t *testing.T, healthy *atomic.Bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// startChecker runs a checker until the test ends and returns the channel
// its results arrive on.
func startChecker(t *testing.T, reg prometheus.Registerer, ex Execer) (*Checker, <-chan Result) {
	t.Helper()
	results := make(chan Result, 1024)
	c, err := New(Options{
		Logger: slog.New(slog.DiscardHandler), Clock: clock.Real{}, Registerer: reg, Execer: ex,
		OnResult: func(r Result) { results <- r },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return c, results
}

// waitFor returns the first result that satisfies ok, failing the test
// after a deadline.
func waitFor(t *testing.T, results <-chan Result, what string, ok func(Result) bool) Result {
	t.Helper()
	deadline := time.After(20 * time.Second)
	var last Result
	for {
		select {
		case r := <-results:
			if ok(r) {
				return r
			}
			last = r
		case <-deadline:
			t.Fatalf("no result with %s within 20s; last %+v", what, last)
		}
	}
}

func fastCheck() Check {
	return Check{Protocol: HTTP, Path: "/healthz", Interval: 20 * time.Millisecond, Timeout: time.Second, MaxConsecutiveFailures: 3}
}

func TestCheckerReportsHealthyThenKill(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	srv := toggleServer(t, &healthy)
	reg := prometheus.NewRegistry()
	c, results := startChecker(t, reg, nil)

	target := targetFor(t, srv.Listener.Addr().String())
	target.StartedAt = time.Now()
	if err := c.Watch(target, []Check{fastCheck()}); err != nil {
		t.Fatal(err)
	}
	r := waitFor(t, results, "healthy", func(r Result) bool { return r.Healthy })
	if r.Instance != "web.1" || r.Check != 0 || r.ConsecutiveFailures != 0 {
		t.Errorf("healthy result = %+v", r)
	}

	healthy.Store(false)
	r = waitFor(t, results, "kill", func(r Result) bool { return r.Kill })
	if r.Healthy || r.ConsecutiveFailures != 3 || !strings.Contains(r.Reason, "503") {
		t.Errorf("kill result = %+v, want unhealthy after exactly 3 failures naming 503", r)
	}

	if n := testenv.Metric(t, reg, "swell_health_probes_total", map[string]string{"protocol": "HTTP", "status": "fail"}); n < 3 {
		t.Errorf("swell_health_probes_total{status=fail} = %v, want ≥ 3", n)
	}
}

func TestCheckerIgnoresFailuresInGrace(t *testing.T) {
	var healthy atomic.Bool // never healthy
	srv := toggleServer(t, &healthy)
	c, results := startChecker(t, nil, nil)
	target := targetFor(t, srv.Listener.Addr().String())
	target.StartedAt = time.Now()
	check := fastCheck()
	check.GracePeriod = time.Hour
	if err := c.Watch(target, []Check{check}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		r := waitFor(t, results, "any", func(Result) bool { return true })
		if r.Healthy || !r.InGrace || r.ConsecutiveFailures != 0 || r.Kill {
			t.Fatalf("result in grace = %+v, want unhealthy, in grace, no failures counted", r)
		}
	}
}

func TestCheckerUnwatchStopsResults(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	srv := toggleServer(t, &healthy)
	c, results := startChecker(t, nil, nil)
	if err := c.Watch(targetFor(t, srv.Listener.Addr().String()), []Check{fastCheck()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, results, "healthy", func(r Result) bool { return r.Healthy })
	c.Unwatch("web.1")
	// Drain what was delivered before Unwatch returned, then expect
	// silence over several intervals.
	for len(results) > 0 {
		<-results
	}
	select {
	case r := <-results:
		t.Errorf("result after Unwatch: %+v", r)
	case <-time.After(10 * fastCheck().Interval):
	}
}

func TestCheckerWatchRejectsUnrunnableChecks(t *testing.T) {
	c, _ := startChecker(t, nil, nil)
	tests := []struct {
		name   string
		target Target
		check  Check
	}{
		{"port index without a port", Target{Instance: "a"}, fastCheck()},
		{"COMMAND without an engine", Target{Instance: "a"}, Check{Protocol: COMMAND, Command: []string{"x"}, Interval: time.Second, Timeout: time.Second}},
		{"no instance ID", Target{HostPorts: []int{1}}, fastCheck()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.Watch(tt.target, []Check{tt.check}); err == nil {
				t.Error("Watch accepted it")
			}
		})
	}
}

func TestCheckerWatchBeforeRun(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	srv := toggleServer(t, &healthy)
	results := make(chan Result, 64)
	c, err := New(Options{Logger: slog.New(slog.DiscardHandler), Clock: clock.Real{}, OnResult: func(r Result) { results <- r }})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Watch(targetFor(t, srv.Listener.Addr().String()), []Check{fastCheck()}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	waitFor(t, results, "healthy", func(r Result) bool { return r.Healthy })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
