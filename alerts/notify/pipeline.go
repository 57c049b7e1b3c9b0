package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/internal/clock"
)

// Outcomes recorded for each notification, the values of the result label.
const (
	ResultSent    = "sent"    // the provider accepted it
	ResultFailed  = "failed"  // a permanent failure, or retries ran out
	ResultFolded  = "folded"  // held back by the rate limit, to go out in a digest
	ResultDropped = "dropped" // still held back when the pipeline stopped
)

// Result is the record of one notification passing through the pipeline.
type Result struct {
	Receiver string
	GroupKey string
	Outcome  string
	Attempts int
	Alerts   int
	Folded   int
	Err      error
}

// Metrics are the pipeline's Prometheus series, shared by every receiver's
// pipeline.
type Metrics struct {
	notifications *prometheus.CounterVec
	attempts      *prometheus.CounterVec
}

// NewMetrics registers swell_alerts_notifications_total{receiver,result} and
// swell_alerts_notification_attempts_total{receiver} with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swell_alerts_notifications_total",
			Help: "Notifications by receiver and result (sent, failed, folded into a digest, dropped at shutdown).",
		}, []string{"receiver", "result"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swell_alerts_notification_attempts_total",
			Help: "Requests made to receivers, retries included.",
		}, []string{"receiver"}),
	}
	for _, c := range []prometheus.Collector{m.notifications, m.attempts} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("notify: register metrics: %w", err)
		}
	}
	return m, nil
}

// PipelineOptions configures one receiver's pipeline.
type PipelineOptions struct {
	Receiver  string   // name used in logs and metrics
	Notifier  Notifier // the integration
	Retry     RetryPolicy
	RateLimit RateLimit
	Clock     clock.Clock  // default clock.Real
	Logger    *slog.Logger // default: discard
	Metrics   *Metrics     // optional
	// OnResult, if set, is called once per outcome (the notification log
	// in KV hangs off it).
	OnResult func(Result)
}

// Pipeline is the stages in front of one receiver: rate limit, retry,
// record. Notify may be called from several goroutines; Run must be running
// for digests of rate-limited notifications to go out.
type Pipeline struct {
	o    PipelineOptions
	wake chan struct{}

	mu     sync.Mutex
	bucket *bucket
	held   []Notification
}

// NewPipeline validates o.
func NewPipeline(o PipelineOptions) (*Pipeline, error) {
	if o.Receiver == "" {
		return nil, errors.New("notify: pipeline needs a receiver name")
	}
	if o.Notifier == nil {
		return nil, fmt.Errorf("notify: pipeline %s: no notifier", o.Receiver)
	}
	if o.RateLimit.Burst < 0 || o.RateLimit.Per < 0 {
		return nil, fmt.Errorf("notify: pipeline %s: negative rate limit", o.Receiver)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Logger = o.Logger.With("receiver", o.Receiver)
	return &Pipeline{
		o:      o,
		wake:   make(chan struct{}, 1),
		bucket: newBucket(o.RateLimit, o.Clock.Now()),
	}, nil
}

// Notify sends n now if the rate limit allows, retrying retryable failures;
// otherwise it holds n for the next digest and returns a folded Result.
// Anything already held goes into the digest too, so a newer state never
// overtakes an older one.
func (p *Pipeline) Notify(ctx context.Context, n Notification) Result {
	p.mu.Lock()
	if len(p.held) > 0 || !p.bucket.take(p.o.Clock.Now()) {
		p.held = append(p.held, n)
		p.mu.Unlock()
		select {
		case p.wake <- struct{}{}:
		default:
		}
		r := Result{Receiver: p.o.Receiver, GroupKey: n.GroupKey, Outcome: ResultFolded, Alerts: len(n.Alerts)}
		p.record(r)
		return r
	}
	p.mu.Unlock()
	return p.deliver(ctx, n)
}

// Run sends a digest of held-back notifications whenever a token is free,
// until ctx ends. What is still held then is recorded as dropped.
func (p *Pipeline) Run(ctx context.Context) error {
	for {
		p.mu.Lock()
		var wait time.Duration
		var digest *Notification
		if len(p.held) > 0 {
			wait = p.bucket.wait(p.o.Clock.Now())
			if wait == 0 && p.bucket.take(p.o.Clock.Now()) {
				d := fold(p.o.Receiver, p.held)
				digest, p.held = &d, nil
			}
		}
		p.mu.Unlock()
		if digest != nil {
			p.deliver(ctx, *digest)
			continue
		}
		var timer clock.Timer
		var fire <-chan time.Time
		if wait > 0 {
			timer = p.o.Clock.NewTimer(wait)
			fire = timer.C()
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			p.dropHeld()
			return nil
		case <-p.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

func (p *Pipeline) dropHeld() {
	p.mu.Lock()
	held := p.held
	p.held = nil
	p.mu.Unlock()
	for _, n := range held {
		p.record(Result{Receiver: p.o.Receiver, GroupKey: n.GroupKey, Outcome: ResultDropped, Alerts: len(n.Alerts)})
	}
}

func (p *Pipeline) deliver(ctx context.Context, n Notification) Result {
	r := Result{Receiver: p.o.Receiver, GroupKey: n.GroupKey, Alerts: len(n.Alerts), Folded: n.Folded}
	attempts, err := retry(ctx, p.o.Clock, p.o.Retry, func(ctx context.Context) (bool, error) {
		if p.o.Metrics != nil {
			p.o.Metrics.attempts.WithLabelValues(p.o.Receiver).Inc()
		}
		return p.o.Notifier.Notify(ctx, n)
	}, func(attempt int, wait time.Duration, err error) {
		p.o.Logger.Debug("notification failed, retrying", "group", n.GroupKey, "attempt", attempt, "wait", wait, "err", err)
	})
	r.Attempts = attempts
	if err != nil {
		r.Outcome, r.Err = ResultFailed, fmt.Errorf("notify %s: group %s (%d alerts): %w", p.o.Receiver, n.GroupKey, len(n.Alerts), err)
	} else {
		r.Outcome = ResultSent
	}
	p.record(r)
	return r
}

func (p *Pipeline) record(r Result) {
	if p.o.Metrics != nil {
		p.o.Metrics.notifications.WithLabelValues(r.Receiver, r.Outcome).Inc()
	}
	switch r.Outcome {
	case ResultFailed, ResultDropped:
		p.o.Logger.Warn("notification not delivered", "group", r.GroupKey, "result", r.Outcome, "alerts", r.Alerts, "attempts", r.Attempts, "err", r.Err)
	default:
		p.o.Logger.Debug("notification", "group", r.GroupKey, "result", r.Outcome, "alerts", r.Alerts, "attempts", r.Attempts, "folded", r.Folded)
	}
	if p.o.OnResult != nil {
		p.o.OnResult(r)
	}
}
