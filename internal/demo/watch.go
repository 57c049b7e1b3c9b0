package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/loadgen"
	"github.com/swell-pipeline/swell/router"
)

// printer writes whole lines to the terminal from several goroutines; once
// the profile starts each line carries the seconds since its start.
type printer struct {
	mu sync.Mutex
	w  io.Writer
	t0 time.Time
}

func newPrinter(w io.Writer) *printer { return &printer{w: w} }

func (p *printer) start(t time.Time) {
	p.mu.Lock()
	p.t0 = t
	p.mu.Unlock()
}

// line prints a setup or clean-up line.
func (p *printer) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "demo  "+format+"\n", args...)
}

// event prints a line of the run with its time and a kind.
func (p *printer) event(kind, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := "    "
	if !p.t0.IsZero() {
		t = fmt.Sprintf("%3ds", int(time.Since(p.t0).Seconds()))
	}
	fmt.Fprintf(p.w, "%s  %-6s "+format+"\n", append([]any{t, kind}, args...)...)
}

// raw prints text as it is.
func (p *printer) raw(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, s)
}

// signals keeps the newest concurrency signal of each router for one
// service (their sum is the load the autoscaler sees), and the service's
// scale events as they are published.
type signals struct {
	sub, evSub *nats.Subscription

	mu     sync.Mutex
	latest map[string]router.Signal
	scales []events.Event
}

func watchSignals(nc *nats.Conn, service string) (*signals, error) {
	s := &signals{latest: map[string]router.Signal{}}
	evSub, err := nc.Subscribe(events.Event{Type: events.Scale, Service: service}.Subject(), func(m *nats.Msg) {
		var e events.Event
		if json.Unmarshal(m.Data, &e) != nil || e.Service != service {
			return
		}
		s.mu.Lock()
		s.scales = append(s.scales, e)
		s.mu.Unlock()
	})
	if err != nil {
		return nil, fmt.Errorf("demo: subscribe to %s's scale events: %w", service, err)
	}
	s.evSub = evSub
	sub, err := nc.Subscribe(router.SignalSubject(service), func(m *nats.Msg) {
		var sig router.Signal
		if json.Unmarshal(m.Data, &sig) != nil || sig.Kind != router.SignalKind || sig.Service != service {
			return
		}
		s.mu.Lock()
		s.latest[sig.Node] = sig
		s.mu.Unlock()
	})
	if err != nil {
		return nil, fmt.Errorf("demo: subscribe to %s's signals: %w", service, err)
	}
	s.sub = sub
	return s, nil
}

// inFlight is the requests in flight over the routers (and held by them),
// from signals no older than two seconds.
func (s *signals) inFlight(now time.Time) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := 0.0
	for _, sig := range s.latest {
		if now.Sub(sig.Time) > 2*time.Second {
			continue
		}
		total += sig.Queued
		for _, in := range sig.Instances {
			total += in.InFlight
		}
	}
	return total
}

// takeScales returns the scale events received since the last call.
func (s *signals) takeScales() []events.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.scales
	s.scales = nil
	return out
}

func (s *signals) close() {
	_ = s.sub.Unsubscribe()
	_ = s.evSub.Unsubscribe()
}

// Sample is one second of the run.
type Sample struct {
	// T is the time since the profile started.
	T     time.Duration
	Phase string
	// Load is the concurrency the load generator offers.
	Load int
	// InFlight is the routers' total of requests in flight.
	InFlight float64
	// Desired is the service's wanted count; Healthy its instances running
	// and healthy; Existing those starting or running.
	Desired, Healthy, Existing int
	// PerNode counts existing instances per node.
	PerNode map[string]int
}

// load is the profile being driven.
type load struct {
	mu       sync.Mutex
	phase    Phase
	base     loadgen.Progress // finished phases
	progress loadgen.Progress // current phase
	results  []PhaseResult
	done     bool
	err      error
}

func (l *load) now() (Phase, int64, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.phase, l.base.Requests + l.progress.Requests, l.base.Errors + l.progress.Errors
}

