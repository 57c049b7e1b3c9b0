package health

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

// Options configure a Checker.
type Options struct {
	Logger *slog.Logger
	Clock  clock.Clock
	// Registerer receives the checker's metrics; nil keeps them private.
	Registerer prometheus.Registerer
	// Execer runs COMMAND checks; nil refuses to watch them.
	Execer Execer
	// OnResult receives every result, one call at a time. It must return
	// quickly: probes of all instances wait for it.
	OnResult func(Result)
}

// Checker probes the instances it watches, each check on its own
// interval, and reports through Options.OnResult.
type Checker struct {
	logger   *slog.Logger
	clock    clock.Clock
	prober   *Prober
	onResult func(Result)
	metrics  *metrics

	resultMu sync.Mutex // serialises OnResult

	mu      sync.Mutex
	ctx     context.Context // nil until Run
	wg      sync.WaitGroup
	watches map[string]*watch
}

type watch struct {
	target Target
	checks []Check
	cancel context.CancelFunc
}

type metrics struct {
	probes   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// New returns a Checker; it probes nothing until Run.
func New(opts Options) (*Checker, error) {
	if opts.Logger == nil || opts.Clock == nil || opts.OnResult == nil {
		return nil, errors.New("health: Options need Logger, Clock and OnResult")
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swell_health_probes_total",
			Help: "Health-check probes run by this agent, by protocol and status (pass, fail, ignored).",
		}, []string{"protocol", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "swell_health_probe_duration_seconds",
			Help:    "Time one health-check probe took, by protocol.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 20},
		}, []string{"protocol"}),
	}
	for _, c := range []prometheus.Collector{m.probes, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("health: register metrics: %w", err)
		}
	}
	return &Checker{
		logger:   opts.Logger.With("component", "health"),
		clock:    opts.Clock,
		prober:   NewProber(opts.Execer),
		onResult: opts.OnResult,
		metrics:  m,
		watches:  make(map[string]*watch),
	}, nil
}

// Watch starts checking target with checks, replacing an earlier watch of
// the same instance (its state and grace period start over). It may be
// called before or during Run.
func (c *Checker) Watch(target Target, checks []Check) error {
	if target.Instance == "" {
		return errors.New("health: watch: target has no instance ID")
	}
	for i, ch := range checks {
		if err := ch.Validate(len(target.HostPorts)); err != nil {
			return fmt.Errorf("health: watch %s: healthChecks[%d]: %w", target.Instance, i, err)
		}
		if ch.Protocol == COMMAND && c.prober.Execer == nil {
			return fmt.Errorf("health: watch %s: healthChecks[%d]: COMMAND checks need a container engine on this agent", target.Instance, i)
		}
	}
	w := &watch{target: target, checks: checks}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.watches[target.Instance]; old != nil && old.cancel != nil {
		old.cancel()
	}
	c.watches[target.Instance] = w
	if c.ctx != nil {
		c.start(w)
	}
	return nil
}

// Unwatch stops checking an instance. A probe already under way is
// abandoned and its result not reported.
func (c *Checker) Unwatch(instance string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := c.watches[instance]; w != nil {
		if w.cancel != nil {
			w.cancel()
		}
		delete(c.watches, instance)
	}
}

// Run probes until ctx ends, then waits for probes under way to stop.
func (c *Checker) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.ctx != nil {
		c.mu.Unlock()
		return errors.New("health: Run called twice")
	}
	c.ctx = ctx
	for _, w := range c.watches {
		c.start(w)
	}
	c.mu.Unlock()

	<-ctx.Done()
	c.wg.Wait()
	return nil
}

// start launches one loop per check; c.mu is held.
func (c *Checker) start(w *watch) {
	ctx, cancel := context.WithCancel(c.ctx)
	w.cancel = cancel
	for i, ch := range w.checks {
		c.wg.Go(func() { c.loop(ctx, w.target, i, ch) })
	}
}

func (c *Checker) loop(ctx context.Context, target Target, index int, check Check) {
	tracker := NewTracker(target.Instance, check, target.StartedAt)
	ticker := c.clock.NewTicker(check.Interval)
	defer ticker.Stop()
	proto := string(check.Protocol)
	for {
		began := time.Now()
		o := c.prober.Probe(ctx, check, target)
		if ctx.Err() != nil {
			return // unwatched or shutting down: the outcome means nothing
		}
		c.metrics.duration.WithLabelValues(proto).Observe(time.Since(began).Seconds())
		c.metrics.probes.WithLabelValues(proto, o.Status.String()).Inc()

		r := tracker.Observe(o, c.clock.Now())
		r.Check = index
		if o.Status == Fail && !r.InGrace {
			c.logger.Debug("health check failed", "instance", target.Instance, "check", index,
				"failures", r.ConsecutiveFailures, "reason", r.Reason)
		}
		c.resultMu.Lock()
		// Checked again under the lock: once Unwatch has returned, no new
		// callback for the instance begins.
		if ctx.Err() == nil {
			c.onResult(r)
		}
		c.resultMu.Unlock()

		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
		}
	}
}
