package alerts

import (
	"maps"
	"strings"
	"testing"
	"time"
)

// restart snapshots e as JSON and restores it into a fresh evaluator of
// the same rule at now, as a new leader would.
func restart(t *testing.T, e *Evaluator, now time.Time, opts EvalOptions) *Evaluator {
	t.Helper()
	b, err := e.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	n := newEval(t, e.Rule(), opts)
	if err := n.RestoreJSON(b, now); err != nil {
		t.Fatalf("RestoreJSON: %v", err)
	}
	return n
}

func TestSnapshotRestore(t *testing.T) {
	threshold := baseRule(func(r *Rule) { r.Crit = MustCondition("> 80") })
	tests := []struct {
		name      string
		rule      Rule
		before    []step
		restoreAt time.Duration
		after     []step
	}{
		{
			name:      "an alert that did not change is not notified again",
			rule:      threshold,
			before:    []step{{at: 0, v: 90.0, want: []string{"OK>CRITICAL"}}},
			restoreAt: 10 * m,
			after:     []step{{at: 10 * m, v: 91.0}, {at: 11 * m, v: 92.0}},
		},
		{
			name:      "an alert that resolved while down resolves on the first tick",
			rule:      threshold,
			before:    []step{{at: 0, v: 90.0, want: []string{"OK>CRITICAL"}}},
			restoreAt: 10 * m,
			after:     []step{{at: 10 * m, v: 50.0, want: []string{"CRITICAL>OK"}}},
		},
		{
			name:      "an alert whose series vanished while down resolves as stale after the restore",
			rule:      baseRule(func(r *Rule) { r.Crit = MustCondition("> 80"); r.StaleAfter = 2 * m }),
			before:    []step{{at: 0, v: 90.0, want: []string{"OK>CRITICAL"}}},
			restoreAt: 10 * m,
			after:     []step{{at: 10 * m}, {at: 12*m - 1}, {at: 12 * m, want: []string{"CRITICAL>OK"}}},
		},
		{
			name:      "a pending alert keeps its for clock across a short restart",
			rule:      baseRule(func(r *Rule) { r.Crit = MustCondition("> 80"); r.For = 2 * m }),
			before:    []step{{at: 0, v: 90.0}, {at: 1 * m, v: 90.0}},
			restoreAt: 90 * s,
			after:     []step{{at: 2*m - 1, v: 90.0}, {at: 2 * m, want: []string{"OK>CRITICAL"}}},
		},
		{
			name:      "deadman timers restart at the restore instead of firing at once",
			rule:      baseRule(func(r *Rule) { r.Field = ""; r.Deadman = m }),
			before:    []step{{at: 0, v: 1.0}},
			restoreAt: 10 * m,
			after:     []step{{at: 10 * m}, {at: 11*m - 1}, {at: 11 * m, want: []string{"OK>CRITICAL"}}},
		},
		{
			name:      "a firing deadman stays firing across a restart",
			rule:      baseRule(func(r *Rule) { r.Field = ""; r.Deadman = m }),
			before:    []step{{at: 0, v: 1.0}, {at: m, want: []string{"OK>CRITICAL"}}},
			restoreAt: 10 * m,
			after:     []step{{at: 10 * m}, {at: 12 * m}, {at: 13 * m, v: 1.0, want: []string{"CRITICAL>OK"}}},
		},
		{
			name: "a window survives the restart",
			rule: baseRule(func(r *Rule) {
				r.Crit = MustCondition("> 80")
				r.Reduce, r.Window = ReduceMean, m
			}),
			before:    []step{{at: 0, v: 100.0, want: []string{"OK>CRITICAL"}}, {at: 10 * s, v: 100.0}},
			restoreAt: 20 * s,
			after:     []step{{at: 20 * s, v: 70.0}, {at: 30 * s, v: 10.0, want: []string{"CRITICAL>OK"}}},
		},
		{
			name: "flapping suppression survives the restart",
			rule: baseRule(func(r *Rule) {
				r.Crit = MustCondition("> 80")
				r.Flapping = &Flapping{Low: 0.25, High: 0.5, History: 5}
			}),
			before: []step{
				{at: 0, v: 90.0, want: []string{"OK>CRITICAL"}},
				{at: 1 * s, v: 50.0, want: []string{"CRITICAL>OK"}},
				{at: 2 * s, v: 90.0, want: []string{"OK>CRITICAL suppressed"}},
			},
			restoreAt: 3 * s,
			after: []step{
				{at: 3 * s, v: 50.0, want: []string{"CRITICAL>OK suppressed"}},
				{at: 4 * s, v: 50.0},
				{at: 5 * s, v: 50.0},
				{at: 6 * s, v: 50.0},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEval(t, tt.rule, EvalOptions{})
			run(t, e, nil, tt.before)
			n := restart(t, e, t0.Add(tt.restoreAt), EvalOptions{})
			run(t, n, nil, tt.after)
		})
	}
}

