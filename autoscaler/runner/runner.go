// Package runner is the autoscaler of the leader: it feeds the routers'
// signals and the scheduler's view of each autoscaled service into the
// decision core, and carries out what the core decides.
//
//	swell.signal.> (core NATS, every 250 ms per router) ─► Core.ObserveSignal
//	KV swell_services, swell_instances, swell_placements (watched) ─┐
//	   every tick: SetPolicy (new or changed policies) · SetInstances ─► Core.Tick
//	   ─► ScaleEvent ─► events (swell.events.scale.<svc>, swell_scale_event)
//	   ─► the desired count written to the service's record (the scheduler
//	      places or stops instances from it)
//
// The count is level-triggered: on every tick a record whose instance
// count differs from the core's desired count is written again, so a
// write lost to a conflict or an apply that reset the count is mended
// within a tick.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/autoscaler"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/clock"
	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/state"
)

// DefaultTick is how often the autoscaler decides (--autoscale-tick).
const DefaultTick = time.Second

// SignalSubjects are the subjects the routers publish signals on.
const SignalSubjects = "swell.signal.>"

// Options configure a Runner.
type Options struct {
	Conn       *nats.Conn
	JS         jetstream.JetStream
	Tick       time.Duration
	Core       autoscaler.Options
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Clock      clock.Clock
	Events     *events.Publisher
}

// Runner runs the autoscaler on the leader.
type Runner struct {
	o   Options
	log *slog.Logger

	decisions *prometheus.CounterVec
	signals   prometheus.Counter
	tickDur   prometheus.Histogram

	// readyAt is when each instance was first seen ready (Run's goroutine).
	readyAt map[string]time.Time

	mu     sync.Mutex
	status map[string]autoscaler.Status
}

// New validates the options and registers the metrics; it does not
// connect.
func New(o Options) (*Runner, error) {
	if o.Conn == nil || o.JS == nil {
		return nil, errors.New("autoscaler: no NATS connection")
	}
	if o.Tick == 0 {
		o.Tick = DefaultTick
	}
	if o.Tick < 100*time.Millisecond || o.Tick > time.Minute {
		return nil, fmt.Errorf("autoscaler: --autoscale-tick %s: want 100ms to 1m", o.Tick)
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
	if _, err := autoscaler.NewCore(o.Core); err != nil {
		return nil, err
	}
	r := &Runner{o: o, log: o.Logger.With("component", "autoscaler"), status: map[string]autoscaler.Status{}, readyAt: map[string]time.Time{}}
	r.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "swell_autoscaler_decisions_total", Help: "Changes of a desired count by direction (up, down).",
	}, []string{"direction"})
	r.signals = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "swell_autoscaler_signals_total", Help: "Router signals the autoscaler read.",
	})
	r.tickDur = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "swell_autoscaler_tick_seconds", Help: "Time one decision tick over every autoscaled service took.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 8),
	})
	for _, c := range []prometheus.Collector{r.decisions, r.signals, r.tickDur} {
		if err := o.Registerer.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("autoscaler: register metrics: %w", err)
			}
		}
	}
	return r, nil
}

// Status is the latest decision for an autoscaled service, as of the last
// tick on this process (none when it is not the leader).
func (r *Runner) Status(service string) (autoscaler.Status, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.status[service]
	return s, ok
}

// Run decides until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	core, err := autoscaler.NewCore(r.o.Core)
	if err != nil {
		return err
	}
	mirrors := map[string]*mirror{}
	for _, b := range []string{bus.BucketServices, bus.BucketInstances, bus.BucketPlacements} {
		kv, err := r.o.JS.KeyValue(ctx, b)
		if err != nil {
			return fmt.Errorf("autoscaler: open KV bucket %s: %w (the server creates it at start)", b, err)
		}
		mirrors[b] = &mirror{kv: kv, vals: map[string][]byte{}}
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(mirrors))
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, m := range mirrors {
		synced := make(chan struct{})
		wg.Go(func() {
			if err := m.watch(wctx, synced); err != nil && wctx.Err() == nil {
				errc <- err
			}
		})
		select {
		case <-synced:
		case err := <-errc:
			return err
		case <-ctx.Done():
			return nil
		}
	}

	sigs := make(chan *nats.Msg, 4096)
	sub, err := r.o.Conn.ChanSubscribe(SignalSubjects, sigs)
	if err != nil {
		return fmt.Errorf("autoscaler: subscribe %s: %w", SignalSubjects, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	// Container CPU, for policies on the cpu metric, comes with the
	// collectors' batches: a plain subscription sees them as they are
	// published, without a consumer on the stream. It is held only while
	// some service scales on cpu, since it carries the whole firehose.
	batches := make(chan *nats.Msg, 1024)
	var msub *nats.Subscription
	defer func() {
		if msub != nil {
			_ = msub.Unsubscribe()
		}
	}()
	cpu := newCPUReader()

	policies := map[string]string{} // service → the policy JSON in force
	t := r.o.Clock.NewTimer(untilTick(r.o.Clock.Now(), r.o.Tick))
	defer t.Stop()
	r.log.Info("autoscaler running", "tick", r.o.Tick)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case m := <-batches:
			for _, smp := range cpu.read(m.Data) {
				core.Observe(smp.service, smp.Sample, smp.at)
			}
		case m := <-sigs:
			sig, err := autoscaler.DecodeSignal(m.Data)
			if err != nil {
				continue // health signals and others share the subjects
			}
			r.signals.Inc()
			core.ObserveSignal(sig, r.o.Clock.Now())
		case <-t.C():
			start := time.Now()
			r.tick(ctx, core, mirrors, policies)
			cpu.want(mirrors[bus.BucketServices])
			switch {
			case len(cpu.services) > 0 && msub == nil:
				if msub, err = r.o.Conn.ChanSubscribe(bus.SubjectMetricsAll, batches); err != nil {
					r.log.Warn("cannot read container CPU for policies on cpu; retrying next tick", "err", err)
					msub = nil
				}
			case len(cpu.services) == 0 && msub != nil:
				_ = msub.Unsubscribe()
				msub = nil
			}
			r.tickDur.Observe(time.Since(start).Seconds())
			t.Reset(untilTick(r.o.Clock.Now(), r.o.Tick))
		}
	}
}

