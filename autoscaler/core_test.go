package autoscaler

import (
	"fmt"
	"testing"
	"time"
)

// rig drives one service through a Core over a fake clock: a router that
// spreads load evenly over ready instances and signals every 250 ms, and
// a tick at every whole second.
type rig struct {
	t   *testing.T
	c   *Core
	now time.Time
	// ready, starting, unhealthy are the instance ids the scheduler reports.
	ready, starting, unhealthy []string
	since                      map[string]time.Time
	// silent instances are ready but send no samples.
	silent map[string]bool
	seq    int
	events []ScaleEvent
}

const svc = "/shop/web"

// monday8 is a Monday, 08:00 UTC.
var monday8 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

func newRig(t *testing.T, p Policy, ready int, start time.Time) *rig {
	t.Helper()
	c, err := NewCore(Options{StartTime: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, c: c, now: start, since: map[string]time.Time{}, silent: map[string]bool{}}
	for range ready {
		r.ready = append(r.ready, r.id())
	}
	if err := c.SetPolicy(svc, p, ready, start); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) id() string {
	r.seq++
	id := fmt.Sprintf("web-%d", r.seq)
	r.since[id] = r.now
	return id
}

func (r *rig) instances() []Instance {
	var out []Instance
	for _, id := range r.ready {
		out = append(out, Instance{ID: id, State: Ready, Since: r.since[id]})
	}
	for _, id := range r.starting {
		out = append(out, Instance{ID: id, State: Starting, Since: r.since[id]})
	}
	for _, id := range r.unhealthy {
		out = append(out, Instance{ID: id, State: Unhealthy, Since: r.since[id]})
	}
	return out
}

// run offers load (total concurrency) for n seconds, ticking at the end of
// every second, and returns the events of those ticks. Requests in flight
// to unhealthy instances are part of the load: one share each.
func (r *rig) run(load float64, n int) []ScaleEvent {
	r.t.Helper()
	var evs []ScaleEvent
	for range n {
		for range 4 {
			r.now = r.now.Add(DefaultSignalPeriod)
			sig := Signal{Service: svc, Node: "n1", Time: r.now, PeriodMS: 250}
			targets := append(append([]string(nil), r.ready...), r.unhealthy...)
			if len(targets) == 0 {
				sig.Queued = load
			}
			for _, id := range targets {
				if r.silent[id] {
					continue
				}
				sig.Instances = append(sig.Instances, InstanceSignal{ID: id, InFlight: load / float64(len(targets))})
			}
			r.c.ObserveSignal(sig, r.now)
		}
		evs = append(evs, r.tick()...)
	}
	r.events = append(r.events, evs...)
	return evs
}

// quiet lets n seconds pass with no signal at all.
func (r *rig) quiet(n int) []ScaleEvent {
	var evs []ScaleEvent
	for range n {
		r.now = r.now.Add(time.Second)
		evs = append(evs, r.tick()...)
	}
	r.events = append(r.events, evs...)
	return evs
}

func (r *rig) tick() []ScaleEvent {
	r.c.SetInstances(svc, r.instances(), r.now)
	return r.c.Tick(r.now)
}

// converge makes the instances match the desired count at once.
func (r *rig) converge() {
	d := r.desired()
	for len(r.ready) < d {
		r.ready = append(r.ready, r.id())
	}
	if len(r.ready) > d {
		r.ready = r.ready[:d]
	}
}

func (r *rig) desired() int {
	d, ok := r.c.Desired(svc)
	if !ok {
		r.t.Fatal("service unknown to the core")
	}
	return d
}

func last(t *testing.T, evs []ScaleEvent) ScaleEvent {
	t.Helper()
	if len(evs) == 0 {
		t.Fatal("no scale event")
	}
	return evs[len(evs)-1]
}

// warm runs load long enough to fill every window and pass the restart
// hold, converging instances as it goes.
func (r *rig) warm(load float64) {
	for range 70 {
		r.run(load, 1)
		r.converge()
	}
	r.events = nil
}

// sharp makes the short window one second and scale-down unstabilized, so
// a rule's effect shows at one tick instead of as a window fills.
func sharp(p *Policy) {
	p.PanicWindow = time.Second
	p.ScaleDown.Stabilization = 0
}

func policy(mut ...func(*Policy)) Policy {
	p := DefaultPolicy(10, 1, 100)
	for _, m := range mut {
		m(&p)
	}
	return p
}

func TestFormulaAndTolerance(t *testing.T) {
	tests := []struct {
		name   string
		load   float64
		want   int
		change bool
	}{
		{"planned load holds", 70, 10, false},
		{"up within the 20% up tolerance holds", 83, 10, false},
		{"up past the tolerance goes to ceil(load/7)", 100, 15, true},
		{"down within the tolerance holds", 64, 10, false},
		{"down past the tolerance goes to ceil(load/7)", 40, 6, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, policy(sharp), 10, monday8)
			r.warm(70)
			if d := r.desired(); d != 10 {
				t.Fatalf("after warm-up desired %d, want 10", d)
			}
			evs := r.run(tc.load, 30)
			if got := r.desired(); got != tc.want {
				t.Fatalf("desired %d, want %d (events %+v)", got, tc.want, evs)
			}
			if tc.change {
				if len(evs) != 1 {
					t.Fatalf("events %+v, want one", evs)
				}
				e := evs[0]
				if e.Mode != ModeStable || e.Formula != tc.want || e.Limiter != LimitNone || e.From != 10 || e.To != tc.want {
					t.Errorf("event %+v", e)
				}
			} else if len(evs) > 0 {
				t.Errorf("events %+v, want none", evs)
			}
		})
	}
}

