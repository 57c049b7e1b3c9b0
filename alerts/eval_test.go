package alerts

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// t0 is the fake clock's origin; steps give offsets from it.
var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// step is one moment of a scenario: an optional point arriving at t0+at,
// then a Tick at the same time whose transitions must equal want.
type step struct {
	at     time.Duration
	v      any               // field "v" of the point; nil: no point
	tags   map[string]string // nil: defaultTags
	outage bool              // the pipeline is down during this tick
	want   []string          // "FROM>TO", prefixed "key " for other series, suffixed " suppressed"
}

var defaultTags = map[string]string{"host": "a"}

// baseRule is a rule on measurement m, field v, one series per tag set.
func baseRule(edit func(*Rule)) Rule {
	r := Rule{Name: "test", Measurement: "m", Field: "v"}
	edit(&r)
	return r
}

func cond(s string) *Condition { c := MustCondition(s); return &c }

func describe(tr Transition, defaultKey string) string {
	s := tr.From.String() + ">" + tr.To.String()
	if tr.SeriesKey != defaultKey {
		s = tr.SeriesKey + " " + s
	}
	if tr.Suppressed {
		s += " suppressed"
	}
	return s
}

// run plays steps through e and checks every tick's transitions.
func run(t *testing.T, e *Evaluator, outage *bool, steps []step) []Transition {
	t.Helper()
	defaultKey := string(e.appendKey(nil, defaultTags))
	var all []Transition
	for i, st := range steps {
		now := t0.Add(st.at)
		if st.v != nil {
			tags := st.tags
			if tags == nil {
				tags = defaultTags
			}
			e.Observe(Point{Measurement: "m", Tags: tags, Fields: map[string]any{"v": st.v}, Time: now}, now)
		}
		if outage != nil {
			*outage = st.outage
		}
		trs := e.Tick(now)
		all = append(all, trs...)
		got := make([]string, 0, len(trs))
		for _, tr := range trs {
			got = append(got, describe(tr, defaultKey))
		}
		if !slices.Equal(got, st.want) && (len(got) != 0 || len(st.want) != 0) {
			t.Fatalf("step %d (t0+%s, v=%v): transitions %q, want %q", i, st.at, st.v, got, st.want)
		}
	}
	return all
}

func newEval(t *testing.T, r Rule, opts EvalOptions) *Evaluator {
	t.Helper()
	e, err := NewEvaluator(r, opts)
	if err != nil {
		t.Fatalf("NewEvaluator: %v", err)
	}
	return e
}

const s = time.Second
const m = time.Minute

