package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/internal/clock"
	"github.com/swell-pipeline/swell/internal/testenv"
)

// scripted answers each call with the next outcome and records what it got.
type scripted struct {
	mu       sync.Mutex
	outcomes []outcome
	got      []notify.Notification
}

type outcome struct {
	retryable bool
	err       error
}

func (s *scripted) Notify(_ context.Context, n notify.Notification) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, n)
	if len(s.outcomes) == 0 {
		return false, nil
	}
	o := s.outcomes[0]
	s.outcomes = s.outcomes[1:]
	return o.retryable, o.err
}

func (s *scripted) calls() []notify.Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

var errBusy = errors.New("503 busy")

func TestPipelineRetry(t *testing.T) {
	errBad := errors.New("401 bad token")
	retry := notify.RetryPolicy{Initial: time.Second, Max: 4 * time.Second, MaxAttempts: 5, MaxElapsed: time.Minute}
	tests := []struct {
		name         string
		outcomes     []outcome
		policy       notify.RetryPolicy
		wantResult   string
		wantAttempts int
		wantWaits    []time.Duration
		wantErrIs    error
	}{
		{name: "success on first attempt", wantResult: notify.ResultSent, wantAttempts: 1, policy: retry},
		{name: "permanent failure is not retried", outcomes: []outcome{{false, errBad}}, policy: retry,
			wantResult: notify.ResultFailed, wantAttempts: 1, wantErrIs: errBad},
		{name: "retryable failures back off exponentially then succeed", outcomes: []outcome{{true, errBusy}, {true, errBusy}, {true, errBusy}}, policy: retry,
			wantResult: notify.ResultSent, wantAttempts: 4, wantWaits: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{name: "retryable then permanent stops at the permanent one", outcomes: []outcome{{true, errBusy}, {false, errBad}}, policy: retry,
			wantResult: notify.ResultFailed, wantAttempts: 2, wantWaits: []time.Duration{time.Second}, wantErrIs: errBad},
		{name: "attempts are bounded and the wait is capped", outcomes: slices.Repeat([]outcome{{true, errBusy}}, 10), policy: retry,
			wantResult: notify.ResultFailed, wantAttempts: 5, wantWaits: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}, wantErrIs: notify.ErrGaveUp},
		{name: "a provider's retry-after hint lengthens the wait", outcomes: []outcome{{true, notify.WithRetryAfter(errBusy, 7*time.Second)}, {true, errBusy}}, policy: retry,
			wantResult: notify.ResultSent, wantAttempts: 3, wantWaits: []time.Duration{7 * time.Second, 2 * time.Second}},
		{name: "elapsed time is bounded", outcomes: slices.Repeat([]outcome{{true, errBusy}}, 10),
			policy:     notify.RetryPolicy{Initial: time.Second, Max: time.Hour, MaxAttempts: 100, MaxElapsed: 10 * time.Second},
			wantResult: notify.ResultFailed, wantAttempts: 4, wantWaits: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, wantErrIs: errBusy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newStepClock()
			reg := prometheus.NewRegistry()
			m, err := notify.NewMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			n := &scripted{outcomes: tt.outcomes}
			var results []notify.Result
			p, err := notify.NewPipeline(notify.PipelineOptions{Receiver: "hook", Notifier: n, Retry: tt.policy, Clock: clk, Metrics: m,
				OnResult: func(r notify.Result) { results = append(results, r) }})
			if err != nil {
				t.Fatal(err)
			}
			r := p.Notify(t.Context(), sample())
			if r.Outcome != tt.wantResult || r.Attempts != tt.wantAttempts {
				t.Fatalf("result %s after %d attempts, want %s after %d (err %v)", r.Outcome, r.Attempts, tt.wantResult, tt.wantAttempts, r.Err)
			}
			if !slices.Equal(clk.Waits(), tt.wantWaits) {
				t.Errorf("waits = %v, want %v", clk.Waits(), tt.wantWaits)
			}
			if tt.wantErrIs != nil && !errors.Is(r.Err, tt.wantErrIs) {
				t.Errorf("err = %v, want errors.Is %v", r.Err, tt.wantErrIs)
			}
			if len(n.calls()) != tt.wantAttempts {
				t.Errorf("notifier called %d times", len(n.calls()))
			}
			if len(results) != 1 || results[0].Outcome != tt.wantResult {
				t.Errorf("OnResult saw %v", results)
			}
			if got := testenv.Metric(t, reg, "swell_alerts_notifications_total", map[string]string{"receiver": "hook", "result": tt.wantResult}); got != 1 {
				t.Errorf("notifications_total{result=%s} = %v, want 1", tt.wantResult, got)
			}
			if got := testenv.Metric(t, reg, "swell_alerts_notification_attempts_total", map[string]string{"receiver": "hook"}); got != float64(tt.wantAttempts) {
				t.Errorf("attempts_total = %v, want %d", got, tt.wantAttempts)
			}
		})
	}
}

func TestPipelineRetryStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	n := notifierFunc(func(context.Context, notify.Notification) (bool, error) {
		cancel()
		return true, errBusy
	})
	p, err := notify.NewPipeline(notify.PipelineOptions{Receiver: "hook", Notifier: n, Clock: blockedClock{newStepClock()}})
	if err != nil {
		t.Fatal(err)
	}
	r := p.Notify(ctx, sample())
	if r.Outcome != notify.ResultFailed || r.Attempts != 1 || !errors.Is(r.Err, context.Canceled) || !errors.Is(r.Err, errBusy) {
		t.Fatalf("result = %+v", r)
	}
}

type notifierFunc func(context.Context, notify.Notification) (bool, error)

func (f notifierFunc) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	return f(ctx, n)
}

// blockedClock hands out timers that never fire, so only ctx can end a wait.
type blockedClock struct{ *stepClock }

func (blockedClock) NewTimer(time.Duration) clock.Timer { return neverTimer{} }

type neverTimer struct{}

func (neverTimer) C() <-chan time.Time      { return nil }
func (neverTimer) Stop() bool               { return true }
func (neverTimer) Reset(time.Duration) bool { return true }

func alert(name string, status notify.Status) notify.Alert {
	return notify.Alert{Status: status, Labels: map[string]string{"alertname": name}, Fingerprint: "fp-" + name}
}

func TestPipelineRateLimitFoldsIntoDigest(t *testing.T) {
	clk := newStepClock()
	reg := prometheus.NewRegistry()
	m, err := notify.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	n := &scripted{}
	p, err := notify.NewPipeline(notify.PipelineOptions{Receiver: "dingtalk", Notifier: n, Clock: clk, Metrics: m,
		RateLimit: notify.RateLimit{Burst: 2, Per: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	sends := []notify.Alert{
		alert("a", notify.StatusFiring), alert("b", notify.StatusFiring),
		alert("c", notify.StatusFiring), alert("d", notify.StatusFiring), alert("c", notify.StatusResolved),
	}
	var outcomes []string
	for i, a := range sends {
		r := p.Notify(t.Context(), notify.NewNotification("dingtalk", fmt.Sprint("g", i), nil, []notify.Alert{a}))
		outcomes = append(outcomes, r.Outcome)
	}
	want := []string{notify.ResultSent, notify.ResultSent, notify.ResultFolded, notify.ResultFolded, notify.ResultFolded}
	if !slices.Equal(outcomes, want) {
		t.Fatalf("outcomes = %v, want %v", outcomes, want)
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(n.calls()) < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	calls := n.calls()
	if len(calls) != 3 {
		t.Fatalf("notifier got %d notifications, want 2 direct and 1 digest", len(calls))
	}
	d := calls[2]
	if d.Folded != 3 || len(d.Alerts) != 2 {
		t.Fatalf("digest folded %d notifications with %d alerts, want 3 with 2 (c once, at its latest state)", d.Folded, len(d.Alerts))
	}
	if d.Alerts[0].Labels["alertname"] != "c" || d.Alerts[0].Status != notify.StatusResolved || d.Alerts[1].Labels["alertname"] != "d" {
		t.Errorf("digest alerts = %+v", d.Alerts)
	}
	// One token refills every 30s; the digest waited for exactly one.
	if w := clk.Waits(); len(w) != 1 || w[0] != 30*time.Second {
		t.Errorf("Run waited %v, want [30s]", w)
	}
	for result, want := range map[string]float64{notify.ResultSent: 3, notify.ResultFolded: 3} {
		if got := testenv.Metric(t, reg, "swell_alerts_notifications_total", map[string]string{"receiver": "dingtalk", "result": result}); got != want {
			t.Errorf("notifications_total{result=%s} = %v, want %v", result, got, want)
		}
	}
}

func TestPipelineDropsHeldOnStopAndLogs(t *testing.T) {
	var logs bytes.Buffer
	clk := newStepClock()
	p, err := notify.NewPipeline(notify.PipelineOptions{Receiver: "sms", Notifier: &scripted{}, Clock: blockedClock{clk},
		RateLimit: notify.RateLimit{Burst: 1, Per: time.Hour}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	p.Notify(t.Context(), sample())
	if r := p.Notify(t.Context(), sample()); r.Outcome != notify.ResultFolded {
		t.Fatalf("second notification: %s, want folded", r.Outcome)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "result=dropped") || !strings.Contains(logs.String(), "receiver=sms") {
		t.Fatalf("log does not report the dropped notification:\n%s", logs.String())
	}
}

func TestNewPipelineValidates(t *testing.T) {
	tests := []struct {
		name string
		o    notify.PipelineOptions
		want string
	}{
		{"no receiver name", notify.PipelineOptions{Notifier: &scripted{}}, "needs a receiver name"},
		{"no notifier", notify.PipelineOptions{Receiver: "x"}, "pipeline x: no notifier"},
		{"negative limit", notify.PipelineOptions{Receiver: "x", Notifier: &scripted{}, RateLimit: notify.RateLimit{Burst: -1}}, "negative rate limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := notify.NewPipeline(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
