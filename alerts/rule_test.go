package alerts

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRuleValidate(t *testing.T) {
	valid := func() Rule {
		return Rule{Name: "container-memory", Measurement: "docker_container_mem", Field: "usage_percent",
			Warn: MustCondition("> 80"), Crit: MustCondition("> 95"), For: 2 * time.Minute}
	}
	tests := []struct {
		name string
		edit func(*Rule)
		want []string // every problem, in order; nil: valid
	}{
		{"the design example is valid", func(*Rule) {}, nil},
		{"a deadman-only rule needs no field", func(r *Rule) { r.Field, r.Warn, r.Crit, r.Deadman = "", Condition{}, Condition{}, time.Minute }, nil},
		{"a field difference is valid", func(r *Rule) { r.Field = "healthy - desired" }, nil},
		{"name and measurement are required", func(r *Rule) { r.Name, r.Measurement = "", "" }, []string{
			`name: "": want letters, digits, '_', '.', ':' or '-', starting with a letter or digit`,
			"measurement: required",
		}},
		{"thresholds need a field", func(r *Rule) { r.Field = "" }, []string{"field: required with warn or crit"}},
		{"a rule must alert on something", func(r *Rule) { r.Warn, r.Crit = Condition{}, Condition{} }, []string{"warn: a rule needs warn, crit or deadman"}},
		{"a malformed field difference", func(r *Rule) { r.Field = "a - " }, []string{`field: "a - ": want a field name or the difference of two ("healthy - desired")`}},
		{"reduce needs a window", func(r *Rule) { r.Reduce = ReduceMean }, []string{"window: required (> 0) with reduce mean"}},
		{"unknown reduce", func(r *Rule) { r.Reduce = "median" }, []string{`reduce: "median": want last, mean, max or min`}},
		{"negative durations", func(r *Rule) { r.For, r.KeepFiringFor = -time.Second, -time.Minute }, []string{
			"for: -1s: must not be negative", "keepFiringFor: -1m0s: must not be negative",
		}},
		{"a reset without its level", func(r *Rule) { r.Warn = Condition{}; r.WarnReset = cond("< 5") }, []string{"warnReset: set without warn"}},
		{"flapping bounds out of order", func(r *Rule) { r.Flapping = &Flapping{Low: 0.6, High: 0.4} }, []string{"flapping: low 0.6, high 0.4: want 0 <= low < high <= 1"}},
		{"flapping history too short", func(r *Rule) { r.Flapping = &Flapping{Low: 0.2, High: 0.4, History: 1} }, []string{"flapping.history: 1: want 2 to 1000"}},
		{"groupBy lists a tag twice", func(r *Rule) { r.GroupBy = []string{"node", "node"} }, []string{`groupBy[1]: "node" listed twice`}},
		{"alertname is a reserved label", func(r *Rule) { r.Labels = map[string]string{LabelAlertName: "x"} }, []string{`labels: "alertname": reserved or empty label name`}},
		{"a broken annotation template", func(r *Rule) { r.Annotations = map[string]string{"summary": "{{.Value"} }, []string{
			"annotations.summary: template: summary:1: unclosed action",
		}},
		{"a regex matcher built by hand", func(r *Rule) { r.Where = []Matcher{{Name: "s", Type: MatchRegexp, Value: "x"}} }, []string{
			"where[0]: s=~x: build regex matchers with NewMatcher",
		}},
		{"an empty receiver name", func(r *Rule) { r.Notify = []string{"ops", ""} }, []string{"notify[1]: empty receiver name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := valid()
			tt.edit(&r)
			err := r.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted the rule, want %q", tt.want)
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("Validate:\n%s\nwant:\n%s", err, strings.Join(tt.want, "\n"))
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(tt.want[0], fe.Field+": ") {
				t.Errorf("errors.As(*FieldError) = %v, field should lead %q", fe, tt.want[0])
			}
			if _, nerr := NewEvaluator(r, EvalOptions{}); nerr == nil || !errors.As(nerr, &fe) {
				t.Errorf("NewEvaluator accepted an invalid rule or lost the FieldError: %v", nerr)
			}
		})
	}
}

func TestParseConditionFieldNamesTheField(t *testing.T) {
	_, err := ParseConditionField("warn", "> eighty")
	if err == nil || err.Error() != `warn: "> eighty": not a number` {
		t.Fatalf("err = %v", err)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "warn" || !errors.Is(err, ErrNotANumber) {
		t.Fatalf("err = %#v: want a *FieldError for warn wrapping ErrNotANumber", err)
	}
}

func TestStateText(t *testing.T) {
	for _, st := range []State{OK, Warning, Critical} {
		b, err := st.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back State
		if err := back.UnmarshalText(b); err != nil || back != st {
			t.Errorf("%s: round trip = %s, %v", st, back, err)
		}
	}
	if _, err := State(7).MarshalText(); err == nil {
		t.Error("State(7) marshalled")
	}
}
