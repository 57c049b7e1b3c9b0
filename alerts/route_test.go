package alerts

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var rt0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC) // a Monday

func dur(d time.Duration) *time.Duration { return &d }

// fire makes a transition of rule alertname for the series with labels.
func fire(rule string, to State, at time.Time, labels map[string]string) Transition {
	l := maps.Clone(labels)
	if l == nil {
		l = map[string]string{}
	}
	l[LabelAlertName] = rule
	from := OK
	if to == OK {
		from = Critical
	}
	return Transition{Rule: rule, Fingerprint: Fingerprint(rule, l), Labels: l, From: from, To: to, At: at, Since: at}
}

// sent is a dispatch summarised for comparison: receiver, group key and
// the firing and resolved fingerprints' alert label "id".
type sent struct {
	Receiver, Group string
	Firing          []string
	Resolved        []string
}

func summarise(ds []Dispatch) []sent {
	var out []sent
	for _, d := range ds {
		s := sent{Receiver: d.Notification.Receiver, Group: d.Notification.GroupKey}
		for _, a := range d.Notification.Alerts {
			if a.Status == "firing" {
				s.Firing = append(s.Firing, a.Labels["id"])
			} else {
				s.Resolved = append(s.Resolved, a.Labels["id"])
			}
		}
		out = append(out, s)
	}
	return out
}

// deliverAll reports every dispatch as delivered.
func deliverAll(r *Router, ds []Dispatch) []Dispatch {
	for _, d := range ds {
		r.Delivered(d, true)
	}
	return ds
}