func TestStepIsSeenOneTickLaterInPanic(t *testing.T) {
	r := newRig(t, policy(), 2, monday8)
	r.warm(10)
	evs := r.run(30, 1)
	e := last(t, evs)
	if e.Mode != ModePanic || e.From != 2 || e.To != 5 || e.Formula != 5 {
		t.Fatalf("first tick after the step: %+v, want panic 2 → 5", e)
	}
	if e.ObservedPanic <= 10 || e.Ready != 2 {
		t.Errorf("observed panic %g, ready %d", e.ObservedPanic, e.Ready)
	}
}

func TestPanicNeverScalesDownAndEndsAfterAStableWindow(t *testing.T) {
	r := newRig(t, policy(), 2, monday8)
	r.warm(10)
	r.run(60, 1) // burst: panic, up to 9
	if d := r.desired(); d != 9 {
		t.Fatalf("desired %d after the burst, want 9", d)
	}
	r.converge()
	r.run(60, 4)
	// The burst ends; panic lasts a stable window (60 s) after the last
	// tick over the threshold.
	for i := range 54 {
		if evs := r.run(10, 1); len(evs) > 0 {
			t.Fatalf("second %d after the burst: %+v, want no change in panic", i+1, evs)
		}
	}
	st, _ := r.c.Status(svc)
	if st.Mode != ModePanic || st.Held != "panic" {
		t.Fatalf("status %+v, want panic holding", st)
	}
	evs := r.run(10, 15)
	e := last(t, evs)
	if e.Mode != ModeStable || e.To >= 9 {
		t.Fatalf("after panic: %+v, want a stable scale-down", e)
	}
}

func TestRateLimits(t *testing.T) {
	t.Run("maxRate up is a factor of ready plus coming capacity", func(t *testing.T) {
		r := newRig(t, policy(func(p *Policy) { p.ScaleUp.MaxRate = 2 }), 2, monday8)
		r.warm(10)
		e := last(t, r.run(100, 1))
		if e.To != 4 || e.Formula != 15 || e.Limiter != LimitRate {
			t.Fatalf("%+v, want 2 → 4 limited by rate", e)
		}
		// Two more are starting (coming capacity): base 4, limit 8.
		r.starting = []string{r.id(), r.id()}
		e = last(t, r.run(100, 1))
		if e.From != 4 || e.To != 8 || e.Limiter != LimitRate {
			t.Fatalf("%+v, want 4 → 8 limited by rate", e)
		}
	})
	t.Run("maxRate down divides the count", func(t *testing.T) {
		r := newRig(t, policy(sharp), 16, monday8)
		r.warm(112)
		e := r.run(10, 1)[0]
		if e.From != 16 || e.To != 8 || e.Limiter != LimitRate {
			t.Fatalf("%+v, want 16 → 8 limited by rate", e)
		}
	})
	t.Run("Pods policy per period", func(t *testing.T) {
		r := newRig(t, policy(func(p *Policy) {
			p.ScaleUp.Policies = []RatePolicy{{Value: 2, Period: 30 * time.Second}}
		}), 2, monday8)
		r.warm(10)
		e := last(t, r.run(100, 1))
		if e.To != 4 || e.Limiter != LimitRate {
			t.Fatalf("%+v, want 2 → 4 limited by the Pods policy", e)
		}
		r.converge()
		if evs := r.run(100, 28); len(evs) > 0 {
			t.Fatalf("within the period: %+v", evs)
		}
		e = last(t, r.run(100, 2))
		if e.From != 4 || e.To != 6 {
			t.Fatalf("next period: %+v, want 4 → 6", e)
		}
	})
	t.Run("Percent policy down, the most permissive policy wins", func(t *testing.T) {
		r := newRig(t, policy(sharp, func(p *Policy) {
			p.ScaleDown.Policies = []RatePolicy{{Percent: true, Value: 10, Period: time.Minute}, {Value: 3, Period: time.Minute}}
		}), 20, monday8)
		r.warm(140)
		e := r.run(10, 1)[0]
		if e.From != 20 || e.To != 17 || e.Limiter != LimitRate {
			t.Fatalf("%+v, want 20 → 17 (3 pods beats 10%%)", e)
		}
	})
}

