package alerts

import (
	"maps"
	"slices"
	"testing"
)

func active(rule string, st State, labels map[string]string) Active {
	l := maps.Clone(labels)
	if l == nil {
		l = map[string]string{}
	}
	l[LabelAlertName] = rule
	return Active{Fingerprint: Fingerprint(rule, l), Rule: rule, Labels: l, State: st}
}

func TestInhibited(t *testing.T) {
	nodeDown := BuiltinInhibitRules()
	n1Lost := active(RuleNodeLost, Critical, map[string]string{"node": "n1"})
	n2Lost := active(RuleNodeLost, Critical, map[string]string{"node": "n2"})
	memN1 := active("container-memory", Critical, map[string]string{"node": "n1", "instance": "web.1"})
	memN2 := active("container-memory", Warning, map[string]string{"node": "n2", "instance": "web.2"})
	svc := active(RuleServiceDegraded, Critical, map[string]string{"service": "/shop/web"})
	tests := []struct {
		name   string
		active []Active
		rules  []InhibitRule
		want   []Active
	}{
		{"a lost node mutes the container alerts on it", []Active{n1Lost, memN1, memN2}, nodeDown, []Active{memN1}},
		{"a lost node does not mute itself or other lost nodes", []Active{n1Lost, n2Lost}, nodeDown, nil},
		{"alerts without a node label are not muted", []Active{n1Lost, svc}, nodeDown, nil},
		{"a resolved source mutes nothing", []Active{active(RuleNodeLost, OK, map[string]string{"node": "n1"}), memN1}, nodeDown, nil},
		{"no rules mute nothing", []Active{n1Lost, memN1}, nil, nil},
		{
			"equal on a label absent from both counts as equal",
			[]Active{active("a", Critical, nil), active("b", Warning, nil)},
			[]InhibitRule{{Source: []Matcher{MustMatcher(LabelAlertName, MatchEqual, "a")}, Target: []Matcher{MustMatcher(LabelAlertName, MatchEqual, "b")}, Equal: []string{"node"}}},
			[]Active{active("b", Warning, nil)},
		},
		{
			"an alert matching source and target is not muted by itself",
			[]Active{active("a", Critical, map[string]string{"x": "1"})},
			[]InhibitRule{{Source: []Matcher{MustMatcher("x", MatchEqual, "1")}, Target: []Matcher{MustMatcher("x", MatchEqual, "1")}}},
			nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Inhibited(tt.active, tt.rules)
			var want []string
			for _, a := range tt.want {
				want = append(want, a.Fingerprint)
			}
			gotFPs := slices.Sorted(maps.Keys(got))
			slices.Sort(want)
			if !slices.Equal(gotFPs, want) {
				t.Errorf("Inhibited = %v, want %v", gotFPs, want)
			}
		})
	}
}

func TestInhibitRuleValidate(t *testing.T) {
	if err := (InhibitRule{Target: []Matcher{MustMatcher("a", MatchEqual, "b")}}).Validate(); err == nil || err.Error() != "source: at least one matcher is required" {
		t.Errorf("Validate without source = %v", err)
	}
	for _, r := range BuiltinInhibitRules() {
		if err := r.Validate(); err != nil {
			t.Errorf("built-in inhibit rule: %v", err)
		}
	}
}