func newRouter(t *testing.T, routes []Route, sms ...string) *Router {
	t.Helper()
	r, err := NewRouter(RouterOptions{Routes: routes, SMS: func(n string) bool { return slices.Contains(sms, n) }})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRouteMatchingFollowsOrderAndContinue(t *testing.T) {
	routes := []Route{
		{Name: "db", Matchers: []Matcher{MustMatcher("service", MatchRegexp, "/shop/db.*")}, Receivers: []string{"dba"}, Continue: true},
		{Name: "shop", Matchers: []Matcher{MustMatcher("service", MatchRegexp, "/shop/.*")}, Receivers: []string{"shop"}},
		{Name: "all", Receivers: []string{"ops"}},
	}
	r := newRouter(t, routes)
	tests := []struct {
		name    string
		service string
		want    []string
	}{
		{"continue goes on to the next match", "/shop/db", []string{"db", "shop"}},
		{"first match without continue stops", "/shop/web", []string{"shop"}},
		{"catch-all takes the rest", "/blog", []string{"all"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, rt := range r.Match(map[string]string{"service": tt.service}) {
				got = append(got, rt.Name)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("routes %v, want %v", got, tt.want)
			}
		})
	}
}

// rstep is one moment of a router scenario: transitions observed at At,
// then a Tick at At and the dispatches it must return.
type rstep struct {
	at    time.Duration
	in    []Transition
	fail  bool // report the dispatches as failed instead of delivered
	want  []sent
	setup func(r *Router)
}

func runSteps(t *testing.T, r *Router, steps []rstep) {
	t.Helper()
	for i, s := range steps {
		now := rt0.Add(s.at)
		if s.setup != nil {
			s.setup(r)
		}
		for _, tr := range s.in {
			r.Observe(tr, now)
		}
		ds := r.Tick(now, nil)
		for _, d := range ds {
			r.Delivered(d, !s.fail)
		}
		if got := summarise(ds); !reflect.DeepEqual(got, s.want) {
			t.Fatalf("rstep %d at +%s: sent\n %+v\nwant\n %+v", i, s.at, got, s.want)
		}
	}
}

func TestRouterTiming(t *testing.T) {
	web := map[string]string{"id": "a", "node": "n1"}
	web2 := map[string]string{"id": "b", "node": "n2"}
	at := func(d time.Duration) time.Time { return rt0.Add(d) }
	base := Route{Name: "r", Receivers: []string{"chat"}, GroupInterval: time.Minute, RepeatInterval: time.Hour}
	withWait := base
	withWait.GroupWait = dur(30 * time.Second)
	byNode := base
	byNode.GroupBy = []string{"node"}
	g := `r{alertname="cpu"}`
	tests := []struct {
		name  string
		route Route
		steps []rstep
	}{
		{"CRITICAL goes out at once", base, []rstep{
			{at: 0, in: []Transition{fire("cpu", Critical, at(0), web)}, want: []sent{{"chat", g, []string{"a"}, nil}}},
		}},
		{"WARNING waits the default groupWait", base, []rstep{
			{at: 0, in: []Transition{fire("cpu", Warning, at(0), web)}},
			{at: 9 * time.Second},
			{at: 10 * time.Second, want: []sent{{"chat", g, []string{"a"}, nil}}},
		}},
		{"an explicit groupWait holds CRITICAL too", withWait, []rstep{
			{at: 0, in: []Transition{fire("cpu", Critical, at(0), web)}},
			{at: 29 * time.Second},
			{at: 30 * time.Second, want: []sent{{"chat", g, []string{"a"}, nil}}},
		}},
		{"alerts during groupWait share one notification", base, []rstep{
			{at: 0, in: []Transition{fire("cpu", Warning, at(0), web)}},
			{at: 5 * time.Second, in: []Transition{fire("cpu", Warning, at(5*time.Second), web2)}},
			{at: 10 * time.Second, want: []sent{{"chat", g, []string{"a", "b"}, nil}}},
		}},
		{"a later alert waits for groupInterval", base, []rstep{
			{at: 0, in: []Transition{fire("cpu", Critical, at(0), web)}, want: []sent{{"chat", g, []string{"a"}, nil}}},
			{at: 10 * time.Second, in: []Transition{fire("cpu", Critical, at(10*time.Second), web2)}},
			{at: 59 * time.Second},
			{at: time.Minute, want: []sent{{"chat", g, []string{"a", "b"}, nil}}},
		}},
		{"groupBy splits groups", byNode, []rstep{
			{at: 0, in: []Transition{fire("cpu", Critical, at(0), web), fire("cpu", Critical, at(0), web2)}, want: []sent{
				{"chat", `r{node="n1"}`, []string{"a"}, nil}, {"chat", `r{node="n2"}`, []string{"b"}, nil}}},
		}},
		{"unchanged firing repeats after repeatInterval only", base, []rstep{
			{at: 0, in: []Transition{fire("cpu", Critical, at(0), web)}, want: []sent{{"chat", g, []string{"a"}, nil}}},
			{at: time.Minute},
			{at: 59 * time.Minute},
			{at: time.Hour, want: []sent{{"chat", g, []string{"a"}, nil}}},
		}},
		{"resolve is sent, then the group is gone", base, []rstep{
			{at: 0, in: []Transition{fire("cpu", Critical, at(0), web)}, want: []sent{{"chat", g, []string{"a"}, nil}}},
			{at: 2 * time.Minute, in: []Transition{fire("cpu", OK, at(2*time.Minute), web)}, want: []sent{{"chat", g, nil, []string{"a"}}}},
			{at: 2 * time.Hour},
		}},
		{"a resolve nobody heard the firing of is not sent", withWait, []rstep{
			{at: 0, in: []Transition{fire("cpu", Critical, at(0), web)}},
			{at: 10 * time.Second, in: []Transition{fire("cpu", OK, at(10*time.Second), web)}},
			{at: 30 * time.Second},
		}},
		{"a failed delivery is tried at the next flush", base, []rstep{
			{at: 0, in: []Transition{fire("cpu", Critical, at(0), web)}, fail: true, want: []sent{{"chat", g, []string{"a"}, nil}}},
			{at: 30 * time.Second},
			{at: time.Minute, want: []sent{{"chat", g, []string{"a"}, nil}}},
			{at: 2 * time.Minute},
		}},
		{"a failed resolve is tried at the next flush", base, []rstep{
			{at: 0, in: []Transition{fire("cpu", Critical, at(0), web)}, want: []sent{{"chat", g, []string{"a"}, nil}}},
			{at: 2 * time.Minute, in: []Transition{fire("cpu", OK, at(2*time.Minute), web)}, fail: true, want: []sent{{"chat", g, nil, []string{"a"}}}},
			{at: 3 * time.Minute, want: []sent{{"chat", g, nil, []string{"a"}}}},
			{at: 4 * time.Minute},
		}},
		{"suppressed (flapping) transitions are not routed", base, []rstep{
			{at: 0, in: []Transition{func() Transition { tr := fire("cpu", Critical, at(0), web); tr.Suppressed = true; return tr }()}},
			{at: time.Hour},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, newRouter(t, []Route{tt.route}), tt.steps)
		})
	}
}

