package autoscaler

import (
	"math"
	"time"
)

// Status is the latest tick's view of one service, changed or not: what
// `swell get services` and `swell explain` show.
type Status struct {
	Time     time.Time `json:"time"`
	Desired  int       `json:"desired"`
	Mode     Mode      `json:"mode"`
	Fallback bool      `json:"fallback,omitempty"`
	Metric   string    `json:"metric"`
	// Observed values are the winning metric's service totals.
	ObservedStable float64 `json:"observed_stable"`
	ObservedPanic  float64 `json:"observed_panic"`
	Ready          int     `json:"ready"`
	Starting       int     `json:"starting"`
	// Coming is how many starting instances still count as capacity.
	Coming  int     `json:"coming"`
	Missing int     `json:"missing"`
	Formula int     `json:"formula"`
	Limiter Limiter `json:"limiter,omitempty"`
	// Held says why the count did not move when the formula wanted it to
	// (tolerance, restart, delay, grace, panic), "" otherwise.
	Held string `json:"held,omitempty"`
}

// Status returns the latest tick's view of a service.
func (c *Core) Status(name string) (Status, bool) {
	s := c.services[name]
	if s == nil {
		return Status{}, false
	}
	return s.last, true
}

// demand is the service's load in instances: the metric's service total
// divided by what one instance is planned for (target × utilization).
type demand struct {
	metric   string
	scale    float64 // metric units per instance
	stable   float64 // stable-window average
	short    float64 // panic-window average
	newest   float64 // last complete second
	has      bool
	hasShort bool
}

// measure reads every metric's windows and keeps, per quantity, the
// largest demand: the metric that wants the most instances wins.
func (c *Core) measure(s *service, now time.Time) demand {
	end := secondOf(now)
	stableN := int64(s.policy.StableWindow / time.Second)
	panicN := int64(s.policy.PanicWindow / time.Second)
	var d demand
	for i, m := range s.policy.Metrics {
		w := s.windows[i]
		per := m.Target * s.policy.TargetUtilization
		st, ok := w.avg(end-stableN, end)
		if !ok {
			continue
		}
		sh, okShort := w.avg(end-panicN, end)
		nw, _ := w.avg(end-1, end)
		if !d.has || sh/per > d.short {
			d.metric, d.scale = m.Name, per
		}
		d.has = true
		d.hasShort = d.hasShort || okShort
		d.stable = math.Max(d.stable, st/per)
		d.short = math.Max(d.short, sh/per)
		d.newest = math.Max(d.newest, nw/per)
	}
	return d
}

func (c *Core) decide(s *service, now time.Time) (ScaleEvent, bool) {
	p := &s.policy
	from := s.desired
	st := Status{Time: now, Mode: ModeStable, Ready: s.ready, Starting: len(s.starting)}
	startTime := c.startTime(s)
	for _, created := range s.starting {
		if now.Sub(created) <= startTime {
			st.Coming++
		}
	}
	// Ready instances without a recent sample: counted at target when
	// scaling down and as zero when scaling up.
	for id := range s.readyIDs {
		if t, ok := s.lastSeen[id]; !ok || now.Sub(t) >= max(c.opts.MissingAfter, 2*s.every[id]) {
			st.Missing++
		}
	}

	// No signal at all for fallback.After: fallback.
	ref := s.lastSignal
	if ref.IsZero() {
		ref = s.added
	}
	if now.Sub(ref) >= p.Fallback.After {
		to := s.desired
		if p.Fallback.Replicas != nil {
			to = *p.Fallback.Replicas
		}
		to = min(max(to, p.Min), p.Max)
		entering := !s.fallback
		s.fallback = true
		s.panicking = false
		st.Fallback, st.Limiter, st.Desired = true, LimitFallback, to
		s.last = st
		if to == from && !entering {
			return ScaleEvent{}, false
		}
		return c.commit(s, st, from, to, now), true
	}
	if s.fallback {
		// Signals are back: hold scale-down until the stable window has
		// filled again, as after a restart.
		s.fallback = false
		s.dataSince = now
	}

	d := c.measure(s, now)
	st.Metric = d.metric
	st.ObservedStable, st.ObservedPanic = d.stable*d.scale, d.short*d.scale
	if d.newest > 0 || s.lastNonZero.IsZero() {
		s.lastNonZero = now
	}

	to := s.desired
	var limiter Limiter
	if d.hasShort {
		to, limiter = c.recommend(s, &st, d, now)
	}
	st.Limiter = limiter

	// Bounds: min (or the schedule's floor, when higher) and max. Zero
	// needs scale-to-zero and a service idle for its whole grace period.
	lo := p.Min
	if lo == 0 && from > 0 && (!p.ScaleToZero || now.Sub(s.lastNonZero) < p.ZeroGrace) {
		lo = 1
	}
	if fl := c.floor(s, now); fl > lo && to < fl {
		to, st.Limiter = fl, LimitSchedule
	}
	if to < lo {
		to, st.Limiter = lo, LimitMin
	}
	if to > p.Max {
		to, st.Limiter = p.Max, LimitMax
	}
	st.Desired = to
	s.last = st
	if to == from {
		return ScaleEvent{}, false
	}
	return c.commit(s, st, from, to, now), true
}

