package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/clock"
	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/scheduler"
)

// Defaults of Options.
const (
	DefaultNodeTimeout = 10 * time.Second
	DefaultTick        = time.Second
	// minGap bounds how often changes trigger a pass: heartbeats of many
	// nodes would otherwise start one pass each.
	minGap = 50 * time.Millisecond
)

// Options configures a Controller.
type Options struct {
	JS         jetstream.JetStream
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Clock      clock.Clock
	// NodeTimeout is how long a node may miss heartbeats before it is
	// lost and its instances are replaced (--node-timeout).
	NodeTimeout time.Duration
	// Tick is the pass interval when nothing changes.
	Tick time.Duration
	// StatusInterval is how often swell_service and swell_node points
	// go into the metrics stream (default DefaultStatusInterval).
	StatusInterval time.Duration
}

// Controller is the leader's reconcile loop.
type Controller struct {
	o       Options
	log     *slog.Logger
	pub     *events.Publisher
	actions *prometheus.CounterVec
	passes  prometheus.Counter
	pending prometheus.Gauge
	dur     prometheus.Histogram
	// lastStatus is when status points were last published (Run's
	// goroutine only).
	lastStatus time.Time
}

// New validates the options and registers the metrics.
func New(o Options) (*Controller, error) {
	if o.JS == nil {
		return nil, errors.New("controller: no JetStream context")
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
	if o.NodeTimeout == 0 {
		o.NodeTimeout = DefaultNodeTimeout
	}
	if o.Tick == 0 {
		o.Tick = DefaultTick
	}
	if o.StatusInterval <= 0 {
		o.StatusInterval = DefaultStatusInterval
	}
	if o.NodeTimeout < 0 || o.Tick < 0 {
		return nil, fmt.Errorf("controller: node timeout %s and tick %s must be positive", o.NodeTimeout, o.Tick)
	}
	c := &Controller{
		o:   o,
		log: o.Logger.With("component", "scheduler"),
		pub: events.NewPublisher(o.JS, o.Clock.Now),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swell_scheduler_actions_total",
			Help: "Placement changes the scheduler wrote, by kind (start, stop, lost, delete).",
		}, []string{"kind"}),
		passes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swell_scheduler_passes_total",
			Help: "Reconcile passes run by the leader.",
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "swell_scheduler_services_pending",
			Help: "Services with instances that no node can take, at the last pass.",
		}),
		dur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "swell_scheduler_pass_duration_seconds",
			Help:    "Time one reconcile pass took, reading, deciding and writing.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5},
		}),
	}
	for _, m := range []prometheus.Collector{c.actions, c.passes, c.pending, c.dur} {
		if err := o.Registerer.Register(m); err != nil {
			return nil, fmt.Errorf("controller: register metrics: %w", err)
		}
	}
	return c, nil
}

// buckets are the mirrors one Run keeps.
type buckets struct {
	services, nodes, placements, instances *mirror
}

// Run reconciles until ctx ends. It blocks until the buckets are mirrored,
// then runs a pass on every change and every Tick.
func (c *Controller) Run(ctx context.Context) error {
	open := func(name string) (*mirror, error) {
		kv, err := c.o.JS.KeyValue(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("controller: open KV bucket %s: %w (the server creates it at start)", name, err)
		}
		return newMirror(kv), nil
	}
	var b buckets
	var err error
	for _, x := range []struct {
		m    **mirror
		name string
	}{{&b.services, bus.BucketServices}, {&b.nodes, bus.BucketNodes}, {&b.placements, bus.BucketPlacements}, {&b.instances, bus.BucketInstances}} {
		if *x.m, err = open(x.name); err != nil {
			return err
		}
	}

	b.nodes.quiet = heartbeatOnly
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changed := make(chan struct{}, 1)
	errc := make(chan error, 4)
	var wg sync.WaitGroup
	var syncs []chan struct{}
	for _, m := range []*mirror{b.services, b.nodes, b.placements, b.instances} {
		synced := make(chan struct{})
		syncs = append(syncs, synced)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.watch(wctx, synced, changed); err != nil {
				errc <- err
			}
		}()
	}
	defer wg.Wait()
	for _, s := range syncs {
		select {
		case <-s:
		case err := <-errc:
			return err
		case <-ctx.Done():
			return nil
		}
	}
	c.log.Info("scheduler running", "node_timeout", c.o.NodeTimeout)

	tick := c.o.Clock.NewTicker(c.o.Tick)
	defer tick.Stop()
	for {
		if err := c.pass(ctx, &b); err != nil && ctx.Err() == nil {
			// A failed write is retried by the next pass, which reads
			// the buckets afresh.
			c.log.Warn("reconcile pass incomplete", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case <-tick.C():
		case <-changed:
			gap := c.o.Clock.NewTimer(minGap)
			select {
			case <-ctx.Done():
				gap.Stop()
				return nil
			case <-gap.C():
			}
		}
	}
}

