package alerts

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"
)

// FieldError names the rule field a problem is in, so the YAML loader can
// place it at its file and line. Field uses the YAML names ("warn",
// "where[1]", "flapping.high").
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the underlying problem.
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field string, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// MatchType is how a Matcher compares a tag value.
type MatchType uint8

// The matcher kinds: equal, not equal, regular expression match and
// non-match.
const (
	MatchEqual MatchType = iota
	MatchNotEqual
	MatchRegexp
	MatchNotRegexp
)

var matchText = [...]string{MatchEqual: "=", MatchNotEqual: "!=", MatchRegexp: "=~", MatchNotRegexp: "!~"}

// String returns the operator as written: =, !=, =~ or !~.
func (t MatchType) String() string {
	if int(t) < len(matchText) {
		return matchText[t]
	}
	return fmt.Sprintf("MatchType(%d)", t)
}

// Matcher selects points (in a rule's where) or alerts (in an inhibit rule)
// by one tag or label. A missing tag reads as "", as in Prometheus, so
// `node!=""` means "has a node tag".
type Matcher struct {
	Name  string
	Type  MatchType
	Value string
	re    *regexp.Regexp
}

// NewMatcher builds a matcher; regular expressions are anchored at both
// ends, so `service=~/shop/.*` does not match "/oldshop/web".
func NewMatcher(name string, t MatchType, value string) (Matcher, error) {
	if name == "" {
		return Matcher{}, errors.New("empty tag name")
	}
	m := Matcher{Name: name, Type: t, Value: value}
	switch t {
	case MatchEqual, MatchNotEqual:
	case MatchRegexp, MatchNotRegexp:
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			return Matcher{}, fmt.Errorf("%s%s%q: %w", name, t, value, err)
		}
		m.re = re
	default:
		return Matcher{}, fmt.Errorf("%s: unknown match type %d", name, t)
	}
	return m, nil
}

// MustMatcher is NewMatcher for constants in Go code; it panics on error.
func MustMatcher(name string, t MatchType, value string) Matcher {
	m, err := NewMatcher(name, t, value)
	if err != nil {
		panic(err)
	}
	return m
}

// ParseMatcher reads `name=value`, `name!=value`, `name=~regex` or
// `name!~regex`.
func ParseMatcher(s string) (Matcher, error) {
	i := strings.IndexAny(s, "=!")
	if i <= 0 {
		return Matcher{}, fmt.Errorf("%q: want name=value, name!=value, name=~regex or name!~regex", s)
	}
	name, rest := strings.TrimSpace(s[:i]), s[i:]
	var t MatchType
	switch {
	case strings.HasPrefix(rest, "=~"):
		t, rest = MatchRegexp, rest[2:]
	case strings.HasPrefix(rest, "!~"):
		t, rest = MatchNotRegexp, rest[2:]
	case strings.HasPrefix(rest, "!="):
		t, rest = MatchNotEqual, rest[2:]
	case strings.HasPrefix(rest, "="):
		t, rest = MatchEqual, rest[1:]
	default:
		return Matcher{}, fmt.Errorf("%q: want name=value, name!=value, name=~regex or name!~regex", s)
	}
	m, err := NewMatcher(name, t, strings.TrimSpace(rest))
	if err != nil {
		return Matcher{}, fmt.Errorf("%q: %w", s, err)
	}
	return m, nil
}

// Matches reports whether the tag value v (empty when absent) passes.
func (m Matcher) Matches(v string) bool {
	switch m.Type {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re != nil && m.re.MatchString(v)
	case MatchNotRegexp:
		return m.re != nil && !m.re.MatchString(v)
	}
	return false
}

// String returns the matcher as ParseMatcher reads it.
func (m Matcher) String() string { return m.Name + m.Type.String() + m.Value }

// MatchAll reports whether every matcher holds for the labels (a missing
// label is the empty string).
func MatchAll(ms []Matcher, labels map[string]string) bool { return matchAll(ms, labels) }

func matchAll(ms []Matcher, tags map[string]string) bool {
	for i := range ms {
		if !ms[i].Matches(tags[ms[i].Name]) {
			return false
		}
	}
	return true
}

// Reduce is how the points of a series in the window become one value.
type Reduce string

