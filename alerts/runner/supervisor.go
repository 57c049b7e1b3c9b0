package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/alerts"
	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/alerts/receivers"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/clock"
	"github.com/swell-pipeline/swell/internal/events"
)

// settleDelay lets the documents of one `swell apply` land before the
// runner is rebuilt for them.
const settleDelay = 300 * time.Millisecond

// SupervisorOptions configure a Supervisor.
type SupervisorOptions struct {
	JS jetstream.JetStream
	// Builtin adjusts the built-in rules; NoBuiltin leaves them out.
	Builtin   alerts.BuiltinOptions
	NoBuiltin bool
	// ExternalURL goes into notifications (a link back to swell).
	ExternalURL string
	Retry       notify.RetryPolicy

	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Clock      clock.Clock
	Events     *events.Publisher
	// TickInterval is given to the runner (default DefaultTickInterval).
	TickInterval time.Duration
}

// Supervisor runs the alert runner for the documents stored in KV
// swell_alerts, and runs it again, from its checkpoint, whenever they
// change. It runs on the leader.
type Supervisor struct {
	o   SupervisorOptions
	log *slog.Logger
	reg *replacingRegisterer

	mu  sync.Mutex
	cur *Runner
}

// NewSupervisor validates the options; it does not connect.
func NewSupervisor(o SupervisorOptions) (*Supervisor, error) {
	if o.JS == nil {
		return nil, errors.New("alerts: no JetStream")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	return &Supervisor{o: o, log: o.Logger.With("component", "alerts"), reg: &replacingRegisterer{reg: o.Registerer}}, nil
}

// Active returns the firing alerts of the running runner (none when no
// runner runs).
func (s *Supervisor) Active() []alerts.Active {
	s.mu.Lock()
	r := s.cur
	s.mu.Unlock()
	if r == nil {
		return nil
	}
	return r.Active()
}

// Run watches the definitions and runs the runner until ctx ends.
func (s *Supervisor) Run(ctx context.Context) error {
	kv, err := s.o.JS.KeyValue(ctx, bus.BucketAlerts)
	if err != nil {
		return fmt.Errorf("alerts: open KV bucket %s: %w (the server creates it at start)", bus.BucketAlerts, err)
	}
	w, err := kv.Watch(ctx, keyDefPrefix+">", jetstream.MetaOnly())
	if err != nil {
		return fmt.Errorf("alerts: watch definitions: %w", err)
	}
	defer func() { _ = w.Stop() }()
	// The watch first replays every stored definition, then a nil marks
	// the end of the replay: start once, after it.
	for synced := false; !synced; {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("alerts: definitions watch closed")
			}
			synced = e == nil
		}
	}
	for {
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		r, err := s.build(rctx, kv)
		if err != nil {
			cancel()
			return err
		}
		s.mu.Lock()
		s.cur = r
		s.mu.Unlock()
		go func() { done <- r.Run(rctx) }()
		changed := false
		for !changed {
			select {
			case <-ctx.Done():
				cancel()
				return <-done
			case err := <-done:
				cancel()
				return err
			case e, ok := <-w.Updates():
				if !ok {
					cancel()
					if err := <-done; err != nil {
						s.log.Warn("alert runner stopped with an error", "err", err)
					}
					return errors.New("alerts: definitions watch closed")
				}
				changed = e != nil
			}
		}
		// Let the rest of an apply arrive, then restart from the
		// checkpoint with the new documents.
		s.drain(ctx, w)
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			s.log.Warn("alert runner stopped with an error while reloading", "err", err)
		}
		if ctx.Err() != nil {
			return nil
		}
		s.log.Info("alert definitions changed; runner reloaded")
	}
}

// drain consumes watch updates until none arrived for settleDelay.
func (s *Supervisor) drain(ctx context.Context, w jetstream.KeyWatcher) {
	for {
		t := s.o.Clock.NewTimer(settleDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-w.Updates():
			t.Stop()
		case <-t.C():
			return
		}
	}
}

func (s *Supervisor) build(ctx context.Context, kv jetstream.KeyValue) (*Runner, error) {
	defs, err := LoadDefs(ctx, kv)
	if err != nil {
		// An unreadable document is logged and the rest runs: alerts
		// must not stop because of one bad record.
		s.log.Error("alert definitions not all readable", "err", err)
	}
	var builtin []alerts.Rule
	if !s.o.NoBuiltin {
		builtin = alerts.Builtin(s.o.Builtin)
	}
	rules, routes, recv, errs := defs.Config(builtin)
	for _, err := range errs {
		s.log.Error("alert definition skipped", "err", err)
	}
	notifiers := map[string]notify.Notifier{}
	sms := map[string]bool{}
	limits := map[string]notify.RateLimit{}
	for _, r := range recv {
		n, err := r.Build()
		if err != nil {
			s.log.Error("receiver not available; routes to it skip it", "receiver", r.Name, "err", err)
			continue
		}
		notifiers[r.Name] = n
		spec := receivers.Builtin()[r.Type]
		sms[r.Name] = spec.SMS
		limits[r.Name] = spec.RateLimit
	}
	var inhibit []alerts.InhibitRule
	if !s.o.NoBuiltin {
		inhibit = alerts.BuiltinInhibitRules()
	}
	s.log.Info("alert rules loaded", "rules", len(rules), "routes", len(routes), "receivers", len(notifiers))
	r, err := New(Options{
		JS: s.o.JS, Rules: rules, Routes: routes, Inhibit: inhibit,
		Receivers: notifiers, SMS: sms, RateLimits: limits, Retry: s.o.Retry,
		ExternalURL: s.o.ExternalURL, Logger: s.o.Logger, Registerer: s.reg, Clock: s.o.Clock,
		Events: s.o.Events, TickInterval: s.o.TickInterval,
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// replacingRegisterer lets each rebuilt runner register its metrics: a
// collector already registered by the previous runner is replaced (its
// counters start again from zero, which Prometheus' rate() handles as a
// reset).
type replacingRegisterer struct {
	reg prometheus.Registerer
	mu  sync.Mutex
}

func (r *replacingRegisterer) Register(c prometheus.Collector) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		r.reg.Unregister(are.ExistingCollector)
		return r.reg.Register(c)
	}
	return err
}

func (r *replacingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *replacingRegisterer) Unregister(c prometheus.Collector) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reg.Unregister(c)
}