func TestEvaluatorStateMachine(t *testing.T) {
	tests := []struct {
		name  string
		rule  Rule
		steps []step
	}{
		{
			name: "thresholds move OK to WARNING to CRITICAL and back with state changes only",
			rule: baseRule(func(r *Rule) { r.Warn, r.Crit = MustCondition("> 80"), MustCondition("> 95") }),
			steps: []step{
				{at: 0, v: 50.0},
				{at: 1 * s, v: 85.0, want: []string{"OK>WARNING"}},
				{at: 2 * s, v: 86.0},
				{at: 3 * s, v: 97.0, want: []string{"WARNING>CRITICAL"}},
				{at: 4 * s, v: int64(99)},
				{at: 5 * s, v: 90.0, want: []string{"CRITICAL>WARNING"}},
				{at: 6 * s, v: uint64(10), want: []string{"WARNING>OK"}},
				{at: 7 * s, v: 10.0},
			},
		},
		{
			name: "for keeps a crossing pending until it held long enough",
			rule: baseRule(func(r *Rule) { r.Crit = MustCondition("> 80"); r.For = 2 * m }),
			steps: []step{
				{at: 0, v: 90.0},
				{at: 1 * m, v: 90.0},
				{at: 2*m - 1, want: nil},
				{at: 2 * m, want: []string{"OK>CRITICAL"}},
			},
		},
		{
			name: "for restarts when the condition clears while pending",
			rule: baseRule(func(r *Rule) { r.Crit = MustCondition("> 80"); r.For = 2 * m }),
			steps: []step{
				{at: 0, v: 90.0},
				{at: 1 * m, v: 50.0},
				{at: 90 * s, v: 90.0},
				{at: 3 * m},
				{at: 3*m + 30*s, want: []string{"OK>CRITICAL"}},
			},
		},
		{
			name: "for of warn and crit measure from their own crossings",
			rule: baseRule(func(r *Rule) { r.Warn, r.Crit = MustCondition("> 80"), MustCondition("> 95"); r.For = m }),
			steps: []step{
				{at: 0, v: 85.0},
				{at: 30 * s, v: 99.0},
				{at: 1 * m, want: []string{"OK>WARNING"}},
				{at: 90 * s, want: []string{"WARNING>CRITICAL"}},
			},
		},
		{
			name: "keepFiringFor holds a cleared alert before resolving",
			rule: baseRule(func(r *Rule) { r.Crit = MustCondition("> 80"); r.KeepFiringFor = m }),
			steps: []step{
				{at: 0, v: 90.0, want: []string{"OK>CRITICAL"}},
				{at: 10 * s, v: 50.0},
				{at: 69 * s},
				{at: 70 * s, want: []string{"CRITICAL>OK"}},
			},
		},
		{
			name: "keepFiringFor measures each step down from its own drop",
			rule: baseRule(func(r *Rule) {
				r.Warn, r.Crit = MustCondition("> 50"), MustCondition("> 80")
				r.KeepFiringFor = m
			}),
			steps: []step{
				{at: 0, v: 90.0, want: []string{"OK>CRITICAL"}},
				{at: 10 * s, v: 60.0},
				{at: 70 * s, want: []string{"CRITICAL>WARNING"}},
				{at: 80 * s, v: 10.0},
				{at: 139 * s},
				{at: 140 * s, want: []string{"WARNING>OK"}},
			},
		},
		{
			name: "keepFiringFor restarts when the condition returns",
			rule: baseRule(func(r *Rule) { r.Crit = MustCondition("> 80"); r.KeepFiringFor = m }),
			steps: []step{
				{at: 0, v: 90.0, want: []string{"OK>CRITICAL"}},
				{at: 10 * s, v: 50.0},
				{at: 30 * s, v: 90.0},
				{at: 40 * s, v: 50.0},
				{at: 99 * s},
				{at: 100 * s, want: []string{"CRITICAL>OK"}},
			},
		},
		{
			name: "critReset keeps CRITICAL until the reset condition holds",
			rule: baseRule(func(r *Rule) { r.Crit = MustCondition("> 90"); r.CritReset = cond("< 70") }),
			steps: []step{
				{at: 0, v: 95.0, want: []string{"OK>CRITICAL"}},
				{at: 1 * s, v: 80.0},
				{at: 2 * s, v: 70.0},
				{at: 3 * s, v: 69.0, want: []string{"CRITICAL>OK"}},
				{at: 4 * s, v: 80.0},
			},
		},
		{
			name: "warnReset and critReset step down one level at a time",
			rule: baseRule(func(r *Rule) {
				r.Warn, r.WarnReset = MustCondition("> 70"), cond("< 60")
				r.Crit, r.CritReset = MustCondition("> 90"), cond("< 85")
			}),
			steps: []step{
				{at: 0, v: 95.0, want: []string{"OK>CRITICAL"}},
				{at: 1 * s, v: 88.0},
				{at: 2 * s, v: 80.0, want: []string{"CRITICAL>WARNING"}},
				{at: 3 * s, v: 65.0},
				{at: 4 * s, v: 55.0, want: []string{"WARNING>OK"}},
			},
		},
		{
			name: "hysteresis resets when the value falls straight through both levels",
			rule: baseRule(func(r *Rule) {
				r.Warn, r.WarnReset = MustCondition("> 70"), cond("< 60")
				r.Crit, r.CritReset = MustCondition("> 90"), cond("< 85")
			}),
			steps: []step{
				{at: 0, v: 95.0, want: []string{"OK>CRITICAL"}},
				{at: 1 * s, v: 10.0, want: []string{"CRITICAL>OK"}},
			},
		},
		{
			name: "deadman fires for a silent series and resolves on its next point",
			rule: baseRule(func(r *Rule) { r.Field = ""; r.Deadman = m }),
			steps: []step{
				{at: 0, v: 1.0},
				{at: 59 * s},
				{at: 1 * m, want: []string{"OK>CRITICAL"}},
				{at: 2 * m},
				{at: 150 * s, v: 1.0, want: []string{"CRITICAL>OK"}},
			},
		},
		{
			name: "deadman and thresholds in one rule",
			rule: baseRule(func(r *Rule) { r.Crit = MustCondition("> 80"); r.Deadman = m }),
			steps: []step{
				{at: 0, v: 10.0},
				{at: 1 * m, want: []string{"OK>CRITICAL"}},
				{at: 61 * s, v: 10.0, want: []string{"CRITICAL>OK"}},
				{at: 62 * s, v: 90.0, want: []string{"OK>CRITICAL"}},
			},
		},
		{
			name: "a point ends a deadman at once despite keepFiringFor",
			rule: baseRule(func(r *Rule) { r.Crit = MustCondition("> 80"); r.Deadman = m; r.KeepFiringFor = 5 * m }),
			steps: []step{
				{at: 0, v: 10.0},
				{at: 1 * m, want: []string{"OK>CRITICAL"}},
				{at: 2 * m, v: 10.0, want: []string{"CRITICAL>OK"}},
			},
		},
		{
			name: "the series key lists groupBy tags in name order",
			rule: baseRule(func(r *Rule) { r.Crit = MustCondition("> 80"); r.GroupBy = []string{"service", "node"} }),
			steps: []step{
				{at: 0, v: 90.0, tags: map[string]string{"service": "web", "node": "n1", "instance": "1"}, want: []string{`node="n1",service="web" OK>CRITICAL`}},
			},
		},
		{
			name: "a pipeline outage holds deadman and restarts its timer at the outage end",
			rule: baseRule(func(r *Rule) { r.Field = ""; r.Deadman = m }),
			steps: []step{
				{at: 0, v: 1.0},
				{at: 30 * s, outage: true},
				{at: 1 * m, outage: true},
				{at: 5 * m, outage: true},
				{at: 5*m + 30*s},
				{at: 6*m - 1},
				{at: 6 * m, want: []string{"OK>CRITICAL"}},
			},
		},
		{
			name: "a pipeline outage does not resolve a firing deadman",
			rule: baseRule(func(r *Rule) { r.Field = ""; r.Deadman = m }),
			steps: []step{
				{at: 0, v: 1.0},
				{at: 1 * m, want: []string{"OK>CRITICAL"}},
				{at: 2 * m, outage: true},
				{at: 3 * m},
				{at: 4 * m},
				{at: 5 * m, v: 1.0, want: []string{"CRITICAL>OK"}},
			},
		},
		{
			name: "flapping suppresses changes and catches up when it ends",
			rule: baseRule(func(r *Rule) {
				r.Crit = MustCondition("> 80")
				r.Flapping = &Flapping{Low: 0.25, High: 0.5, History: 5}
			}),
			steps: []step{
				{at: 0, v: 90.0, want: []string{"OK>CRITICAL"}},
				{at: 1 * s, v: 50.0, want: []string{"CRITICAL>OK"}},
				{at: 2 * s, v: 90.0, want: []string{"OK>CRITICAL suppressed"}},
				{at: 3 * s, v: 50.0, want: []string{"CRITICAL>OK suppressed"}},
				{at: 4 * s, v: 90.0, want: []string{"OK>CRITICAL suppressed"}},
				{at: 5 * s, v: 90.0},
				{at: 6 * s, v: 90.0},
				{at: 7 * s, v: 90.0, want: []string{"OK>CRITICAL"}},
				{at: 8 * s, v: 50.0, want: []string{"CRITICAL>OK"}},
			},
		},
		{
			name: "mean over a window averages the points in it and forgets older ones",
			rule: baseRule(func(r *Rule) { r.Crit = MustCondition("> 80"); r.Reduce, r.Window = ReduceMean, m }),
			steps: []step{
				{at: 0, v: 100.0, want: []string{"OK>CRITICAL"}},
				{at: 20 * s, v: 100.0},
				{at: 40 * s, v: 50.0},
				{at: 59 * s},
				{at: 60 * s, want: []string{"CRITICAL>OK"}},
				{at: 61 * s, v: 10.0},
				{at: 62 * s, v: 250.0, want: []string{"OK>CRITICAL"}},
			},
		},
		{
			name: "max over a window fires on any high point in it",
			rule: baseRule(func(r *Rule) { r.Crit = MustCondition("> 80"); r.Reduce, r.Window = ReduceMax, 30*s }),
			steps: []step{
				{at: 0, v: 90.0, want: []string{"OK>CRITICAL"}},
				{at: 10 * s, v: 10.0},
				{at: 29 * s, v: 10.0},
				{at: 30 * s, want: []string{"CRITICAL>OK"}},
			},
		},
		{
			name: "min over a window fires only when every point is low",
			rule: baseRule(func(r *Rule) { r.Crit = MustCondition("< 5"); r.Reduce, r.Window = ReduceMin, 30*s }),
			steps: []step{
				{at: 0, v: 10.0},
				{at: 10 * s, v: 1.0, want: []string{"OK>CRITICAL"}},
				{at: 20 * s, v: 20.0},
				{at: 40 * s, v: 20.0, want: []string{"CRITICAL>OK"}},
			},
		},
		{
			name: "an emptied window keeps the level until the series goes stale",
			rule: baseRule(func(r *Rule) {
				r.Crit = MustCondition("> 80")
				r.Reduce, r.Window = ReduceMean, 10*s
				r.StaleAfter = m
			}),
			steps: []step{
				{at: 0, v: 90.0, want: []string{"OK>CRITICAL"}},
				{at: 30 * s},
				{at: 59 * s},
				{at: 1 * m, want: []string{"CRITICAL>OK"}},
			},
		},
		{
			name: "a series does not go stale while its window still holds points",
			rule: baseRule(func(r *Rule) {
				r.Crit = MustCondition("> 80")
				r.Reduce, r.Window = ReduceMax, 10*m
				r.StaleAfter = m
			}),
			steps: []step{
				{at: 0, v: 90.0, want: []string{"OK>CRITICAL"}},
				{at: 5 * m},
				{at: 10*m - 1},
				{at: 10 * m, want: []string{"CRITICAL>OK"}},
			},
		},
		{
			name: "last over a window ignores points older than the window",
			rule: baseRule(func(r *Rule) { r.Crit = MustCondition("> 80"); r.Window = 10 * s }),
			steps: []step{
				{at: 0, v: 90.0, want: []string{"OK>CRITICAL"}},
				{at: 5 * s, v: 50.0, want: []string{"CRITICAL>OK"}},
			},
		},
		{
			name: "one alert per tag set when groupBy is not given",
			rule: baseRule(func(r *Rule) { r.Crit = MustCondition("> 80") }),
			steps: []step{
				{at: 0, v: 90.0, tags: map[string]string{"host": "b"}, want: []string{`host="b" OK>CRITICAL`}},
				{at: 1 * s, v: 90.0, want: []string{"OK>CRITICAL"}},
				{at: 2 * s, v: 50.0, tags: map[string]string{"host": "b"}, want: []string{`host="b" CRITICAL>OK`}},
			},
		},
		{
			name: "groupBy folds the instances of a service into one alert",
			rule: baseRule(func(r *Rule) { r.Crit = MustCondition("> 80"); r.GroupBy = []string{"service"} }),
			steps: []step{
				{at: 0, v: 90.0, tags: map[string]string{"service": "web", "instance": "1"}, want: []string{`service="web" OK>CRITICAL`}},
				{at: 1 * s, v: 95.0, tags: map[string]string{"service": "web", "instance": "2"}},
				{at: 2 * s, v: 90.0, tags: map[string]string{"service": "db", "instance": "1"}, want: []string{`service="db" OK>CRITICAL`}},
				{at: 3 * s, v: 50.0, tags: map[string]string{"service": "web", "instance": "1"}, want: []string{`service="web" CRITICAL>OK`}},
			},
		},
		{
			name: "an empty groupBy makes one alert of the whole rule",
			rule: baseRule(func(r *Rule) { r.Crit = MustCondition("> 80"); r.GroupBy = []string{} }),
			steps: []step{
				{at: 0, v: 90.0, tags: map[string]string{"host": "x"}, want: []string{"OK>CRITICAL"}},
				{at: 1 * s, v: 90.0, tags: map[string]string{"host": "y"}},
				{at: 2 * s, v: 10.0, tags: map[string]string{"host": "z"}, want: []string{"CRITICAL>OK"}},
			},
		},
		{
			name: "a series without points resolves as stale and is forgotten",
			rule: baseRule(func(r *Rule) { r.Crit = MustCondition("> 80"); r.StaleAfter = 2 * m }),
			steps: []step{
				{at: 0, v: 90.0, want: []string{"OK>CRITICAL"}},
				{at: 2*m - 1},
				{at: 2 * m, want: []string{"CRITICAL>OK"}},
				{at: 3 * m},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var outage bool
			e := newEval(t, tt.rule, EvalOptions{Outage: func(time.Time) bool { return outage }})
			run(t, e, &outage, tt.steps)
		})
	}
}