func TestSilencesAndMuteWindows(t *testing.T) {
	web := map[string]string{"id": "a", "service": "/shop/web"}
	at := func(d time.Duration) time.Time { return rt0.Add(d) }
	g := `r{alertname="cpu"}`
	route := Route{Name: "r", Receivers: []string{"chat"}, GroupInterval: time.Minute, RepeatInterval: time.Hour}
	silence := Silence{ID: "s1", Matchers: []Matcher{MustMatcher("service", MatchEqual, "/shop/web")}, StartsAt: rt0, EndsAt: rt0.Add(10 * time.Minute)}
	t.Run("a silenced alert is held until the silence ends", func(t *testing.T) {
		r := newRouter(t, []Route{route})
		r.SetSilences([]Silence{silence})
		runSteps(t, r, []rstep{
			{at: 0, in: []Transition{fire("cpu", Critical, at(0), web)}},
			{at: 9 * time.Minute},
			{at: 10 * time.Minute, want: []sent{{"chat", g, []string{"a"}, nil}}},
		})
	})
	t.Run("a silence that does not match lets the alert through", func(t *testing.T) {
		r := newRouter(t, []Route{route})
		other := silence
		other.Matchers = []Matcher{MustMatcher("service", MatchEqual, "/blog")}
		r.SetSilences([]Silence{other})
		runSteps(t, r, []rstep{{at: 0, in: []Transition{fire("cpu", Critical, at(0), web)}, want: []sent{{"chat", g, []string{"a"}, nil}}}})
	})
	t.Run("inhibited alerts are not sent", func(t *testing.T) {
		r := newRouter(t, []Route{route})
		tr := fire("cpu", Critical, at(0), web)
		r.Observe(tr, rt0)
		if ds := r.Tick(rt0, map[string]bool{tr.Fingerprint: true}); len(ds) != 0 {
			t.Errorf("sent %+v", summarise(ds))
		}
	})
	t.Run("a mute window holds notifications until it ends", func(t *testing.T) {
		night, err := ParseTimeInterval(nil, []string{"11:00-12:30"}, "")
		if err != nil {
			t.Fatal(err)
		}
		muted := route
		muted.MuteTimeIntervals = []TimeInterval{night}
		runSteps(t, newRouter(t, []Route{muted}), []rstep{
			{at: 0, in: []Transition{fire("cpu", Critical, at(0), web)}},
			{at: 29 * time.Minute},
			{at: 30 * time.Minute, want: []sent{{"chat", g, []string{"a"}, nil}}},
		})
	})
}

