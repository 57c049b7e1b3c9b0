package autoscaler

import (
	"errors"
	"fmt"
	"time"

	"github.com/swell-pipeline/swell/spec"
)

// Metrics the core can scale on. Each is a per-instance quantity whose
// service total the signals carry.
const (
	MetricConcurrency = spec.MetricConcurrency
	MetricRPS         = spec.MetricRPS
	MetricCPU         = spec.MetricCPU
	MetricConnections = spec.MetricConnections
)

// Policy is one service's scale policy in the core's terms: durations are
// time.Duration, crons are parsed. Build it with DefaultPolicy and change
// fields, or with PolicyFromSpec.
type Policy struct {
	// Metrics are scaled on together; the largest recommendation wins.
	Metrics []MetricTarget
	// TargetUtilization is the share of each metric's Target aimed at: one
	// instance is planned for Target×TargetUtilization.
	TargetUtilization float64
	Min, Max          int
	StableWindow      time.Duration
	PanicWindow       time.Duration
	PanicThreshold    float64
	ScaleUp           Rule
	ScaleDown         Rule
	// ScaleDownDelay keeps the count from going down this soon after it
	// last went up.
	ScaleDownDelay time.Duration
	// ScaleToZero lets the count reach 0 once the service has had no demand
	// for ZeroGrace. Min must be 0 for it to matter.
	ScaleToZero bool
	ZeroGrace   time.Duration
	Schedule    []Floor
	Fallback    Fallback
	// Priority is the service's priority, carried on its scale events for
	// the scheduler.
	Priority int
}

// MetricTarget is a metric and the wanted value of it per instance.
type MetricTarget struct {
	Name   string
	Target float64
}

// Rule limits one direction of change.
type Rule struct {
	// MaxRate bounds one decision: up to ×MaxRate of the current capacity,
	// down to ÷MaxRate of the current count.
	MaxRate float64
	// Stabilization is the window of past recommendations a change must
	// agree with: scaling down goes no lower than the highest demand seen
	// in it, scaling up no higher than the lowest.
	Stabilization time.Duration
	// Tolerance ignores changes of demand smaller than this share of the
	// current capacity.
	Tolerance float64
	// Policies are HPA-style limits per period; the most permissive one
	// applies, as HPA's selectPolicy Max does.
	Policies []RatePolicy
}

// RatePolicy allows at most Value pods (Pods) or Value percent of the
// count at the start of the period (Percent) of change per Period.
type RatePolicy struct {
	Percent bool
	Value   int
	Period  time.Duration
}

// Floor raises Min to Min for For from every time Cron fires (UTC).
type Floor struct {
	Cron *Cron
	Min  int
	For  time.Duration
}

// Fallback is what happens when a service has had no signal for After:
// hold the current count (Replicas nil) or go to *Replicas.
type Fallback struct {
	After    time.Duration
	Replicas *int
}

// The defaults, tuned with the simulator on the shipped traces (see
// docs/autoscaling.md). Windows, threshold and rates follow the spec's
// defaults; the scale-down stabilization is shorter than the stable
// window because tolerance, not a long window, is what keeps steady noisy
// load from flapping, and a long window costs replica-seconds after every
// burst.
const (
	DefaultTargetUtilization = 0.7
	DefaultStableWindow      = 60 * time.Second
	DefaultPanicWindow       = 6 * time.Second
	DefaultPanicThreshold    = 2.0
	DefaultMaxRateUp         = 1000.0
	DefaultMaxRateDown       = 2.0
	DefaultDownStabilization = 10 * time.Second
	DefaultTolerance         = 0.1 // scale down
	DefaultToleranceUp       = 0.2 // scale up
	DefaultZeroGrace         = 30 * time.Second
	DefaultFallbackAfter     = 30 * time.Second
)

// DefaultPolicy returns the default policy for target, between min and max.
func DefaultPolicy(target float64, minN, maxN int) Policy {
	return Policy{
		Metrics:           []MetricTarget{{Name: MetricConcurrency, Target: target}},
		TargetUtilization: DefaultTargetUtilization,
		Min:               minN,
		Max:               maxN,
		StableWindow:      DefaultStableWindow,
		PanicWindow:       DefaultPanicWindow,
		PanicThreshold:    DefaultPanicThreshold,
		ScaleUp:           Rule{MaxRate: DefaultMaxRateUp, Tolerance: DefaultToleranceUp},
		ScaleDown:         Rule{MaxRate: DefaultMaxRateDown, Stabilization: DefaultDownStabilization, Tolerance: DefaultTolerance},
		ZeroGrace:         DefaultZeroGrace,
		Fallback:          Fallback{After: DefaultFallbackAfter},
	}
}