func TestStaleSeriesIsForgotten(t *testing.T) {
	e := newEval(t, baseRule(func(r *Rule) { r.Crit = MustCondition("> 80"); r.StaleAfter = m }), EvalOptions{})
	run(t, e, nil, []step{{at: 0, v: 90.0, want: []string{"OK>CRITICAL"}}, {at: m, want: []string{"CRITICAL>OK"}}})
	if e.Len() != 0 {
		t.Fatalf("Len() = %d after the series went stale, want 0", e.Len())
	}
	if tr := e.Tick(t0.Add(2 * m)); len(tr) != 0 {
		t.Fatalf("a forgotten series produced %v", tr)
	}
}

func TestFieldDifference(t *testing.T) {
	r := baseRule(func(r *Rule) { r.Field = "healthy - desired"; r.Crit = MustCondition("< 0") })
	e := newEval(t, r, EvalOptions{})
	obs := func(at time.Duration, fields map[string]any) []Transition {
		now := t0.Add(at)
		e.Observe(Point{Measurement: "m", Tags: defaultTags, Fields: fields, Time: now}, now)
		return e.Tick(now)
	}
	if tr := obs(0, map[string]any{"healthy": int64(3), "desired": int64(3)}); len(tr) != 0 {
		t.Fatalf("healthy == desired: %v", tr)
	}
	tr := obs(s, map[string]any{"healthy": int64(1), "desired": int64(3)})
	if len(tr) != 1 || tr[0].To != Critical || tr[0].Value != -2 {
		t.Fatalf("healthy 1, desired 3: %+v, want one CRITICAL transition with value -2", tr)
	}
	if tr := obs(2*s, map[string]any{"healthy": int64(3)}); len(tr) != 0 {
		t.Fatalf("a point missing one of the fields changed the state: %v", tr)
	}
}