func TestStabilization(t *testing.T) {
	t.Run("a dip shorter than the down window does not scale down", func(t *testing.T) {
		r := newRig(t, policy(func(p *Policy) { p.ScaleDown.Stabilization = 30 * time.Second }), 10, monday8)
		r.warm(70)
		if evs := r.run(20, 20); len(evs) > 0 {
			t.Fatalf("%+v", evs)
		}
		r.run(70, 10)
		if evs := r.run(70, 40); len(evs) > 0 {
			t.Fatalf("%+v", evs)
		}
	})
	t.Run("down goes no lower than the window's highest demand", func(t *testing.T) {
		r := newRig(t, policy(sharp, func(p *Policy) { p.ScaleDown.Stabilization = 30 * time.Second }), 10, monday8)
		r.warm(70)
		if evs := r.run(35, 15); len(evs) > 0 { // 5 instances' worth, but 70 is in the window
			t.Fatalf("%+v", evs)
		}
		evs := r.run(14, 20)
		e := evs[0]
		if e.To != 5 || e.Formula != 2 || e.Limiter != LimitStabilization {
			t.Fatalf("%+v, want 10 → 5 limited by stabilization", e)
		}
	})
	t.Run("up goes no higher than the window's lowest demand", func(t *testing.T) {
		r := newRig(t, policy(sharp, func(p *Policy) { p.ScaleUp.Stabilization = 20 * time.Second; p.PanicThreshold = 100 }), 10, monday8)
		r.warm(70)
		if evs := r.run(140, 19); len(evs) != 0 {
			t.Fatalf("%+v, want nothing before the window agrees", evs)
		}
		e := last(t, r.run(140, 1))
		if e.To != 20 {
			t.Fatalf("%+v, want 20 once the window agrees", e)
		}
	})
}

func TestBounds(t *testing.T) {
	t.Run("max", func(t *testing.T) {
		r := newRig(t, policy(func(p *Policy) { p.Max = 6 }), 2, monday8)
		r.warm(10)
		e := last(t, r.run(100, 1))
		if e.To != 6 || e.Limiter != LimitMax {
			t.Fatalf("%+v, want max 6", e)
		}
	})
	t.Run("min", func(t *testing.T) {
		r := newRig(t, policy(sharp, func(p *Policy) { p.Min = 4; p.ScaleDown.MaxRate = 100 }), 10, monday8)
		r.warm(70)
		e := r.run(5, 1)[0]
		if e.To != 4 || e.Limiter != LimitMin {
			t.Fatalf("%+v, want min 4", e)
		}
	})
	t.Run("a count below min is raised at the first tick", func(t *testing.T) {
		r := newRig(t, policy(func(p *Policy) { p.Min = 3 }), 1, monday8)
		e := last(t, r.run(1, 1))
		if e.From != 1 || e.To != 3 || e.Limiter != LimitMin {
			t.Fatalf("%+v", e)
		}
	})
}

