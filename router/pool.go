package router

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/swell-pipeline/swell/internal/clock"
)

// Errors a request can end with before it reaches an instance.
var (
	// ErrNoInstance: the service has no instance ready and does not hold
	// requests (scale to zero is off).
	ErrNoInstance = errors.New("no instance of the service is ready")
	// ErrQueueFull: the hold queue is at its bound.
	ErrQueueFull = errors.New("too many requests waiting for an instance")
	// ErrQueueTimeout: no instance could take the request in time.
	ErrQueueTimeout = errors.New("no instance could take the request in time")
)

// backend is one instance at one address, as a pool knows it.
type backend struct {
	key, instance, node, version, addr string

	inFlight atomic.Int64
	// ready is read after inFlight is raised, and cleared before the
	// draining report reads inFlight: a request either sees the instance
	// leaving and backs off, or is counted in that report.
	ready atomic.Bool
	meter *meter

	// known: the latest table still has a record of the instance
	// (guarded by the pool's mu).
	known bool
}

// view is a pool's ready backends, replaced whole on every change so a
// pick reads it without a lock.
type view struct {
	all         []*backend
	byVersion   []versionSet
	totalWeight int
	cap         int
	scaleToZero bool
}

type versionSet struct {
	version  string
	weight   int
	backends []*backend
}

// pool balances one route's requests over its backends.
type pool struct {
	service string
	clock   clock.Clock
	holdMax int64
	hold    time.Duration
	// onHold is told when a request starts waiting (demand to signal).
	onHold func()

	v       atomic.Pointer[view]
	waiting atomic.Int64
	queue   *meter // held requests over time

	mu       sync.Mutex
	backends map[string]*backend // by key@addr
	changed  chan struct{}       // closed and replaced when a waiter may proceed
}

func newPool(service string, clk clock.Clock, holdMax int, hold time.Duration, onHold func()) *pool {
	p := &pool{service: service, clock: clk, holdMax: int64(holdMax), hold: hold, onHold: onHold,
		backends: map[string]*backend{}, changed: make(chan struct{}), queue: newMeter(clk.Now())}
	p.v.Store(&view{})
	return p
}

// update applies a route's targets: new ready instances join, the others
// leave the rotation at once and are forgotten once they have neither a
// record nor a request in flight.
func (p *pool) update(r route) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	for _, b := range p.backends {
		b.known = false
	}
	for _, t := range r.Targets {
		id := t.Key + "@" + t.Addr
		b := p.backends[id]
		if b == nil {
			if !t.Ready {
				continue
			}
			b = &backend{key: t.Key, instance: t.Instance, node: t.Node, version: t.Version, addr: t.Addr, meter: newMeter(now)}
			p.backends[id] = b
		}
		b.known = true
		b.ready.Store(t.Ready)
	}
	for id, b := range p.backends {
		if !b.known {
			b.ready.Store(false)
			if b.inFlight.Load() == 0 {
				delete(p.backends, id)
			}
		}
	}
	p.rebuild(r)
}