// read decodes the mirrors into an Input.
func read(b *buckets, now time.Time, timeout time.Duration) (Input, []error) {
	in := Input{Cordons: map[string]state.Cordon{}, Now: now, NodeTimeout: timeout}
	var errs []error
	decode := func(key string, val []byte, v any) bool {
		if err := json.Unmarshal(val, v); err != nil {
			errs = append(errs, fmt.Errorf("decode %s: %w", key, err))
			return false
		}
		return true
	}
	b.services.each(func(key string, val []byte, _ uint64) {
		var r state.ServiceRecord
		if decode(key, val, &r) {
			in.Services = append(in.Services, r)
		}
	})
	sort.Slice(in.Services, func(i, j int) bool { return in.Services[i].Spec.ID < in.Services[j].Spec.ID })
	b.nodes.each(func(key string, val []byte, _ uint64) {
		switch {
		case strings.HasPrefix(key, "_cordon."):
			var co state.Cordon
			if decode(key, val, &co) {
				in.Cordons[co.Node] = co
			}
		case state.IsMarkKey(key):
		default:
			var n state.Node
			if decode(key, val, &n) {
				in.Nodes = append(in.Nodes, n)
			}
		}
	})
	sort.Slice(in.Nodes, func(i, j int) bool { return in.Nodes[i].Name < in.Nodes[j].Name })
	b.placements.each(func(key string, val []byte, _ uint64) {
		var p state.Placement
		if decode(key, val, &p) {
			in.Placements = append(in.Placements, p)
		}
	})
	sort.Slice(in.Placements, func(i, j int) bool { return in.Placements[i].Key() < in.Placements[j].Key() })
	b.instances.each(func(key string, val []byte, _ uint64) {
		var r state.Instance
		if decode(key, val, &r) {
			in.Instances = append(in.Instances, r)
		}
	})
	sort.Slice(in.Instances, func(i, j int) bool { return in.Instances[i].Key() < in.Instances[j].Key() })
	return in, errs
}

// pass is one level-triggered decision: read, decide, write.
func (c *Controller) pass(ctx context.Context, b *buckets) error {
	start := time.Now()
	defer func() { c.dur.Observe(time.Since(start).Seconds()) }()
	c.passes.Inc()
	now := c.o.Clock.Now()
	in, errs := read(b, now, c.o.NodeTimeout)
	for _, err := range errs {
		c.log.Warn("unreadable record skipped", "err", err)
	}
	v := Build(in)
	a := &applier{c: c, b: b, v: v, now: now}
	a.nodeStatus(ctx, in.Nodes)
	a.housekeeping(ctx)
	a.advanceRollouts(ctx)
	plan := scheduler.Reconcile(v.Snapshot(), v.Services, now)
	for _, act := range plan.Actions {
		a.action(ctx, act)
	}
	a.returned(ctx)
	c.publishStatus(ctx, v, now)
	c.pending.Set(float64(len(plan.Pending)))
	for id, why := range plan.Pending {
		c.log.Debug("instances pending", "service", id, "reason", why)
	}
	return errors.Join(a.errs...)
}
