package autoscaler

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Trace is offered demand: Demand[i] concurrent requests during second i.
type Trace struct {
	Name   string
	Demand []float64
}

// ReadTrace reads a trace CSV: the header "t,concurrency", then one row
// per second, t counting from 0 without gaps.
func ReadTrace(r io.Reader, name string) (Trace, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 2
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return Trace{}, fmt.Errorf("%s: empty: want the header t,concurrency", name)
	}
	if err != nil {
		return Trace{}, fmt.Errorf("%s: %w", name, err)
	}
	if strings.TrimSpace(head[0]) != "t" || strings.TrimSpace(head[1]) != "concurrency" {
		return Trace{}, fmt.Errorf("%s:1: header %q: want t,concurrency", name, strings.Join(head, ","))
	}
	tr := Trace{Name: name}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return Trace{}, fmt.Errorf("%s: %w", name, err)
		}
		t, err := strconv.Atoi(strings.TrimSpace(rec[0]))
		if err != nil || t != len(tr.Demand) {
			return Trace{}, fmt.Errorf("%s:%d: t %q: want %d (whole seconds from 0, one row each)", name, line, rec[0], len(tr.Demand))
		}
		d, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if err != nil || d < 0 || math.IsInf(d, 0) || math.IsNaN(d) {
			return Trace{}, fmt.Errorf("%s:%d: concurrency %q: want a number ≥ 0", name, line, rec[1])
		}
		tr.Demand = append(tr.Demand, d)
	}
	if len(tr.Demand) == 0 {
		return Trace{}, fmt.Errorf("%s: no rows after the header", name)
	}
	return tr, nil
}

// SimOptions describe one simulation.
type SimOptions struct {
	Policy Policy
	// StartDelay is how long a new instance takes to become ready
	// (default 2s).
	StartDelay time.Duration
	// Tick is the core's tick (default 1s).
	Tick time.Duration
	// Warmup runs the average of the trace's first 10 seconds this long
	// before second 0, so windows are full and the trace starts in a
	// steady state (default 300s, HPA's longest window). It is not counted.
	Warmup time.Duration
}

// SimResult is what a simulation measured over the trace.
type SimResult struct {
	Seconds int `json:"seconds"`
	// ReplicaSeconds sums the instances that exist (starting or ready)
	// each second.
	ReplicaSeconds float64 `json:"replica_seconds"`
	// OracleReplicaSeconds sums ceil(demand / (target × utilization)),
	// clamped to min and max: perfect foresight, instant start.
	OracleReplicaSeconds float64 `json:"oracle_replica_seconds"`
	// SLOViolationSeconds counts seconds whose demand exceeded ready
	// instances × target.
	SLOViolationSeconds int `json:"slo_violation_seconds"`
	// Flaps counts direction changes of the desired count.
	Flaps       int        `json:"flaps"`
	ScaleEvents int        `json:"scale_events"`
	Series      []SimPoint `json:"-"`
}

// SimPoint is one second of a simulation.
type SimPoint struct {
	T        int
	Demand   float64
	Ready    int
	Replicas int
	Desired  int
	Oracle   int
}

// model is a scaling algorithm driven by the simulator: swell's core or an
// emulation of another autoscaler.
type model interface {
	interval() time.Duration
	// feed is the router's view of one signal period ending at now.
	feed(now time.Time, period time.Duration, demand float64, ready []string)
	tick(now time.Time, instances []Instance) int
}

// simEpoch is second 0 of every simulation, a Monday at midnight UTC, so
// schedule floors are reproducible.
var simEpoch = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func (o *SimOptions) defaults() error {
	if err := o.Policy.Validate(); err != nil {
		return err
	}
	if o.StartDelay == 0 {
		o.StartDelay = 2 * time.Second
	}
	if o.Tick == 0 {
		o.Tick = time.Second
	}
	if o.Warmup == 0 {
		o.Warmup = 300 * time.Second
	}
	if o.StartDelay < 0 || o.Tick < 0 || o.Warmup < 0 || o.Tick%DefaultSignalPeriod != 0 {
		return fmt.Errorf("autoscaler: simulate: start delay, tick and warmup must be positive and the tick a multiple of %s", DefaultSignalPeriod)
	}
	return nil
}

// Simulate replays the trace through swell's core.
func Simulate(tr Trace, o SimOptions) (SimResult, error) {
	if err := o.defaults(); err != nil {
		return SimResult{}, err
	}
	core, err := NewCore(Options{})
	if err != nil {
		return SimResult{}, err
	}
	m := &coreModel{core: core, every: o.Tick, metric: o.Policy.Metrics[0].Name}
	return run(tr, o, m, func(start time.Time, initial int) error {
		return core.SetPolicy(simService, o.Policy, initial, start)
	})
}

const simService = "/sim"

type coreModel struct {
	core   *Core
	every  time.Duration
	metric string
}

func (m *coreModel) interval() time.Duration { return m.every }