// run drives the phases one after another against url.
func (l *load) run(ctx context.Context, url string, phases []Phase, t0 time.Time, p *printer) {
	defer func() {
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
	}()
	for _, ph := range phases {
		l.mu.Lock()
		l.phase, l.progress = ph, loadgen.Progress{}
		l.mu.Unlock()
		start := time.Since(t0)
		p.event("PHASE", "%s: %d concurrent requests of %d ms for %s", ph.Name, ph.Concurrency, RequestMS, ph.Duration)
		var res loadgen.Result
		if ph.Concurrency == 0 {
			select {
			case <-ctx.Done():
			case <-time.After(ph.Duration):
			}
		} else {
			var err error
			res, err = loadgen.Run(ctx, loadgen.Options{
				URL: url, Concurrency: ph.Concurrency, Duration: ph.Duration, Timeout: 10 * time.Second,
				Progress: func(pr loadgen.Progress) {
					l.mu.Lock()
					l.progress = pr
					l.mu.Unlock()
				},
			})
			if err != nil {
				l.mu.Lock()
				l.err = fmt.Errorf("demo: load phase %s: %w", ph.Name, err)
				l.mu.Unlock()
				return
			}
		}
		l.mu.Lock()
		l.base.Requests += res.Requests
		l.base.Errors += res.Errors
		l.progress = loadgen.Progress{}
		l.results = append(l.results, PhaseResult{Phase: ph, Start: start, Result: res})
		l.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
	}
}

func (l *load) finished() (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done, l.err
}

// apply sends the demo's documents through the API and waits for the
// first healthy instance.
func (c *cluster) apply(ctx context.Context, o Options) error {
	doc := Manifest(o.Image, c.servicePort, c.sink.url(), o.Labels)
	rs, err := c.api.Apply(ctx, "demo.yaml", []byte(doc))
	if err != nil {
		return fmt.Errorf("demo: apply the demo's service and alert rule: %w", err)
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%s %s %s", strings.ToLower(r.Kind), r.ID, r.Action)
	}
	c.p.line("applied through the API: %s", strings.Join(parts, ", "))
	c.p.line("service port %d on every node; webhook sink %s", c.servicePort, c.sink.url())
	c.p.line("waiting for the first healthy instance of %s", ServiceID)
	err = waitUntil(ctx, 90*time.Second, "the first healthy instance of "+ServiceID, func() (bool, error) {
		v, err := c.api.Service(ctx, ServiceID)
		if err != nil {
			return false, nil //nolint:nilerr // retried until the deadline
		}
		return v.Healthy >= MinReplicas, nil
	})
	if err != nil {
		return fmt.Errorf("%w; instances: %s", err, c.describeInstances(ctx))
	}
	return nil
}

// describeInstances says where the demo service's instances are, for an
// error that has to explain why none became healthy.
func (c *cluster) describeInstances(ctx context.Context) string {
	ins, err := c.api.Instances(ctx)
	if err != nil {
		return err.Error()
	}
	var parts []string
	for _, in := range ins {
		if in.Service != ServiceID {
			continue
		}
		d := fmt.Sprintf("%s on %s %s healthy=%v", in.ID, in.Node, in.State, in.Healthy)
		if in.Reason != "" {
			d += " (" + in.Reason + ")"
		}
		parts = append(parts, d)
	}
	if len(parts) == 0 {
		return "none reported by the agents"
	}
	return strings.Join(parts, "; ")
}