func TestEscalationToSMS(t *testing.T) {
	web := map[string]string{"id": "a"}
	at := func(d time.Duration) time.Time { return rt0.Add(d) }
	g := `oncall{alertname="mem"}`
	route := Route{Name: "oncall", Receivers: []string{"chat", "sms"}, GroupInterval: time.Minute, RepeatInterval: 4 * time.Hour, EscalateAfter: 10 * time.Minute}
	tests := []struct {
		name  string
		steps []rstep
	}{
		{"CRITICAL still firing after escalateAfter goes to SMS", []rstep{
			{at: 0, in: []Transition{fire("mem", Critical, at(0), web)}, want: []sent{{"chat", g, []string{"a"}, nil}}},
			{at: 9 * time.Minute},
			{at: 10 * time.Minute, want: []sent{{"sms", g, []string{"a"}, nil}}},
			{at: 12 * time.Minute, in: []Transition{fire("mem", OK, at(12*time.Minute), web)}, want: []sent{
				{"chat", g, nil, []string{"a"}}, {"sms", g, nil, []string{"a"}}}},
		}},
		{"resolved in time never reaches SMS", []rstep{
			{at: 0, in: []Transition{fire("mem", Critical, at(0), web)}, want: []sent{{"chat", g, []string{"a"}, nil}}},
			{at: 5 * time.Minute, in: []Transition{fire("mem", OK, at(5*time.Minute), web)}, want: []sent{{"chat", g, nil, []string{"a"}}}},
			{at: 30 * time.Minute},
		}},
		{"silenced in time never reaches SMS", []rstep{
			{at: 0, in: []Transition{fire("mem", Critical, at(0), web)}, want: []sent{{"chat", g, []string{"a"}, nil}}},
			{at: 5 * time.Minute, setup: func(r *Router) {
				r.SetSilences([]Silence{{ID: "s", Matchers: []Matcher{MustMatcher("id", MatchEqual, "a")}, StartsAt: at(5 * time.Minute), EndsAt: at(time.Hour)}})
			}},
			{at: 30 * time.Minute},
		}},
		{"WARNING does not escalate", []rstep{
			{at: 0, in: []Transition{fire("mem", Warning, at(0), web)}},
			{at: 10 * time.Second, want: []sent{{"chat", g, []string{"a"}, nil}}},
			{at: time.Hour},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, newRouter(t, []Route{route}, "sms"), tt.steps)
		})
	}
	t.Run("without escalateAfter SMS receivers are told at once", func(t *testing.T) {
		now := route
		now.EscalateAfter = 0
		runSteps(t, newRouter(t, []Route{now}, "sms"), []rstep{
			{at: 0, in: []Transition{fire("mem", Critical, at(0), web)}, want: []sent{{"chat", g, []string{"a"}, nil}, {"sms", g, []string{"a"}, nil}}},
		})
	})
}