func (m *coreModel) feed(now time.Time, period time.Duration, demand float64, ready []string) {
	sig := Signal{Service: simService, Node: "sim", Time: now, PeriodMS: int(period / time.Millisecond)}
	if len(ready) == 0 {
		sig.Queued = demand
	}
	for _, id := range ready {
		sig.Instances = append(sig.Instances, InstanceSignal{ID: id, InFlight: demand / float64(len(ready))})
	}
	if m.metric == MetricConcurrency {
		m.core.ObserveSignal(sig, now)
		return
	}
	// Other metrics: the trace is that metric's service total.
	if len(ready) == 0 {
		m.core.Observe(simService, Sample{Metric: m.metric, Value: demand, Period: period}, now)
	}
	for _, id := range ready {
		m.core.Observe(simService, Sample{Instance: id, Metric: m.metric, Value: demand / float64(len(ready)), Period: period}, now)
	}
}

func (m *coreModel) tick(now time.Time, instances []Instance) int {
	m.core.SetInstances(simService, instances, now)
	m.core.Tick(now)
	d, _ := m.core.Desired(simService)
	return d
}

// run is the simulator's world: instances that take StartDelay to become
// ready, a router that spreads demand evenly over ready instances and
// signals every 250 ms, and the model ticking at its interval.
func run(tr Trace, o SimOptions, m model, setup func(start time.Time, initial int) error) (SimResult, error) {
	p := o.Policy
	per := p.Metrics[0].Target * p.TargetUtilization
	oracle := func(d float64) int { return min(max(ceilInstances(d/per), p.Min), p.Max) }
	type inst struct {
		id      string
		created time.Time
		readyAt time.Time
	}
	warm := int(o.Warmup / time.Second)
	start := simEpoch.Add(-time.Duration(warm) * time.Second)
	var insts []inst
	seq := 0
	add := func(now, readyAt time.Time) {
		seq++
		insts = append(insts, inst{id: fmt.Sprintf("i%d", seq), created: now, readyAt: readyAt})
	}
	// The warm-up runs at the average of the first seconds, not at one
	// noisy sample, so every model starts from the trace's steady level.
	var warmLevel float64
	first := tr.Demand[:min(10, len(tr.Demand))]
	for _, d := range first {
		warmLevel += d / float64(len(first))
	}
	initial := oracle(warmLevel)
	for range initial {
		add(start, start)
	}
	if err := setup(start, initial); err != nil {
		return SimResult{}, err
	}
	demandAt := func(sec int) float64 {
		if sec < 0 {
			return warmLevel
		}
		return tr.Demand[sec]
	}
	const step = DefaultSignalPeriod
	perSec := int(time.Second / step)
	tickEvery := int(m.interval() / step)
	res := SimResult{Seconds: len(tr.Demand)}
	desired, lastDir := initial, 0
	total := (warm + len(tr.Demand)) * perSec
	for k := 1; k <= total; k++ {
		now := start.Add(time.Duration(k) * step)
		sec := (k-1)/perSec - warm // the second the period ending now belongs to
		var ready []string
		for _, in := range insts {
			if !in.readyAt.After(now) {
				ready = append(ready, in.id)
			}
		}
		m.feed(now, step, demandAt(sec), ready)
		if k%tickEvery == 0 {
			list := make([]Instance, 0, len(insts))
			for _, in := range insts {
				if in.readyAt.After(now) {
					list = append(list, Instance{ID: in.id, State: Starting, Since: in.created})
				} else {
					list = append(list, Instance{ID: in.id, State: Ready, Since: in.readyAt})
				}
			}
			want := m.tick(now, list)
			if want != desired && sec >= 0 {
				res.ScaleEvents++
				dir := 1
				if want < desired {
					dir = -1
				}
				if lastDir != 0 && dir != lastDir {
					res.Flaps++
				}
				lastDir = dir
			}
			desired = want
			for len(insts) < want {
				add(now, now.Add(o.StartDelay))
			}
			// Remove starting instances first, then the youngest ready ones.
			for len(insts) > want {
				victim := len(insts) - 1
				for i := len(insts) - 1; i >= 0; i-- {
					if insts[i].readyAt.After(now) {
						victim = i
						break
					}
				}
				insts = append(insts[:victim], insts[victim+1:]...)
			}
		}
		if k%perSec == 0 && sec+1 < len(tr.Demand) && sec+1 >= 0 {
			// Second sec+1 begins: count what serves it.
			t := sec + 1
			nReady := 0
			for _, in := range insts {
				if !in.readyAt.After(now) {
					nReady++
				}
			}
			d := tr.Demand[t]
			if d > float64(nReady)*p.Metrics[0].Target+1e-9 {
				res.SLOViolationSeconds++
			}
			res.ReplicaSeconds += float64(len(insts))
			res.OracleReplicaSeconds += float64(oracle(d))
			res.Series = append(res.Series, SimPoint{T: t, Demand: d, Ready: nReady, Replicas: len(insts), Desired: desired, Oracle: oracle(d)})
		}
	}
	return res, nil
}