func TestObserveMatchesWhere(t *testing.T) {
	r := baseRule(func(r *Rule) {
		r.Crit = MustCondition("> 80")
		r.Where = []Matcher{
			MustMatcher("service", MatchRegexp, "/shop/.*"),
			MustMatcher("instance", MatchNotRegexp, "canary-.*"),
			MustMatcher("env", MatchNotEqual, "test"),
			MustMatcher("dc", MatchEqual, "eu"),
		}
	})
	e := newEval(t, r, EvalOptions{})
	tests := []struct {
		name string
		tags map[string]string
		want bool
	}{
		{"all matchers pass", map[string]string{"service": "/shop/web", "instance": "web-1", "dc": "eu"}, true},
		{"regex is anchored at the start", map[string]string{"service": "/oldshop/web", "instance": "web-1", "dc": "eu"}, false},
		{"negative regex excludes canaries", map[string]string{"service": "/shop/web", "instance": "canary-1", "dc": "eu"}, false},
		{"not-equal excludes the value", map[string]string{"service": "/shop/web", "instance": "web-1", "dc": "eu", "env": "test"}, false},
		{"equal needs the tag", map[string]string{"service": "/shop/web", "instance": "web-1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.Observe(Point{Measurement: "m", Tags: tt.tags, Fields: map[string]any{"v": 1.0}}, t0)
			if got != tt.want {
				t.Errorf("Observe = %v, want %v", got, tt.want)
			}
		})
	}
	if e.Observe(Point{Measurement: "other", Tags: map[string]string{"service": "/shop/web", "dc": "eu"}, Fields: map[string]any{"v": 1.0}}, t0) {
		t.Error("a point of another measurement matched")
	}
	if e.Observe(Point{Measurement: "m", Tags: map[string]string{"service": "/shop/web", "dc": "eu"}, Fields: map[string]any{"v": "high"}}, t0) {
		t.Error("a string field was taken as a value")
	}
}