func TestScheduleFloor(t *testing.T) {
	c, err := ParseCron("0 8 * * 1-5")
	if err != nil {
		t.Fatal(err)
	}
	p := policy(func(p *Policy) { p.Schedule = []Floor{{Cron: c, Min: 10, For: time.Hour}} })
	start := monday8.Add(-2 * time.Minute)
	r := newRig(t, p, 2, start)
	r.warm(10) // 70 s: until 07:59:10
	if r.desired() != 2 {
		t.Fatalf("before 08:00 desired %d, want 2", r.desired())
	}
	evs := r.run(10, 60)
	e := last(t, evs)
	if e.To != 10 || e.Limiter != LimitSchedule || e.Time.Before(monday8) {
		t.Fatalf("%+v, want the floor of 10 from 08:00", e)
	}
	r.converge()
	r.now = monday8.Add(time.Hour - 30*time.Second)
	r.run(10, 10)
	if r.desired() != 10 {
		t.Fatalf("desired %d before 09:00, want 10", r.desired())
	}
	r.run(10, 40)
	if r.desired() >= 10 {
		t.Fatalf("desired %d after 09:00, want the floor gone", r.desired())
	}
}

func TestScaleDownDelay(t *testing.T) {
	r := newRig(t, policy(sharp, func(p *Policy) { p.ScaleDownDelay = 100 * time.Second }), 2, monday8)
	r.warm(10)
	up := last(t, r.run(30, 1)) // panic: 2 → 5
	r.converge()
	// Panic ends 60 s after the burst; the delay holds until 100 s.
	for range 98 {
		if evs := r.run(10, 1); len(evs) > 0 {
			t.Fatalf("%s after the scale-up: %+v, want none within the delay", r.now.Sub(up.Time), evs)
		}
	}
	st, _ := r.c.Status(svc)
	if st.Held != "delay" {
		t.Errorf("held %q, want delay", st.Held)
	}
	e := last(t, r.run(10, 3))
	if e.To >= e.From || e.Time.Sub(up.Time) < 100*time.Second {
		t.Fatalf("%+v, want a scale-down 100 s after the scale-up", e)
	}
}

func TestScaleToZero(t *testing.T) {
	zero := func(enabled bool) Policy {
		return policy(func(p *Policy) { p.Min = 0; p.ScaleToZero = enabled; p.ZeroGrace = 30 * time.Second })
	}
	t.Run("after the grace period", func(t *testing.T) {
		r := newRig(t, zero(true), 2, monday8)
		r.warm(10)
		evs := r.run(0, 20)
		if r.desired() != 1 {
			t.Fatalf("desired %d within grace, want 1 (%+v)", r.desired(), evs)
		}
		e := last(t, r.run(0, 15))
		if e.To != 0 {
			t.Fatalf("%+v, want 0 after grace", e)
		}
		r.converge()
		// From zero: the router queues; one tick later the count is up.
		e = last(t, r.run(20, 1))
		if e.From != 0 || e.To != 3 || e.Mode != ModePanic {
			t.Fatalf("%+v, want 0 → 3 in panic", e)
		}
	})
	t.Run("disabled stays at one", func(t *testing.T) {
		r := newRig(t, zero(false), 2, monday8)
		r.warm(10)
		r.run(0, 120)
		if r.desired() != 1 {
			t.Fatalf("desired %d, want 1", r.desired())
		}
	})
}

func TestFallback(t *testing.T) {
	t.Run("hold", func(t *testing.T) {
		r := newRig(t, policy(), 5, monday8)
		r.warm(35)
		if evs := r.quiet(29); len(evs) > 0 {
			t.Fatalf("%+v before fallback.after", evs)
		}
		e := last(t, r.quiet(1))
		if e.Limiter != LimitFallback || e.From != 5 || e.To != 5 {
			t.Fatalf("%+v, want a fallback event holding 5", e)
		}
		if evs := r.quiet(30); len(evs) > 0 {
			t.Fatalf("%+v: one event per fallback", evs)
		}
	})
	t.Run("replicas", func(t *testing.T) {
		n := 8
		r := newRig(t, policy(func(p *Policy) { p.Fallback.Replicas = &n }), 5, monday8)
		r.warm(35)
		e := last(t, r.quiet(30))
		if e.Limiter != LimitFallback || e.To != 8 {
			t.Fatalf("%+v, want fallback to 8", e)
		}
	})
	t.Run("signals back: hold scale-down for a stable window", func(t *testing.T) {
		r := newRig(t, policy(), 5, monday8)
		r.warm(35)
		r.quiet(40)
		if evs := r.run(7, 55); len(evs) > 0 {
			t.Fatalf("%+v, want a hold after signals came back", evs)
		}
		if e := r.run(7, 10)[0]; e.From != 5 || e.To != 2 || e.Limiter != LimitRate {
			t.Fatalf("%+v, want 5 → 2 (rate) once the window filled", e)
		}
	})
}