// rebuild makes the view from the ready backends (mu held).
func (p *pool) rebuild(r route) {
	v := &view{cap: r.Concurrency, scaleToZero: r.ScaleToZero}
	ids := make([]string, 0, len(p.backends))
	for id, b := range p.backends {
		if b.ready.Load() {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	sets := map[string]*versionSet{}
	for _, id := range ids {
		b := p.backends[id]
		v.all = append(v.all, b)
		if r.Weights[b.version] > 0 {
			s := sets[b.version]
			if s == nil {
				s = &versionSet{version: b.version, weight: r.Weights[b.version]}
				sets[b.version] = s
			}
			s.backends = append(s.backends, b)
		}
	}
	for _, s := range sets {
		v.byVersion = append(v.byVersion, *s)
		v.totalWeight += s.weight
	}
	sort.Slice(v.byVersion, func(i, j int) bool { return v.byVersion[i].version < v.byVersion[j].version })
	p.v.Store(v)
	p.wakeLocked()
}

func (p *pool) wakeLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// wake lets waiters try again (a slot was freed).
func (p *pool) wake() {
	p.mu.Lock()
	p.wakeLocked()
	p.mu.Unlock()
}

// candidates picks the backends a request may go to: one version by
// weight when the service splits traffic, else all.
func (v *view) candidates() []*backend {
	if v.totalWeight > 0 {
		n := rand.IntN(v.totalWeight)
		for _, s := range v.byVersion {
			if n < s.weight {
				return s.backends
			}
			n -= s.weight
		}
	}
	return v.all
}

// pick chooses the less loaded of two random backends, skipping those at
// the cap and exclude (a backend that just failed).
func (v *view) pick(exclude *backend) *backend {
	bs := v.candidates()
	open := func(b *backend) bool {
		return b != nil && b != exclude && (v.cap <= 0 || b.inFlight.Load() < int64(v.cap))
	}
	switch len(bs) {
	case 0:
		return nil
	case 1:
		if open(bs[0]) {
			return bs[0]
		}
	default:
		i := rand.IntN(len(bs))
		j := rand.IntN(len(bs) - 1)
		if j >= i {
			j++
		}
		a, b := bs[i], bs[j]
		switch {
		case open(a) && open(b):
			if b.inFlight.Load() < a.inFlight.Load() {
				return b
			}
			return a
		case open(a):
			return a
		case open(b):
			return b
		}
		// Both full or excluded: any open one, from a random start.
		for k := range bs {
			if c := bs[(i+k)%len(bs)]; open(c) {
				return c
			}
		}
	}
	// In a version split, the other versions before giving up.
	if len(bs) != len(v.all) {
		for _, c := range v.all {
			if open(c) {
				return c
			}
		}
	}
	return nil
}

// tryAcquire takes a slot on a backend, or returns nil.
func (p *pool) tryAcquire(exclude *backend) *backend {
	for range 4 {
		v := p.v.Load()
		b := v.pick(exclude)
		if b == nil {
			return nil
		}
		n := b.inFlight.Add(1)
		if b.ready.Load() && (v.cap <= 0 || n <= int64(v.cap)) {
			b.meter.begin(p.clock.Now())
			return b
		}
		p.unreserve(b)
	}
	return nil
}

func (p *pool) unreserve(b *backend) {
	b.inFlight.Add(-1)
	if p.waiting.Load() > 0 {
		p.wake()
	}
}

// acquire takes a slot, waiting in the hold queue when the service may
// hold requests (scale from zero) or every instance is at its cap.
func (p *pool) acquire(ctx context.Context, exclude *backend) (*backend, error) {
	var deadline clock.Timer
	for {
		p.mu.Lock()
		ch := p.changed
		p.mu.Unlock()
		if b := p.tryAcquire(exclude); b != nil {
			if deadline != nil {
				deadline.Stop()
			}
			return b, nil
		}
		v := p.v.Load()
		if len(v.all) == 0 && !v.scaleToZero {
			return nil, ErrNoInstance
		}
		if deadline == nil {
			if p.waiting.Add(1) > p.holdMax {
				p.waiting.Add(-1)
				return nil, ErrQueueFull
			}
			held := p.clock.Now()
			p.queue.begin(held)
			defer func() {
				p.waiting.Add(-1)
				now := p.clock.Now()
				p.queue.end(now, now.Sub(held))
			}()
			if p.onHold != nil {
				p.onHold()
			}
			deadline = p.clock.NewTimer(p.hold)
			defer deadline.Stop()
		}
		select {
		case <-ch:
		case <-deadline.C():
			return nil, ErrQueueTimeout
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// release ends a request taken with acquire.
func (p *pool) release(b *backend, latency time.Duration) {
	b.meter.end(p.clock.Now(), latency)
	p.unreserve(b)
}

// instanceStats is one backend's period, for signals and points.
type instanceStats struct {
	key, instance, node, version string
	draining                     bool
	Stats
}

// queued ends the period of window which of the hold queue and returns
// its time-weighted average, or the count held now when larger.
func (p *pool) queued(which int) (float64, time.Duration) {
	s := p.queue.take(which, p.clock.Now())
	return max(s.InFlight, float64(s.Now)), s.Period
}

// take reads every backend's period of window which; backends that left
// the table and have nothing in flight are forgotten after this report.
func (p *pool) take(which int) []instanceStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	out := make([]instanceStats, 0, len(p.backends))
	for id, b := range p.backends {
		// ready before the meter, which reads in-flight: see backend.ready.
		draining := !b.ready.Load()
		s := b.meter.take(which, now)
		s.Now = b.inFlight.Load()
		out = append(out, instanceStats{key: b.key, instance: b.instance, node: b.node, version: b.version, draining: draining, Stats: s})
		if !b.known && b.inFlight.Load() == 0 {
			delete(p.backends, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}