func TestParseMatcher(t *testing.T) {
	tests := []struct {
		in   string
		want string
		typ  MatchType
	}{
		{"node=n1", "node=n1", MatchEqual},
		{"node!=n1", "node!=n1", MatchNotEqual},
		{"service=~/shop/.*", "service=~/shop/.*", MatchRegexp},
		{"service!~/shop/.*", "service!~/shop/.*", MatchNotRegexp},
		{" node = n1 ", "node=n1", MatchEqual},
	}
	for _, tt := range tests {
		got, err := ParseMatcher(tt.in)
		if err != nil {
			t.Errorf("ParseMatcher(%q): %v", tt.in, err)
			continue
		}
		if got.String() != tt.want || got.Type != tt.typ {
			t.Errorf("ParseMatcher(%q) = %s (%v), want %s (%v)", tt.in, got, got.Type, tt.want, tt.typ)
		}
	}
	for _, bad := range []string{"node", "=n1", "node=~(", "node<n1"} {
		if _, err := ParseMatcher(bad); err == nil {
			t.Errorf("ParseMatcher(%q) accepted", bad)
		}
	}
}

func TestTransitionCarriesLabelsAnnotationsAndTimes(t *testing.T) {
	r := baseRule(func(r *Rule) {
		r.Name = "container-memory"
		r.Crit = MustCondition("> 95")
		r.For = m
		r.GroupBy = []string{"service"}
		r.Labels = map[string]string{"team": "shop"}
		r.Annotations = map[string]string{
			"summary":     "{{.Rule}}: {{.Labels.service}} at {{.Value}}% ({{.State}})",
			"description": "missing {{.Labels.nothere}}.",
		}
	})
	e := newEval(t, r, EvalOptions{})
	e.Observe(Point{Measurement: "m", Tags: map[string]string{"service": "/shop/web", "instance": "1"}, Fields: map[string]any{"v": 97.5}}, t0)
	if tr := e.Tick(t0.Add(30 * s)); len(tr) != 0 {
		t.Fatalf("pending alert fired: %v", tr)
	}
	trs := e.Tick(t0.Add(m))
	if len(trs) != 1 {
		t.Fatalf("transitions = %v, want one", trs)
	}
	tr := trs[0]
	wantLabels := map[string]string{"service": "/shop/web", "team": "shop", LabelAlertName: "container-memory"}
	if fmt.Sprint(tr.Labels) != fmt.Sprint(wantLabels) {
		t.Errorf("Labels = %v, want %v", tr.Labels, wantLabels)
	}
	if tr.Fingerprint != Fingerprint("container-memory", wantLabels) {
		t.Errorf("Fingerprint = %s, want Fingerprint(rule, labels)", tr.Fingerprint)
	}
	if got := tr.Annotations["summary"]; got != "container-memory: /shop/web at 97.5% (CRITICAL)" {
		t.Errorf("summary = %q", got)
	}
	if got := tr.Annotations["description"]; got != "missing ." {
		t.Errorf("description = %q", got)
	}
	if !tr.Since.Equal(t0) || !tr.At.Equal(t0.Add(m)) {
		t.Errorf("Since, At = %s, %s; want the crossing t0 and the firing t0+1m", tr.Since, tr.At)
	}
	if tr.SeriesKey != `service="/shop/web"` || tr.Rule != "container-memory" || tr.Value != 97.5 {
		t.Errorf("SeriesKey, Rule, Value = %s, %s, %v", tr.SeriesKey, tr.Rule, tr.Value)
	}
	if !strings.HasPrefix(tr.Reason, "crit: v = 97.5 > 95") {
		t.Errorf("Reason = %q", tr.Reason)
	}
	act := e.Active()
	if len(act) != 1 || act[0].Fingerprint != tr.Fingerprint || act[0].State != Critical {
		t.Errorf("Active() = %+v", act)
	}
}