func TestRestartHoldsUntilTheStableWindowFilled(t *testing.T) {
	// A fresh core (a restarted leader) with the service at 10 and low load.
	r := newRig(t, policy(), 10, monday8)
	for i := range 59 {
		if evs := r.run(7, 1); len(evs) > 0 {
			t.Fatalf("second %d: %+v, want a hold", i, evs)
		}
	}
	st, _ := r.c.Status(svc)
	if st.Held != "restart" {
		t.Fatalf("held %q, want restart", st.Held)
	}
	if e := r.run(7, 3)[0]; e.To != 5 {
		t.Fatalf("%+v, want 10 → 5 (rate) after the window", e)
	}
	// Scaling up is never held.
	r2 := newRig(t, policy(), 2, monday8)
	if e := last(t, r2.run(40, 1)); e.To != 6 {
		t.Fatalf("%+v, want an immediate scale-up", e)
	}
}

func TestHealth(t *testing.T) {
	t.Run("unhealthy in-flight is demand, not capacity", func(t *testing.T) {
		r := newRig(t, policy(), 4, monday8)
		r.warm(28)
		// Two of the four turn unhealthy; their requests are still demand,
		// the two left are the only capacity.
		r.unhealthy = r.ready[2:]
		r.ready = r.ready[:2]
		if evs := r.run(28, 10); len(evs) > 0 {
			t.Fatalf("%+v: the demand did not change", evs)
		}
		st, _ := r.c.Status(svc)
		if st.Ready != 2 || st.ObservedPanic < 27.9 {
			t.Fatalf("status %+v", st)
		}
		// Load that is 2× the ready capacity (2 × 7) is a burst.
		e := last(t, r.run(40, 1))
		if e.Mode != ModePanic || e.To != 6 {
			t.Fatalf("%+v, want panic to 6", e)
		}
	})
	t.Run("starting instances are coming capacity up to the start time", func(t *testing.T) {
		r := newRig(t, policy(func(p *Policy) { p.ScaleUp.MaxRate = 2 }), 2, monday8)
		r.warm(14)
		r.starting = []string{r.id(), r.id()}
		st := func() Status { s, _ := r.c.Status(svc); return s }
		r.run(14, 1)
		if st().Coming != 2 {
			t.Fatalf("coming %d, want 2", st().Coming)
		}
		r.run(14, 10) // 11 s: past the 10 s start time assumed
		if st().Coming != 0 {
			t.Fatalf("coming %d past the start time, want 0", st().Coming)
		}
		// A new one becomes ready 3 s after it was created: the measured
		// start time is now 3 s, and starting instances count for 3 s.
		r.starting = []string{r.id()}
		r.run(14, 3)
		r.ready = append(r.ready, r.starting...)
		r.since[r.starting[0]] = r.now
		r.starting = []string{r.id()}
		r.run(14, 1)
		if got := r.c.startTime(r.c.services[svc]); got != 3*time.Second {
			t.Fatalf("measured start time %s, want 3s", got)
		}
		r.run(14, 2)
		if st().Coming != 1 {
			t.Fatalf("coming %d at 3 s, want 1", st().Coming)
		}
		r.run(14, 1)
		if st().Coming != 0 {
			t.Fatalf("coming %d at 4 s, want 0 (measured start time 3 s)", st().Coming)
		}
	})
}

func TestMissingSamples(t *testing.T) {
	// Some ready instances send no samples.
	t.Run("scaling up counts them as zero", func(t *testing.T) {
		r := newRig(t, policy(sharp), 4, monday8)
		r.warm(28)
		r.silent[r.ready[2]], r.silent[r.ready[3]] = true, true
		// The two reporters carry 36: 36/7 = 5.1 instances with the silent
		// at zero (at target it would be 7.1).
		e := last(t, r.run(72, 10))
		if e.To != 6 {
			t.Fatalf("%+v, want 6", e)
		}
	})
	t.Run("scaling down counts them at target", func(t *testing.T) {
		r := newRig(t, policy(sharp, func(p *Policy) { p.ScaleDown.MaxRate = 100 }), 6, monday8)
		r.warm(42)
		r.silent[r.ready[4]], r.silent[r.ready[5]] = true, true
		// The four reporters carry 7: without the rule 7/7 = 1 instance;
		// with it 1 + 2 missing = 3 instances' worth.
		e := last(t, r.run(10.5, 30))
		if e.To != 3 {
			t.Fatalf("%+v, want 3", e)
		}
		st, _ := r.c.Status(svc)
		if st.Missing != 2 {
			t.Errorf("missing %d, want 2", st.Missing)
		}
	})
}

