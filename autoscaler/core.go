package autoscaler

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
)

// Options tune the core; the zero value is the default.
type Options struct {
	// MissingAfter is how long a ready instance may go without a sample
	// before it counts as missing (default 1s: four signal periods).
	MissingAfter time.Duration
	// StartTime is assumed for starting instances until the core has
	// measured one of the service's starts (default 30s).
	StartTime time.Duration
}

// Core decides desired instance counts. It is a pure state machine: the
// caller feeds it policies, instances and samples with the time they
// happened, and calls Tick; it does no I/O and reads no clock. It is not
// safe for concurrent use.
type Core struct {
	opts     Options
	services map[string]*service
	names    []string // sorted, so Tick's output order is stable
	sorted   bool
}

// NewCore returns an empty core.
func NewCore(opts Options) (*Core, error) {
	if opts.MissingAfter < 0 || opts.StartTime < 0 {
		return nil, errors.New("autoscaler: options: durations must not be negative")
	}
	if opts.MissingAfter == 0 {
		opts.MissingAfter = time.Second
	}
	if opts.StartTime == 0 {
		opts.StartTime = 30 * time.Second
	}
	return &Core{opts: opts, services: map[string]*service{}}, nil
}

// InstanceState is what the scheduler reports about an instance.
type InstanceState int

// Instance states. Only Ready instances are capacity.
const (
	Starting InstanceState = iota
	Ready
	Unhealthy
	Draining
)

// Instance is one instance of a service as the scheduler sees it. Since is
// when it entered its state; for a starting instance, when it was created.
type Instance struct {
	ID    string
	State InstanceState
	Since time.Time
}

// Sample is one measurement of one instance (Instance "" for demand no
// instance holds, like requests queued at a router) over Period ending at
// the time given to Observe. Value is the metric's average over Period.
type Sample struct {
	Instance string
	Node     string
	Metric   string
	Value    float64
	Period   time.Duration
}

type service struct {
	name   string
	policy Policy
	// windows parallel policy.Metrics.
	windows []*window
	desired int

	added      time.Time // when the core first saw the service
	dataSince  time.Time // start of the current unbroken run of signals
	lastSignal time.Time
	lastSeen   map[string]time.Time // instance → its newest sample
	// every is, per instance, the period of its newest sample: an
	// instance sampled every 10 s (CPU from the collector) is not missing
	// between two samples.
	every map[string]time.Duration

	ready, unhealthy, draining int
	readyIDs                   map[string]bool
	starting                   map[string]time.Time // id → created
	startTimes                 []time.Duration      // newest last, at most 8

	panicking   bool
	lastOver    time.Time
	fallback    bool
	lastUp      time.Time
	lastNonZero time.Time
	upHist      []timed // short-window demand, for scale-up stabilization
	downHist    []timed // short-window demand (missing at target), for scale-down
	changes     []change

	floorUntil time.Time
	floorMin   int

	last Status
}

type timed struct {
	t time.Time
	v float64
}

type change struct {
	t     time.Time
	delta int
}

// SetPolicy adds a service or changes its policy. current is the count in
// force (the running desired count, or the service's instances when it is
// new); it is only read for a service the core does not know yet, so a
// standby taking over starts from what the leader had decided.
func (c *Core) SetPolicy(name string, p Policy, current int, now time.Time) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	p.Metrics = slices.Clone(p.Metrics)
	s := c.services[name]
	if s == nil {
		s = &service{name: name, desired: max(current, 0), added: now, lastSeen: map[string]time.Time{}, every: map[string]time.Duration{}, starting: map[string]time.Time{}, readyIDs: map[string]bool{}}
		c.services[name] = s
		c.names = append(c.names, name)
		c.sorted = false
	}
	span := p.longestWindow()
	old := s.windows
	s.windows = make([]*window, len(p.Metrics))
	for i, m := range p.Metrics {
		for j, om := range s.policy.Metrics {
			if om.Name == m.Name && j < len(old) {
				s.windows[i] = old[j].grow(span)
			}
		}
		if s.windows[i] == nil {
			s.windows[i] = newWindow(span)
		}
	}
	s.policy = p
	s.floorUntil = time.Time{}
	return nil
}