func TestRouterSnapshotKeepsTheNotificationLog(t *testing.T) {
	web := map[string]string{"id": "a"}
	route := Route{Name: "r", Receivers: []string{"chat"}, GroupInterval: time.Minute, RepeatInterval: time.Hour}
	g := `r{alertname="cpu"}`
	restart := func(t *testing.T, r *Router, now time.Time) *Router {
		t.Helper()
		js, err := json.Marshal(r.Snapshot())
		if err != nil {
			t.Fatal(err)
		}
		var snap RouterSnapshot
		if err := json.Unmarshal(js, &snap); err != nil {
			t.Fatal(err)
		}
		r2 := newRouter(t, []Route{route})
		if err := r2.Restore(snap, now); err != nil {
			t.Fatal(err)
		}
		return r2
	}
	t.Run("a delivered alert is not sent again after a restart", func(t *testing.T) {
		r := newRouter(t, []Route{route})
		r.Observe(fire("cpu", Critical, rt0, web), rt0)
		deliverAll(r, r.Tick(rt0, nil))
		r2 := restart(t, r, rt0.Add(time.Second))
		if ds := r2.Tick(rt0.Add(time.Second), nil); len(ds) != 0 {
			t.Errorf("sent again after restart: %+v", summarise(ds))
		}
		// And it resolves to the same receiver.
		now := rt0.Add(2 * time.Minute)
		r2.Observe(fire("cpu", OK, now, web), now)
		if got, want := summarise(r2.Tick(now, nil)), []sent{{"chat", g, nil, []string{"a"}}}; !reflect.DeepEqual(got, want) {
			t.Errorf("after restart sent %+v, want %+v", got, want)
		}
	})
	t.Run("an undelivered dispatch is sent again after a restart", func(t *testing.T) {
		r := newRouter(t, []Route{route})
		r.Observe(fire("cpu", Critical, rt0, web), rt0)
		if ds := r.Tick(rt0, nil); len(ds) != 1 {
			t.Fatalf("%d dispatches", len(ds))
		}
		r2 := restart(t, r, rt0.Add(time.Second))
		if got, want := summarise(r2.Tick(rt0.Add(time.Second), nil)), []sent{{"chat", g, []string{"a"}, nil}}; !reflect.DeepEqual(got, want) {
			t.Errorf("sent %+v, want %+v", got, want)
		}
	})
	t.Run("alerts no evaluator fires any more are resolved after a restart", func(t *testing.T) {
		r := newRouter(t, []Route{route})
		keep, gone := fire("cpu", Critical, rt0, map[string]string{"id": "keep"}), fire("cpu", Critical, rt0, web)
		r.Observe(keep, rt0)
		r.Observe(gone, rt0)
		deliverAll(r, r.Tick(rt0, nil))
		now := rt0.Add(time.Minute)
		r2 := restart(t, r, now)
		r2.Reconcile(map[string]bool{keep.Fingerprint: true}, now)
		if got, want := summarise(r2.Tick(now, nil)), []sent{{"chat", g, []string{"keep"}, []string{"a"}}}; !reflect.DeepEqual(got, want) {
			t.Errorf("sent %+v, want %+v", got, want)
		}
	})
	t.Run("groups of a removed route are dropped", func(t *testing.T) {
		r := newRouter(t, []Route{route})
		r.Observe(fire("cpu", Critical, rt0, web), rt0)
		deliverAll(r, r.Tick(rt0, nil))
		r2, err := NewRouter(RouterOptions{Routes: []Route{{Name: "other", Receivers: []string{"x"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := r2.Restore(r.Snapshot(), rt0); err != nil || r2.Groups() != 0 {
			t.Errorf("groups %d, err %v", r2.Groups(), err)
		}
	})
}

func TestTimeIntervalContains(t *testing.T) {
	tests := []struct {
		name     string
		weekdays []string
		times    []string
		loc      string
		at       time.Time
		want     bool
	}{
		{"inside a day range", nil, []string{"09:00-17:00"}, "", rt0, true},
		{"end is exclusive", nil, []string{"09:00-12:00"}, "", rt0, false},
		{"past midnight, late part", nil, []string{"22:00-08:00"}, "", rt0.Add(11 * time.Hour), true},
		{"past midnight, early part", nil, []string{"22:00-08:00"}, "", rt0.Add(-6 * time.Hour), true},
		{"past midnight, outside", nil, []string{"22:00-08:00"}, "", rt0, false},
		{"weekend range on a Monday", []string{"saturday:sunday"}, nil, "", rt0, false},
		{"weekend range on a Sunday", []string{"saturday:sunday"}, nil, "", rt0.Add(-24 * time.Hour), true},
		{"night starting Sunday covers Monday morning", []string{"sunday"}, []string{"22:00-08:00"}, "", rt0.Add(-6 * time.Hour), true},
		{"night starting Monday does not cover Monday morning", []string{"monday"}, []string{"22:00-08:00"}, "", rt0.Add(-6 * time.Hour), false},
		{"location shifts the clock", nil, []string{"19:00-21:00"}, "Asia/Shanghai", rt0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ti, err := ParseTimeInterval(tt.weekdays, tt.times, tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			if got := ti.Contains(tt.at); got != tt.want {
				t.Errorf("Contains(%s) = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
}

func TestRulesRoutesSendARulesAlertsToItsNotifyList(t *testing.T) {
	routes := append(RulesRoutes([]Rule{{Name: "mem", Notify: []string{"dingtalk"}}, {Name: "quiet"}}),
		Route{Name: "default", Receivers: []string{"ops"}})
	r := newRouter(t, routes)
	var got []string
	for _, name := range []string{"mem", "quiet"} {
		var names []string
		for _, rt := range r.Match(map[string]string{LabelAlertName: name}) {
			names = append(names, rt.Name)
		}
		got = append(got, name+"→"+strings.Join(names, ","))
	}
	if want := []string{"mem→rule:mem", "quiet→default"}; !reflect.DeepEqual(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
}