// recommend applies the formula for the mode and direction, then
// tolerance, stabilization, the scale-down gates and the rate limits.
func (c *Core) recommend(s *service, st *Status, d demand, now time.Time) (int, Limiter) {
	p := &s.policy
	from := s.desired
	// A burst: the panic window, or the newest second alone, wants
	// panicThreshold times the capacity that is ready or coming. The
	// newest second is what lets a step be seen one tick after it.
	capacity := float64(s.ready + st.Coming)
	over := func(v float64) bool { return v > 0 && v >= p.PanicThreshold*capacity }
	burst := d.short
	if over(d.newest) {
		burst = math.Max(burst, d.newest)
	}
	if over(burst) {
		s.panicking = true
		s.lastOver = now
	} else if s.panicking && now.Sub(s.lastOver) >= p.StableWindow {
		s.panicking = false
	}

	upDemand := d.short
	downDemand := d.short + float64(st.Missing)
	s.upHist = appendTimed(s.upHist, now, upDemand, p.ScaleUp.Stabilization)
	s.downHist = appendTimed(s.downHist, now, downDemand, p.ScaleDown.Stabilization)

	var to int
	limiter := LimitNone
	if s.panicking {
		// Panic: the short window and the newest second, never down.
		st.Mode = ModePanic
		st.Formula = ceilInstances(burst)
		if st.Formula <= from {
			st.Held = "panic"
			return from, LimitNone
		}
		// Up only past the tolerance, in panic too: at a load that sits
		// on a whole number of instances, the noise of the measurement
		// would otherwise order one more and take it back later.
		if burst <= float64(from)*(1+p.ScaleUp.Tolerance) {
			st.Held = "tolerance"
			return from, LimitNone
		}
		to = st.Formula
	} else {
		switch {
		case upDemand > float64(from)*(1+p.ScaleUp.Tolerance) && ceilInstances(upDemand) > from:
			// How far: the newest second when it is higher, so a step is
			// met in one move rather than as the window fills.
			st.Formula = ceilInstances(math.Max(upDemand, d.newest))
			to = st.Formula
			// Up no further than the lowest demand of the stabilization
			// window.
			if low := ceilInstances(minTimed(s.upHist)); low < to {
				to, limiter = max(low, from), LimitStabilization
			}
		case ceilInstances(downDemand*(1+p.ScaleDown.Tolerance)) < from:
			// Down only when even the demand plus the tolerance fits in
			// fewer instances, so the count it goes to is not one a little
			// noise takes back up.
			st.Formula = ceilInstances(downDemand)
			to = st.Formula
			// Down no further than the highest demand of the stabilization
			// window.
			high := maxTimed(s.downHist)
			if ceilInstances(high*(1+p.ScaleDown.Tolerance)) >= from {
				st.Held = "stabilization"
				return from, LimitNone
			}
			if h := ceilInstances(high); h > to {
				to, limiter = h, LimitStabilization
			}
			switch {
			case now.Sub(s.dataSince) < p.StableWindow:
				st.Held = "restart" // the stable window has not filled since signals began
				return from, LimitNone
			case !s.lastUp.IsZero() && now.Sub(s.lastUp) < p.ScaleDownDelay:
				st.Held = "delay"
				return from, LimitNone
			}
		default:
			st.Formula = ceilInstances(d.short)
			if st.Formula != from {
				st.Held = "tolerance"
			}
			return from, LimitNone
		}
	}

	// Rate limits: maxRate against the capacity that exists or is coming
	// (up) and the current count (down), then the HPA-style policies.
	if to > from {
		base := max(1, s.ready+st.Coming)
		if lim := int(math.Ceil(p.ScaleUp.MaxRate * float64(base))); to > lim {
			to, limiter = max(lim, from), LimitRate
		}
		if lim, ok := policyLimit(p.ScaleUp.Policies, s.changes, from, now, true); ok && to > lim {
			to, limiter = max(lim, from), LimitRate
		}
	} else if to < from {
		if lim := int(math.Floor(float64(from) / p.ScaleDown.MaxRate)); to < lim {
			to, limiter = min(lim, from), LimitRate
		}
		if lim, ok := policyLimit(p.ScaleDown.Policies, s.changes, from, now, false); ok && to < lim {
			to, limiter = min(lim, from), LimitRate
		}
	}
	return to, limiter
}