// PolicyFromSpec converts a validated autoscale block. priority is the
// service's. Without a tolerance of its own (scaleUp.tolerance,
// scaleDown.tolerance), scaling down uses the block's tolerance and scaling
// up twice it (at most 0.5), since targetUtilization already keeps
// headroom above the planned load.
func PolicyFromSpec(a *spec.Autoscale, priority int) (Policy, error) {
	if a == nil {
		return Policy{}, errors.New("autoscaler: the service has no autoscale block")
	}
	p := Policy{
		Metrics:           []MetricTarget{{Name: a.Metric, Target: a.Target}},
		TargetUtilization: a.TargetUtilization,
		Min:               a.Min,
		Max:               a.Max,
		StableWindow:      a.StableWindow.D(),
		PanicWindow:       a.PanicWindow.D(),
		PanicThreshold:    a.PanicThreshold,
		ScaleUp:           ruleFromSpec(a.ScaleUp, min(2*a.Tolerance, 0.5)),
		ScaleDown:         ruleFromSpec(a.ScaleDown, a.Tolerance),
		ScaleDownDelay:    a.ScaleDownDelay.D(),
		ScaleToZero:       a.ScaleToZero.Enabled,
		ZeroGrace:         a.ScaleToZero.Grace.D(),
		Fallback:          Fallback{After: DefaultFallbackAfter},
		Priority:          priority,
	}
	if p.Metrics[0].Name == "" {
		p.Metrics[0].Name = MetricConcurrency
	}
	for _, m := range a.Metrics {
		p.Metrics = append(p.Metrics, MetricTarget{Name: m.Metric, Target: m.Target})
	}
	for i, s := range a.Schedule {
		c, err := ParseCron(s.Cron)
		if err != nil {
			return Policy{}, fmt.Errorf("autoscaler: schedule[%d]: %w", i, err)
		}
		p.Schedule = append(p.Schedule, Floor{Cron: c, Min: s.Min, For: s.For.D()})
	}
	if f := a.Fallback; f != nil {
		if f.After > 0 {
			p.Fallback.After = f.After.D()
		}
		if f.Instances != nil {
			n := *f.Instances
			p.Fallback.Replicas = &n
		}
	}
	return p, p.Validate()
}

// ruleFromSpec converts one direction; tolerance is its default when the
// direction sets none of its own.
func ruleFromSpec(r spec.ScaleRule, tolerance float64) Rule {
	if r.Tolerance != nil {
		tolerance = *r.Tolerance
	}
	out := Rule{MaxRate: r.MaxRate, Stabilization: r.Stabilization.D(), Tolerance: tolerance}
	for _, pol := range r.Policies {
		out.Policies = append(out.Policies, RatePolicy{Percent: pol.Type == "Percent", Value: pol.Value, Period: pol.Period.D()})
	}
	return out
}

// Validate checks what the core relies on. Policies from PolicyFromSpec
// of a loaded service always pass; this guards hand-built ones.
func (p Policy) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(p.Metrics) == 0 {
		bad("no metric")
	}
	seen := map[string]bool{}
	for _, m := range p.Metrics {
		switch m.Name {
		case MetricConcurrency, MetricRPS, MetricCPU, MetricConnections:
		default:
			bad("metric %q is not concurrency, rps, cpu or connections", m.Name)
		}
		if seen[m.Name] {
			bad("metric %q listed twice", m.Name)
		}
		seen[m.Name] = true
		if !(m.Target > 0) {
			bad("%s target %g: want more than 0", m.Name, m.Target)
		}
	}
	if !(p.TargetUtilization > 0 && p.TargetUtilization <= 1) {
		bad("targetUtilization %g: want more than 0, at most 1", p.TargetUtilization)
	}
	if p.Min < 0 || p.Max < 1 || p.Max < p.Min {
		bad("min %d, max %d: want 0 ≤ min ≤ max, max ≥ 1", p.Min, p.Max)
	}
	if p.StableWindow < time.Second || p.PanicWindow < time.Second || p.PanicWindow > p.StableWindow {
		bad("windows stable %s, panic %s: want 1s ≤ panic ≤ stable", p.StableWindow, p.PanicWindow)
	}
	if !(p.PanicThreshold > 1) {
		bad("panicThreshold %g: want more than 1", p.PanicThreshold)
	}
	for _, r := range []struct {
		name string
		r    Rule
	}{{"scaleUp", p.ScaleUp}, {"scaleDown", p.ScaleDown}} {
		if !(r.r.MaxRate > 1) {
			bad("%s.maxRate %g: want more than 1", r.name, r.r.MaxRate)
		}
		if r.r.Tolerance < 0 || r.r.Tolerance >= 1 {
			bad("%s tolerance %g: want 0 to less than 1", r.name, r.r.Tolerance)
		}
		if r.r.Stabilization < 0 {
			bad("%s.stabilization is negative", r.name)
		}
		for i, pol := range r.r.Policies {
			if pol.Value < 1 || pol.Period < time.Second {
				bad("%s.policies[%d]: want value ≥ 1 and period ≥ 1s", r.name, i)
			}
		}
	}
	for i, f := range p.Schedule {
		if f.Cron == nil || f.For <= 0 || f.Min < 0 {
			bad("schedule[%d]: want a cron, min ≥ 0 and for > 0", i)
		}
	}
	if p.Fallback.After <= 0 {
		bad("fallback.after: want more than 0")
	}
	if r := p.Fallback.Replicas; r != nil && (*r < 0 || *r > p.Max) {
		bad("fallback replicas %d: want 0 to max (%d)", *r, p.Max)
	}
	if len(errs) > 0 {
		return fmt.Errorf("autoscaler: policy: %w", errors.Join(errs...))
	}
	return nil
}

// longestWindow is how much history the core keeps for the policy.
func (p *Policy) longestWindow() time.Duration {
	w := max(p.StableWindow, p.ScaleUp.Stabilization, p.ScaleDown.Stabilization)
	return w
}
