package autoscaler

import (
	"math"
	"time"
)

// Emulations of the anchors' default algorithms, for the simulator's
// baselines. They see the same per-second buckets as swell's core and the
// same target, utilization, bounds and windows of the service's policy;
// the rest is each one's documented default.

// SimulateKPA replays the trace through an emulation of Knative's KPA
// defaults: a 2 s tick, desired = ceil(average / (target × utilization))
// over the stable window, panic when the panic window wants panicThreshold
// times the ready pods, in panic never below the most it wanted, panic
// left a stable window after the last tick over the threshold; scale up
// at most ×1000 and down at most ÷2 the ready pods per tick.
func SimulateKPA(tr Trace, o SimOptions) (SimResult, error) {
	if err := o.defaults(); err != nil {
		return SimResult{}, err
	}
	m := &kpa{p: o.Policy, w: newWindow(o.Policy.StableWindow)}
	return run(tr, o, m, func(time.Time, int) error { return nil })
}

type kpa struct {
	p            Policy
	w            *window
	panicTime    time.Time
	maxPanicPods int
}

func (k *kpa) interval() time.Duration { return 2 * time.Second }

func (k *kpa) feed(now time.Time, period time.Duration, demand float64, _ []string) {
	k.w.add(now, demand, period)
}

func (k *kpa) tick(now time.Time, instances []Instance) int {
	p := &k.p
	per := p.Metrics[0].Target * p.TargetUtilization
	end := secondOf(now)
	stable, _ := k.w.avg(end-int64(p.StableWindow/time.Second), end)
	panicAvg, _ := k.w.avg(end-int64(p.PanicWindow/time.Second), end)
	ready := 0
	for _, in := range instances {
		if in.State == Ready {
			ready++
		}
	}
	readyPods := math.Max(1, float64(ready))
	dspc := math.Ceil(stable / per)
	dppc := math.Ceil(panicAvg / per)
	maxUp := math.Ceil(1000 * readyPods)
	maxDown := math.Floor(readyPods / 2)
	dspc = math.Min(math.Max(dspc, maxDown), maxUp)
	dppc = math.Min(math.Max(dppc, maxDown), maxUp)
	over := dppc/readyPods >= p.PanicThreshold
	switch {
	case over && k.panicTime.IsZero():
		k.panicTime = now
		k.maxPanicPods = ready
	case over:
		k.panicTime = now
	case !k.panicTime.IsZero() && now.Sub(k.panicTime) > p.StableWindow:
		k.panicTime = time.Time{}
		k.maxPanicPods = 0
	}
	want := int(dspc)
	if !k.panicTime.IsZero() {
		k.maxPanicPods = max(k.maxPanicPods, int(dppc))
		want = k.maxPanicPods
	}
	return min(max(want, p.Min), p.Max)
}

// SimulateHPA replays the trace through an emulation of the Kubernetes
// HPA defaults: a 15 s sync on the average of the last 15 s, 10 %
// tolerance, scale-down to the highest recommendation of the last 300 s,
// scale-up at most max(+100 %, +4 pods) per 15 s.
func SimulateHPA(tr Trace, o SimOptions) (SimResult, error) {
	if err := o.defaults(); err != nil {
		return SimResult{}, err
	}
	m := &hpa{p: o.Policy, w: newWindow(time.Minute)}
	return run(tr, o, m, func(_ time.Time, initial int) error { m.current = initial; return nil })
}

type hpa struct {
	p       Policy
	w       *window
	current int
	recs    []timed
	ups     []change
}

func (h *hpa) interval() time.Duration { return 15 * time.Second }

func (h *hpa) feed(now time.Time, period time.Duration, demand float64, _ []string) {
	h.w.add(now, demand, period)
}

func (h *hpa) tick(now time.Time, _ []Instance) int {
	p := &h.p
	per := p.Metrics[0].Target * p.TargetUtilization
	end := secondOf(now)
	avg, _ := h.w.avg(end-15, end)
	cur := h.current
	rec := cur
	if cur == 0 {
		rec = ceilInstances(avg / per)
	} else if ratio := avg / (float64(cur) * per); math.Abs(ratio-1) > 0.1 {
		rec = ceilInstances(avg / per)
	}
	h.recs = appendTimed(h.recs, now, float64(rec), 300*time.Second)
	want := rec
	if rec < cur {
		want = min(cur, int(maxTimed(h.recs)))
	}
	if want > cur {
		added := 0
		for _, ch := range h.ups {
			if now.Sub(ch.t) < 15*time.Second {
				added += ch.delta
			}
		}
		start := cur - added
		want = min(want, max(2*start, start+4))
	}
	want = min(max(want, max(p.Min, 1)), p.Max)
	if want > cur {
		h.ups = append(h.ups, change{t: now, delta: want - cur})
	}
	h.current = want
	return want
}