// Remove forgets a service.
func (c *Core) Remove(name string) {
	if _, ok := c.services[name]; !ok {
		return
	}
	delete(c.services, name)
	c.names = slices.DeleteFunc(c.names, func(n string) bool { return n == name })
}

// Desired returns the service's current desired count.
func (c *Core) Desired(name string) (int, bool) {
	s := c.services[name]
	if s == nil {
		return 0, false
	}
	return s.desired, true
}

// SetInstances replaces what the core knows of the service's instances.
// Starting instances that have become ready since the last call give the
// core the service's start time.
func (c *Core) SetInstances(name string, list []Instance, now time.Time) {
	s := c.services[name]
	if s == nil {
		return
	}
	s.ready, s.unhealthy, s.draining = 0, 0, 0
	starting := make(map[string]time.Time, len(s.starting))
	clear(s.readyIDs)
	known := make(map[string]bool, len(list))
	for _, in := range list {
		known[in.ID] = true
		switch in.State {
		case Starting:
			starting[in.ID] = in.Since
		case Ready:
			s.ready++
			s.readyIDs[in.ID] = true
			if created, was := s.starting[in.ID]; was {
				took := in.Since.Sub(created)
				if in.Since.IsZero() {
					took = now.Sub(created)
				}
				if took > 0 {
					s.startTimes = append(s.startTimes, took)
					if len(s.startTimes) > 8 {
						s.startTimes = s.startTimes[1:]
					}
				}
			}
		case Unhealthy:
			s.unhealthy++
		case Draining:
			s.draining++
		}
	}
	s.starting = starting
	for id := range s.lastSeen {
		if !known[id] {
			delete(s.lastSeen, id)
			delete(s.every, id)
		}
	}
}

// startTime is the slowest of the service's last measured starts.
func (c *Core) startTime(s *service) time.Duration {
	if len(s.startTimes) == 0 {
		return c.opts.StartTime
	}
	return slices.Max(s.startTimes)
}

// ObserveSignal feeds one router signal received at now (its Time is
// used when set).
func (c *Core) ObserveSignal(sig Signal, now time.Time) {
	s := c.services[sig.Service]
	if s == nil {
		return
	}
	at := sig.Time
	if at.IsZero() {
		at = now
	}
	c.touch(s, at)
	for _, w := range s.windows {
		w.mark(at, sig.Period())
	}
	for _, in := range sig.Instances {
		s.lastSeen[in.ID] = at
		s.every[in.ID] = sig.Period()
	}
	for _, smp := range sig.Samples() {
		c.observe(s, smp, at)
	}
}

// Observe feeds one sample whose period ended at.
func (c *Core) Observe(name string, smp Sample, at time.Time) {
	s := c.services[name]
	if s == nil {
		return
	}
	c.touch(s, at)
	if smp.Instance != "" {
		s.lastSeen[smp.Instance] = at
		s.every[smp.Instance] = smp.Period
	}
	c.observe(s, smp, at)
}

func (c *Core) touch(s *service, at time.Time) {
	if s.dataSince.IsZero() {
		s.dataSince = at
	}
	if at.After(s.lastSignal) {
		s.lastSignal = at
	}
}

func (c *Core) observe(s *service, smp Sample, at time.Time) {
	p := smp.Period
	if p <= 0 {
		p = DefaultSignalPeriod
	}
	for i, m := range s.policy.Metrics {
		if m.Name == smp.Metric {
			s.windows[i].add(at, smp.Value, p)
			return
		}
	}
}

// Tick decides every service at now and returns the scale events of the
// services whose desired count changed (or that went into fallback),
// ordered by service name.
func (c *Core) Tick(now time.Time) []ScaleEvent {
	if !c.sorted {
		sort.Strings(c.names)
		c.sorted = true
	}
	var out []ScaleEvent
	for _, name := range c.names {
		if e, ok := c.decide(c.services[name], now); ok {
			out = append(out, e)
		}
	}
	return out
}