func TestLargestMetricWins(t *testing.T) {
	p := policy(func(p *Policy) {
		p.Metrics = []MetricTarget{{Name: MetricConcurrency, Target: 10}, {Name: MetricRPS, Target: 100}}
	})
	r := newRig(t, p, 4, monday8)
	feed := func(conc, rps float64, n int) []ScaleEvent {
		var evs []ScaleEvent
		for range n {
			for range 4 {
				r.now = r.now.Add(DefaultSignalPeriod)
				sig := Signal{Service: svc, Node: "n1", Time: r.now}
				for _, id := range r.ready {
					sig.Instances = append(sig.Instances, InstanceSignal{ID: id, InFlight: conc / 4, RPS: rps / 4})
				}
				r.c.ObserveSignal(sig, r.now)
			}
			evs = append(evs, r.tick()...)
		}
		return evs
	}
	feed(28, 280, 70)
	// Concurrency still wants 4; rps wants ceil(560/70) = 8.
	e := last(t, feed(28, 560, 10))
	if e.To != 8 || e.Metric != MetricRPS {
		t.Fatalf("%+v, want rps to win with 8", e)
	}
}

func TestSetPolicyKeepsStateAndRemoveForgets(t *testing.T) {
	r := newRig(t, policy(), 10, monday8)
	r.warm(70)
	if err := r.c.SetPolicy(svc, policy(func(p *Policy) { p.Max = 8 }), 99, r.now); err != nil {
		t.Fatal(err)
	}
	e := last(t, r.run(70, 1))
	if e.From != 10 || e.To != 8 || e.Limiter != LimitMax {
		t.Fatalf("%+v, want 10 → 8 by the new max (current count kept)", e)
	}
	if err := r.c.SetPolicy(svc, Policy{}, 1, r.now); err == nil {
		t.Fatal("an invalid policy was accepted")
	}
	r.c.Remove(svc)
	if _, ok := r.c.Desired(svc); ok {
		t.Fatal("removed service still known")
	}
	if evs := r.c.Tick(r.now); len(evs) > 0 {
		t.Fatalf("%+v", evs)
	}
}

// TestSamplesOfTenSeconds: CPU comes from the collector every 10 s; each
// sample counts for every second it covers, and an instance is not
// missing between two of them.
func TestSamplesOfTenSeconds(t *testing.T) {
	p := policy(func(p *Policy) {
		p.Metrics = []MetricTarget{{Name: MetricCPU, Target: 50}} // percent per instance
		p.TargetUtilization = 1
	})
	r := newRig(t, p, 2, monday8)
	feed := func(cpu float64, n int) []ScaleEvent {
		var evs []ScaleEvent
		for i := range n {
			r.now = r.now.Add(time.Second)
			if i%10 == 9 {
				for _, id := range r.ready {
					r.c.Observe(svc, Sample{Instance: id, Node: "n1", Metric: MetricCPU, Value: cpu, Period: 10 * time.Second}, r.now)
				}
			}
			evs = append(evs, r.tick()...)
		}
		return evs
	}
	feed(40, 120) // 2 × 40 % = 80 %: 2 instances of 50 %
	if d := r.desired(); d != 2 {
		t.Fatalf("desired %d at 80 %% over 2 instances, want 2", d)
	}
	if st, _ := r.c.Status(svc); st.Missing != 0 || st.ObservedStable < 79 || st.ObservedStable > 81 {
		t.Errorf("status %+v: want nobody missing between samples and 80 %% observed (not 10 × 80)", st)
	}
	e := last(t, feed(100, 30)) // 200 %: 4 instances
	if e.To != 4 || e.Metric != MetricCPU {
		t.Fatalf("%+v, want 4 on cpu", e)
	}
}