func TestDeadmanTransitionSaysWhy(t *testing.T) {
	e := newEval(t, baseRule(func(r *Rule) { r.Field = ""; r.Deadman = m }), EvalOptions{})
	e.Observe(Point{Measurement: "m", Tags: defaultTags}, t0)
	trs := e.Tick(t0.Add(90 * s))
	if len(trs) != 1 || trs[0].To != Critical {
		t.Fatalf("transitions = %v, want one to CRITICAL", trs)
	}
	if want := "deadman: no point for 1m30s"; trs[0].Reason != want {
		t.Errorf("Reason = %q, want %q", trs[0].Reason, want)
	}
	if !trs[0].Since.Equal(t0.Add(m)) {
		t.Errorf("Since = %s, want t0+1m", trs[0].Since)
	}
}

func TestExpectCoversSeriesThatNeverReported(t *testing.T) {
	e := newEval(t, baseRule(func(r *Rule) { r.Field = ""; r.Deadman = m; r.GroupBy = []string{"node"} }), EvalOptions{})
	e.Expect(map[string]string{"node": "n2"}, t0)
	trs := e.Tick(t0.Add(m))
	if len(trs) != 1 || trs[0].SeriesKey != `node="n2"` || trs[0].To != Critical {
		t.Fatalf("transitions = %v, want n2 to CRITICAL", trs)
	}
	e.Expect(map[string]string{"node": "n2"}, t0.Add(m))
	if trs := e.Tick(t0.Add(m + s)); len(trs) != 0 {
		t.Fatalf("Expect on a tracked series reset it: %v", trs)
	}
}

func TestLastIgnoresLatePoints(t *testing.T) {
	e := newEval(t, baseRule(func(r *Rule) { r.Crit = MustCondition("> 80") }), EvalOptions{})
	e.Observe(Point{Measurement: "m", Tags: defaultTags, Fields: map[string]any{"v": 90.0}, Time: t0.Add(10 * s)}, t0.Add(10*s))
	e.Observe(Point{Measurement: "m", Tags: defaultTags, Fields: map[string]any{"v": 10.0}, Time: t0}, t0.Add(11*s))
	trs := e.Tick(t0.Add(11 * s))
	if len(trs) != 1 || trs[0].To != Critical || trs[0].Value != 90 {
		t.Fatalf("transitions %v: a late point replaced the newest", trs)
	}
}
