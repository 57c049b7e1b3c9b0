package alerts

import (
	"testing"
	"time"
)

func TestBuiltinRulesAreValid(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Builtin(BuiltinOptions{}) {
		if err := r.Validate(); err != nil {
			t.Errorf("%s: %v", r.Name, err)
		}
		if seen[r.Name] {
			t.Errorf("%s listed twice", r.Name)
		}
		seen[r.Name] = true
	}
	for _, name := range []string{RuleServiceDegraded, RuleServiceSurplus, RuleNodeLost, RuleAgentSilent, RulePipelineLag, RulePipelineUnreachable} {
		if !seen[name] {
			t.Errorf("built-in rule %s missing", name)
		}
	}
}

func TestBuiltinOptionsAdjustRules(t *testing.T) {
	rules := Builtin(BuiltinOptions{ServiceDegradedFor: time.Minute, AgentSilentAfter: 5 * time.Minute, PipelineLagCrit: 5, Notify: []string{"ops"}})
	byName := map[string]Rule{}
	for _, r := range rules {
		byName[r.Name] = r
	}
	if got := byName[RuleServiceDegraded].For; got != time.Minute {
		t.Errorf("service-degraded for = %s, want 1m", got)
	}
	if got := byName[RuleServiceSurplus].For; got != DefaultBuiltinOptions().ServiceSurplusFor {
		t.Errorf("service-surplus for = %s, want the default", got)
	}
	if got := byName[RuleAgentSilent].Deadman; got != 5*time.Minute {
		t.Errorf("agent-silent deadman = %s, want 5m", got)
	}
	if got := byName[RulePipelineLag].Crit.String(); got != "> 5" {
		t.Errorf("pipeline-lag crit = %q, want \"> 5\"", got)
	}
	byName[RuleNodeLost].Notify[0] = "changed"
	if byName[RuleServiceDegraded].Notify[0] != "ops" {
		t.Error("built-in rules share their notify slice")
	}
}

// builtinEval returns the evaluator of the named built-in rule.
func builtinEval(t *testing.T, name string, opts EvalOptions) *Evaluator {
	t.Helper()
	for _, r := range Builtin(BuiltinOptions{}) {
		if r.Name == name {
			return newEval(t, r, opts)
		}
	}
	t.Fatalf("no built-in rule %s", name)
	return nil
}

func TestBuiltinServiceRules(t *testing.T) {
	point := func(desired, running, healthy int64) Point {
		return Point{Measurement: MeasurementService, Tags: map[string]string{"service": "/shop/web"},
			Fields: map[string]any{"desired": desired, "running": running, "healthy": healthy}}
	}
	tests := []struct {
		name     string
		rule     string
		points   []Point // one every 10 s from t0
		wantAt   time.Duration
		wantTo   State
		quietFor time.Duration
	}{
		{"fewer healthy than desired is CRITICAL after 30s", RuleServiceDegraded, []Point{point(3, 3, 2), point(3, 3, 2), point(3, 3, 2), point(3, 3, 2)}, 30 * time.Second, Critical, 0},
		{"a short dip during a restart does not fire", RuleServiceDegraded, []Point{point(3, 3, 2), point(3, 3, 3), point(3, 3, 3), point(3, 3, 3)}, 0, OK, 0},
		{"more healthy than desired is a WARNING after 5m", RuleServiceSurplus, repeat(point(3, 4, 4), 31), 5 * time.Minute, Warning, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := builtinEval(t, tt.rule, EvalOptions{})
			var got []Transition
			var at []time.Duration
			for i, p := range tt.points {
				d := time.Duration(i) * 10 * time.Second
				e.Observe(p, t0.Add(d))
				for _, tr := range e.Tick(t0.Add(d)) {
					got = append(got, tr)
					at = append(at, d)
				}
			}
			if tt.wantTo == OK {
				if len(got) != 0 {
					t.Fatalf("transitions %v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].To != tt.wantTo || at[0] != tt.wantAt {
				t.Fatalf("transitions %v at %v, want one to %s at %s", got, at, tt.wantTo, tt.wantAt)
			}
			if got[0].Labels["service"] != "/shop/web" || got[0].Annotations["summary"] == "" {
				t.Errorf("labels %v, annotations %v", got[0].Labels, got[0].Annotations)
			}
		})
	}
}

func repeat(p Point, n int) []Point {
	out := make([]Point, n)
	for i := range out {
		out[i] = p
	}
	return out
}

func TestBuiltinAgentSilentIsHeldByPipelineOutage(t *testing.T) {
	unreachable := builtinEval(t, RulePipelineUnreachable, EvalOptions{})
	silent := builtinEval(t, RuleAgentSilent, EvalOptions{Outage: func(time.Time) bool { return PipelineOutage(unreachable.Active()) }})
	collector := func(node string) Point {
		return Point{Measurement: MeasurementPipeline, Tags: map[string]string{"component": "collector", "node": node},
			Fields: map[string]any{"points_gathered": int64(1)}}
	}
	nats := func(up int64) Point {
		return Point{Measurement: MeasurementPipeline, Tags: map[string]string{"component": "nats"}, Fields: map[string]any{"up": up}}
	}
	silent.Observe(collector("n1"), t0)
	silent.Observe(collector("n2"), t0)
	// NATS goes down at 10 s: no collector point can arrive from now on.
	for d := 10 * time.Second; d <= 5*time.Minute; d += 10 * time.Second {
		now := t0.Add(d)
		unreachable.Observe(nats(0), now)
		unreachable.Tick(now)
		if trs := silent.Tick(now); len(trs) != 0 {
			t.Fatalf("t0+%s during the NATS outage: %v; want deadman held", d, trs)
		}
	}
	if len(unreachable.Active()) != 1 {
		t.Fatalf("pipeline-unreachable not firing during the outage: %v", unreachable.Active())
	}
	// NATS is back at 5m10s; n1 reports again, n2 stays silent.
	back := t0.Add(5*time.Minute + 10*time.Second)
	unreachable.Observe(nats(1), back)
	unreachable.Tick(back)
	silent.Observe(collector("n1"), back)
	if trs := silent.Tick(back); len(trs) != 0 {
		t.Fatalf("at the outage end: %v", trs)
	}
	// The last tick that saw the outage was at 5m, so n2's deadman runs
	// from there and fires at 6m; n1 reported at 5m10s.
	if trs := silent.Tick(t0.Add(6*time.Minute - 1)); len(trs) != 0 {
		t.Fatalf("before a deadman period after the outage: %v", trs)
	}
	trs := silent.Tick(t0.Add(6 * time.Minute))
	if len(trs) != 1 || trs[0].Labels["node"] != "n2" || trs[0].To != Critical {
		t.Fatalf("a deadman period after the outage: %v, want n2 silent", trs)
	}
}