// policyLimit is the most permissive limit of HPA-style policies: the
// count at the start of each policy's period, plus (or minus) its Pods or
// Percent.
func policyLimit(pols []RatePolicy, changes []change, current int, now time.Time, up bool) (int, bool) {
	if len(pols) == 0 {
		return 0, false
	}
	best := 0
	for i, pol := range pols {
		moved := 0
		for _, ch := range changes {
			if now.Sub(ch.t) < pol.Period && (ch.delta > 0) == up {
				moved += ch.delta
			}
		}
		start := current - moved
		var lim int
		switch {
		case up && pol.Percent:
			lim = int(math.Ceil(float64(start) * (1 + float64(pol.Value)/100)))
		case up:
			lim = start + pol.Value
		case pol.Percent:
			lim = int(math.Ceil(float64(start) * (1 - float64(pol.Value)/100)))
		default:
			lim = start - pol.Value
		}
		if i == 0 || (up && lim > best) || (!up && lim < best) {
			best = lim
		}
	}
	return max(best, 0), true
}

// floor is the highest schedule floor holding at now.
func (c *Core) floor(s *service, now time.Time) int {
	if len(s.policy.Schedule) == 0 {
		return 0
	}
	if now.Before(s.floorUntil) {
		return s.floorMin
	}
	fm := 0
	until := now.Add(time.Hour)
	for _, f := range s.policy.Schedule {
		active, u := floorAt(f, now)
		if active && f.Min > fm {
			fm = f.Min
		}
		until = minTime(until, u)
	}
	s.floorMin, s.floorUntil = fm, until
	return fm
}

func (c *Core) commit(s *service, st Status, from, to int, now time.Time) ScaleEvent {
	s.desired = to
	if to > from {
		s.lastUp = now
	}
	keep := time.Duration(0)
	for _, pol := range append(s.policy.ScaleUp.Policies, s.policy.ScaleDown.Policies...) {
		keep = max(keep, pol.Period)
	}
	if keep > 0 {
		s.changes = append(s.changes, change{t: now, delta: to - from})
		i := 0
		for i < len(s.changes) && now.Sub(s.changes[i].t) >= keep {
			i++
		}
		s.changes = s.changes[i:]
	}
	return ScaleEvent{
		Time: now, Service: s.name, From: from, To: to, Mode: st.Mode,
		Metric: st.Metric, ObservedStable: round2(st.ObservedStable), ObservedPanic: round2(st.ObservedPanic),
		Ready: st.Ready, Starting: st.Starting, Formula: st.Formula, Limiter: st.Limiter, Priority: s.policy.Priority,
	}
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// ceilInstances rounds demand in instances up, forgiving float noise so
// 3.0000000001 is 3.
func ceilInstances(v float64) int {
	if v <= 0 {
		return 0
	}
	return int(math.Ceil(v - 1e-9))
}

// appendTimed adds v at now and drops what is older than keep.
func appendTimed(h []timed, now time.Time, v float64, keep time.Duration) []timed {
	h = append(h, timed{now, v})
	i := 0
	for i < len(h)-1 && now.Sub(h[i].t) >= keep {
		i++
	}
	if i > 0 {
		h = append(h[:0], h[i:]...)
	}
	return h
}

func minTimed(h []timed) float64 {
	m := math.Inf(1)
	for _, x := range h {
		m = math.Min(m, x.v)
	}
	return m
}

func maxTimed(h []timed) float64 {
	m := math.Inf(-1)
	for _, x := range h {
		m = math.Max(m, x.v)
	}
	return m
}