// drive runs the profile and the live view, then waits for the service to
// settle.
func (c *cluster) drive(ctx context.Context, res *Result) error {
	c.t0 = time.Now()
	c.p.start(c.t0)
	lctx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	l := &load{}
	url := fmt.Sprintf("http://%s:%d/?ms=%d", c.o.Addrs[0], c.servicePort, RequestMS)
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		l.run(lctx, url, c.o.Profile, c.t0, c.p)
	}()
	defer func() { stopLoad(); <-loadDone }()

	seen := map[string]bool{}
	var live []events.Event
	// A status line is printed when something changed, else every 5s.
	var (
		last      Sample
		lastPrint time.Time
	)
	res.PeakPerNode = map[string]int{}
	var settleBy time.Time
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: the run ended before the load and the settle were done: %w", ctx.Err())
		case <-tick.C:
		}
		s, evs, err := c.sample(ctx, l)
		if err != nil {
			c.log.Warn("demo: sample", "err", err)
			continue
		}
		res.Samples = append(res.Samples, s)
		res.PeakDesired = max(res.PeakDesired, s.Desired)
		res.PeakHealthy = max(res.PeakHealthy, s.Healthy)
		for n, k := range s.PerNode {
			res.PeakPerNode[n] = max(res.PeakPerNode[n], k)
		}
		if s.changedFrom(last) || time.Since(lastPrint) >= 5*time.Second {
			c.printSample(s, l)
			last, lastPrint = s, time.Now()
		}
		for _, e := range evs {
			if seen[e.ID] {
				continue
			}
			seen[e.ID] = true
			live = append(live, e)
			c.p.event("SCALE", "%s → %s  %s", e.From, e.To, e.Reason)
		}

		done, err := l.finished()
		if err != nil {
			return err
		}
		if !done {
			continue
		}
		if settleBy.IsZero() {
			settleBy = time.Now().Add(c.o.Settle)
			c.p.event("SETTLE", "load over; waiting for %s to be back at %d instance(s) and the alert to resolve (at most %s)", ServiceID, MinReplicas, c.o.Settle)
		}
		if s.Desired == MinReplicas && s.Healthy == MinReplicas && s.Existing == MinReplicas && c.sink.firing() == 0 {
			res.Settled = true
		}
		if res.Settled || time.Now().After(settleBy) {
			break
		}
	}
	l.mu.Lock()
	res.Phases = append([]PhaseResult(nil), l.results...)
	l.mu.Unlock()
	for _, ph := range res.Phases {
		res.Requests += ph.Result.Requests
		res.Errors += ph.Result.Errors
	}
	// The stream is the record; the live view is the fallback.
	res.ScaleEvents = live
	if evs, err := c.api.Events(ctx, events.Filter{Type: events.Scale, Service: ServiceID, Limit: 1000}); err == nil && len(evs) >= len(live) {
		res.ScaleEvents = evs
	}
	res.Notifications = c.sink.notifications()
	return nil
}

// sample reads the service and its instances, and takes the scale events
// published since the last sample.
func (c *cluster) sample(ctx context.Context, l *load) (Sample, []events.Event, error) {
	now := time.Now()
	ph, _, _ := l.now()
	s := Sample{T: now.Sub(c.t0), Phase: ph.Name, Load: ph.Concurrency, InFlight: c.signals.inFlight(now), PerNode: map[string]int{}}
	if done, _ := l.finished(); done {
		s.Phase, s.Load = "settle", 0
	}
	v, err := c.api.Service(ctx, ServiceID)
	if err != nil {
		return s, nil, err
	}
	s.Desired, s.Healthy = v.Desired, v.Healthy
	ins, err := c.api.Instances(ctx)
	if err != nil {
		return s, nil, err
	}
	for _, in := range ins {
		if in.Service != ServiceID || (in.State != state.Running && in.State != state.Starting) {
			continue
		}
		s.Existing++
		s.PerNode[in.Node]++
	}
	return s, c.signals.takeScales(), nil
}

// changedFrom reports whether s differs from prev in what a status line
// shows: the phase, the counts, the spread, or a whole request in flight.
func (s Sample) changedFrom(prev Sample) bool {
	if s.Phase != prev.Phase || s.Desired != prev.Desired || s.Healthy != prev.Healthy || s.Existing != prev.Existing ||
		math.Abs(s.InFlight-prev.InFlight) >= 1 || len(s.PerNode) != len(prev.PerNode) {
		return true
	}
	for n, k := range s.PerNode {
		if prev.PerNode[n] != k {
			return true
		}
	}
	return false
}

// printSample prints one status line: the offered load, what is in flight
// against the ready capacity, the counts, and the instances per node.
func (c *cluster) printSample(s Sample, l *load) {
	_, reqs, errs := l.now()
	nodes := make([]string, 0, len(c.o.Nodes))
	for _, n := range c.o.Nodes {
		nodes = append(nodes, fmt.Sprintf("%s:%d", n, s.PerNode[n]))
	}
	per := 0.0
	if s.Healthy > 0 {
		per = s.InFlight / float64(s.Healthy)
	}
	c.p.event(s.Phase, "load %2d  in flight %5.1f = %4.1f/instance (target %d)  desired %2d healthy %2d  nodes %s  requests %d errors %d",
		s.Load, s.InFlight, per, Target, s.Desired, s.Healthy, strings.Join(nodes, " "), reqs, errs)
}