// The reducers. ReduceLast (the default) uses the newest point and needs no
// window; the others need one.
const (
	ReduceLast Reduce = "last"
	ReduceMean Reduce = "mean"
	ReduceMax  Reduce = "max"
	ReduceMin  Reduce = "min"
)

// Flapping suppresses notifications for a series whose level changes too
// often, as Kapacitor's flapping(low, high): it starts flapping when the
// share of level changes over the last History evaluations reaches High,
// and stops when it falls to Low or below.
type Flapping struct {
	Low, High float64
	// History is the number of evaluations looked at; 0 means
	// DefaultFlapHistory.
	History int
}

// DefaultFlapHistory is Kapacitor's default history length.
const DefaultFlapHistory = 21

// DefaultStaleAfter is how long a series of a rule without deadman may
// go without points before it is resolved and forgotten, as a container
// that was removed stops reporting. It matches Prometheus' lookback.
const DefaultStaleAfter = 5 * time.Minute

// Rule is one alert rule: which points it reads, how a series' value is
// computed, and the thresholds and timings of its states. The spec package
// maps `kind: AlertRule` onto it; built-in rules are Go values (Builtin).
type Rule struct {
	Name        string
	Measurement string
	// Field is a field name, or the difference of two ("healthy - desired")
	// so a rule can compare fields of one point. Empty only for a
	// deadman-only rule.
	Field string
	Where []Matcher
	// GroupBy lists the tags that make a series: one alert per distinct
	// value set. Nil means all tags (one alert per series); an empty,
	// non-nil slice folds every matching point into one alert.
	GroupBy []string
	Reduce  Reduce
	// Window is the span Reduce looks back over. With reduce last it is
	// optional and makes older points count for nothing. A window that
	// empties keeps the series' level: no data is not good news, and
	// Deadman or StaleAfter handle silence.
	Window time.Duration

	Warn, Crit           Condition
	WarnReset, CritReset *Condition

	// For is how long a level must hold before it fires; KeepFiringFor is
	// how long a fired level stays after its condition cleared.
	For, KeepFiringFor time.Duration
	// Deadman fires CRITICAL for a series that sent no point for this long.
	Deadman time.Duration
	// StaleAfter resolves and forgets a series without points for this
	// long (0: DefaultStaleAfter, negative: never). Rules with Deadman keep
	// their series: silence is what they report.
	StaleAfter time.Duration
	Flapping   *Flapping

	Labels map[string]string
	// Annotations are Go text/templates over {{.Labels}}, {{.Value}},
	// {{.Rule}} and {{.State}}, conventionally "summary" and "description".
	Annotations map[string]string
	Notify      []string
}

var ruleNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]*$`)

// Validate checks the rule and returns every problem, each a *FieldError.
func (r *Rule) Validate() error {
	_, err := r.compile()
	return err
}

// compiled is what an Evaluator needs beyond the Rule: parsed fields and
// templates.
type compiled struct {
	fieldA, fieldB string // fieldB non-empty: value = A - B
	reduce         Reduce
	staleAfter     time.Duration
	flapHistory    int
	annotations    map[string]*template.Template
}

func (r *Rule) compile() (*compiled, error) {
	var errs []error
	add := func(e *FieldError) { errs = append(errs, e) }
	c := &compiled{reduce: r.Reduce, staleAfter: r.StaleAfter}
	if !ruleNameRE.MatchString(r.Name) {
		add(fieldErr("name", "%q: want letters, digits, '_', '.', ':' or '-', starting with a letter or digit", r.Name))
	}
	if r.Measurement == "" {
		add(fieldErr("measurement", "required"))
	}
	thresholds := r.Warn.IsSet() || r.Crit.IsSet()
	switch {
	case r.Field == "" && thresholds:
		add(fieldErr("field", "required with warn or crit"))
	case r.Field == "" && r.Deadman <= 0:
		add(fieldErr("field", "required (or set deadman for a rule that only watches for silence)"))
	case r.Field != "":
		a, b, isDiff := strings.Cut(r.Field, " - ")
		a, b = strings.TrimSpace(a), strings.TrimSpace(b)
		if a == "" || (isDiff && b == "") || strings.ContainsAny(a+b, " \t") {
			add(fieldErr("field", "%q: want a field name or the difference of two (\"healthy - desired\")", r.Field))
		}
		c.fieldA, c.fieldB = a, b
	}
	if !thresholds && r.Deadman <= 0 {
		add(fieldErr("warn", "a rule needs warn, crit or deadman"))
	}
	for i, m := range r.Where {
		if m.Name == "" {
			add(fieldErr(fmt.Sprintf("where[%d]", i), "empty tag name"))
		} else if (m.Type == MatchRegexp || m.Type == MatchNotRegexp) && m.re == nil {
			add(fieldErr(fmt.Sprintf("where[%d]", i), "%s: build regex matchers with NewMatcher", m))
		}
	}
	for i, g := range r.GroupBy {
		if g == "" {
			add(fieldErr(fmt.Sprintf("groupBy[%d]", i), "empty tag name"))
		} else if slices.Index(r.GroupBy, g) != i {
			add(fieldErr(fmt.Sprintf("groupBy[%d]", i), "%q listed twice", g))
		}
	}
	switch r.Reduce {
	case "":
		c.reduce = ReduceLast
	case ReduceLast:
	case ReduceMean, ReduceMax, ReduceMin:
		if r.Window <= 0 {
			add(fieldErr("window", "required (> 0) with reduce %s", r.Reduce))
		}
	default:
		add(fieldErr("reduce", "%q: want last, mean, max or min", r.Reduce))
	}
	if r.Window < 0 {
		add(fieldErr("window", "%s: must not be negative", r.Window))
	}
	if r.WarnReset != nil && !r.Warn.IsSet() {
		add(fieldErr("warnReset", "set without warn"))
	}
	if r.CritReset != nil && !r.Crit.IsSet() {
		add(fieldErr("critReset", "set without crit"))
	}
	if r.WarnReset != nil && r.Warn.IsSet() && !r.WarnReset.IsSet() {
		add(fieldErr("warnReset", "empty condition"))
	}
	if r.CritReset != nil && r.Crit.IsSet() && !r.CritReset.IsSet() {
		add(fieldErr("critReset", "empty condition"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"for", r.For}, {"keepFiringFor", r.KeepFiringFor}, {"deadman", r.Deadman}} {
		if d.v < 0 {
			add(fieldErr(d.name, "%s: must not be negative", d.v))
		}
	}
	if c.staleAfter == 0 {
		c.staleAfter = DefaultStaleAfter
	}
	if c.staleAfter > 0 && c.staleAfter < r.Window {
		c.staleAfter = r.Window
	}
	if f := r.Flapping; f != nil {
		if f.Low < 0 || f.High > 1 || f.Low >= f.High {
			add(fieldErr("flapping", "low %g, high %g: want 0 <= low < high <= 1", f.Low, f.High))
		}
		c.flapHistory = f.History
		if c.flapHistory == 0 {
			c.flapHistory = DefaultFlapHistory
		}
		if c.flapHistory < 2 || c.flapHistory > 1000 {
			add(fieldErr("flapping.history", "%d: want 2 to 1000", f.History))
		}
	}
	for k := range r.Labels {
		if k == "" || k == LabelAlertName {
			add(fieldErr("labels", "%q: reserved or empty label name", k))
		}
	}
	if len(r.Annotations) > 0 {
		c.annotations = make(map[string]*template.Template, len(r.Annotations))
		for _, k := range slices.Sorted(maps.Keys(r.Annotations)) {
			tpl, err := template.New(k).Option("missingkey=zero").Parse(r.Annotations[k])
			if err != nil {
				add(&FieldError{Field: "annotations." + k, Err: err})
				continue
			}
			c.annotations[k] = tpl
		}
	}
	for i, n := range r.Notify {
		if n == "" {
			add(fieldErr(fmt.Sprintf("notify[%d]", i), "empty receiver name"))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// ParseConditionField parses a condition given for a rule field and names
// the field in the error: `warn: "> eighty": not a number`.
func ParseConditionField(field, s string) (Condition, error) {
	c, err := ParseCondition(s)
	if err != nil {
		return Condition{}, &FieldError{Field: field, Err: err}
	}
	return c, nil
}