// tickLag is how long after a whole second a tick comes: the routers
// publish every 250 ms, so by then every signal covering the second just
// ended has arrived, and the core's newest complete second is whole.
const tickLag = 350 * time.Millisecond

// untilTick is the wait for the next tick: tickLag past the next multiple
// of tick. A step of load is then acted on at the first tick after the
// second it happened in, about a second later rather than two.
func untilTick(now time.Time, tick time.Duration) time.Duration {
	next := now.Truncate(tick).Add(tickLag % tick)
	for !next.After(now) {
		next = next.Add(tick)
	}
	return next.Sub(now)
}

// tick brings the core up to date with the cluster, decides, and carries
// the decisions out.
func (r *Runner) tick(ctx context.Context, core *autoscaler.Core, mirrors map[string]*mirror, policies map[string]string) {
	now := r.o.Clock.Now()
	services := map[string]state.ServiceRecord{}
	mirrors[bus.BucketServices].each(func(key string, b []byte) {
		var rec state.ServiceRecord
		if json.Unmarshal(b, &rec) == nil && rec.Spec.Autoscale != nil {
			services[rec.Spec.ID] = rec
		}
	})
	for id := range policies {
		if _, ok := services[id]; !ok {
			core.Remove(id)
			delete(policies, id)
			r.mu.Lock()
			delete(r.status, id)
			r.mu.Unlock()
		}
	}
	for id, rec := range services {
		aj, _ := json.Marshal(rec.Spec.Autoscale)
		key := fmt.Sprintf("%s|%d", aj, rec.Spec.Priority)
		if policies[id] == key {
			continue
		}
		p, err := autoscaler.PolicyFromSpec(rec.Spec.Autoscale, rec.Spec.Priority)
		if err == nil {
			err = core.SetPolicy(id, p, rec.Spec.Instances, now)
		}
		if err != nil {
			r.log.Error("autoscale policy not usable; the service keeps its count", "service", id, "err", err)
			continue
		}
		policies[id] = key
	}
	lists := instances(mirrors, services, r.readyAt, now)
	for id := range policies {
		core.SetInstances(id, lists[id], now)
	}
	for _, e := range core.Tick(now) {
		dir := "up"
		if e.To < e.From {
			dir = "down"
		}
		if e.To != e.From {
			r.decisions.WithLabelValues(dir).Inc()
		}
		r.log.Info("scale", "service", e.Service, "from", e.From, "to", e.To, "mode", e.Mode, "limiter", e.Limiter, "reason", e.Reason())
		r.publish(ctx, e)
	}
	r.mu.Lock()
	for id := range policies {
		if st, ok := core.Status(id); ok {
			r.status[id] = st
		}
	}
	r.mu.Unlock()
	for id, rec := range services {
		want, ok := core.Desired(id)
		if !ok || want == rec.Spec.Instances {
			continue
		}
		r.apply(ctx, mirrors[bus.BucketServices].kv, id, want)
	}
}

func (r *Runner) publish(ctx context.Context, e autoscaler.ScaleEvent) {
	if r.o.Events == nil {
		return
	}
	ev := e.Event()
	ev.ID = fmt.Sprintf("scale:%s:%d", bus.Token(e.Service), e.Time.UnixNano())
	ev.Detail, _ = json.Marshal(e)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := r.o.Events.Publish(pctx, ev); err != nil && ctx.Err() == nil {
		r.log.Warn("scale event not published", "service", e.Service, "err", err)
	}
}

// apply writes the desired count into the service's record, with a
// revision check; a conflict is left to the next tick.
func (r *Runner) apply(ctx context.Context, kv jetstream.KeyValue, id string, want int) {
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rec, rev, err := state.GetService(wctx, kv, id)
	if err != nil {
		if !errors.Is(err, state.ErrNotFound) && ctx.Err() == nil {
			r.log.Warn("read service to scale it; next tick retries", "service", id, "err", err)
		}
		return
	}
	if rec.Spec.Instances == want || rec.Spec.Autoscale == nil {
		return
	}
	rec.Spec.Instances = want
	rec.UpdatedAt = r.o.Clock.Now().UTC()
	if err := state.PutService(wctx, kv, rec, rev); err != nil && ctx.Err() == nil {
		r.log.Debug("scale write lost to a concurrent change; next tick retries", "service", id, "err", err)
	}
}