func TestSnapshotRoundTripIsExact(t *testing.T) {
	r := baseRule(func(r *Rule) {
		r.Warn, r.Crit = MustCondition("> 50"), MustCondition("> 80")
		r.Reduce, r.Window = ReduceMax, m
		r.For = 30 * s
		r.Flapping = &Flapping{Low: 0.1, High: 0.6}
	})
	e := newEval(t, r, EvalOptions{})
	for i, v := range []float64{60, 90, 10, 85} {
		now := t0.Add(time.Duration(i) * 10 * s)
		e.Observe(Point{Measurement: "m", Tags: map[string]string{"host": string(rune('a' + i%2))}, Fields: map[string]any{"v": v}}, now)
		e.Tick(now)
	}
	first, err := e.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	n := newEval(t, r, EvalOptions{})
	if err := n.RestoreJSON(first, time.Time{}); err != nil {
		t.Fatal(err)
	}
	second, err := n.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) {
		t.Fatalf("snapshot changed through restore:\n%s\n%s", first, second)
	}
	if !strings.Contains(string(first), `"state":"WARNING"`) {
		t.Errorf("states are not written by name: %s", first)
	}
}

func TestRestoreRejects(t *testing.T) {
	e := newEval(t, baseRule(func(r *Rule) { r.Crit = MustCondition("> 1") }), EvalOptions{})
	good := e.Snapshot()
	tests := []struct {
		name string
		edit func(*Snapshot)
		msg  string
	}{
		{"another version", func(s *Snapshot) { s.Version = 99 }, "snapshot version 99, want 1"},
		{"another rule", func(s *Snapshot) { s.Rule = "other" }, `snapshot is of rule "other"`},
		{"a duplicate series", func(s *Snapshot) {
			s.Series = []SeriesSnapshot{{Key: "k"}, {Key: "k"}}
		}, "key k twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := good
			tt.edit(&snap)
			err := e.Restore(snap, t0)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Restore: %v, want an error containing %q", err, tt.msg)
			}
		})
	}
	if err := e.RestoreJSON([]byte(`{"version":1,"rule":"test","series":[{"key":"k","state":"PANIC"}]}`), t0); err == nil {
		t.Fatal("RestoreJSON accepted an unknown state")
	}
}

func TestRestoreFollowsTheCurrentRuleLabels(t *testing.T) {
	old := baseRule(func(r *Rule) { r.Crit = MustCondition("> 80"); r.Labels = map[string]string{"team": "a", "gone": "x"} })
	e := newEval(t, old, EvalOptions{})
	run(t, e, nil, []step{{at: 0, v: 90.0, want: []string{"OK>CRITICAL"}}})
	b, err := e.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	cur := old
	cur.Labels = map[string]string{"team": "b"}
	n := newEval(t, cur, EvalOptions{})
	if err := n.RestoreJSON(b, t0.Add(m)); err != nil {
		t.Fatal(err)
	}
	act := n.Active()
	want := map[string]string{"host": "a", "team": "b", LabelAlertName: "test"}
	if len(act) != 1 || !maps.Equal(act[0].Labels, want) || act[0].Fingerprint != Fingerprint("test", want) {
		t.Fatalf("Active() = %+v, want labels %v", act, want)
	}
}
