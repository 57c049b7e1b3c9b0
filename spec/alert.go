package spec

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/swell-pipeline/swell/alerts"
	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/alerts/receivers"
)

// AlertRule is one `kind: AlertRule` document. Rule turns it into the
// alerts.Rule the evaluator runs.
type AlertRule struct {
	Name        string `json:"name" yaml:"name"`
	Measurement string `json:"measurement" yaml:"measurement"`
	// Field is a field name or the difference of two ("healthy - desired").
	Field string `json:"field,omitempty" yaml:"field,omitempty"`
	// Where selects points by tag; see Matchers for the two ways to write it.
	Where Matchers `json:"where,omitempty" yaml:"where,omitempty"`
	// GroupBy: absent means all tags (one alert per series), [] folds every
	// matching point into one alert.
	GroupBy       []string          `json:"groupBy,omitempty" yaml:"groupBy,omitempty,flow"`
	Reduce        string            `json:"reduce,omitempty" yaml:"reduce,omitempty"`
	Window        Duration          `json:"window,omitempty" yaml:"window,omitempty"`
	Warn          string            `json:"warn,omitempty" yaml:"warn,omitempty"`
	Crit          string            `json:"crit,omitempty" yaml:"crit,omitempty"`
	WarnReset     string            `json:"warnReset,omitempty" yaml:"warnReset,omitempty"`
	CritReset     string            `json:"critReset,omitempty" yaml:"critReset,omitempty"`
	For           Duration          `json:"for,omitempty" yaml:"for,omitempty"`
	KeepFiringFor Duration          `json:"keepFiringFor,omitempty" yaml:"keepFiringFor,omitempty"`
	Deadman       Duration          `json:"deadman,omitempty" yaml:"deadman,omitempty"`
	Flapping      *FlappingSpec     `json:"flapping,omitempty" yaml:"flapping,omitempty,flow"`
	Labels        map[string]string `json:"labels,omitempty" yaml:"labels,omitempty" spec:"anyscalar"`
	Annotations   map[string]string `json:"annotations,omitempty" yaml:"annotations,omitempty"`
	Notify        []string          `json:"notify,omitempty" yaml:"notify,omitempty,flow"`
}

// FlappingSpec is Kapacitor's flapping(low, high) with an optional history
// length.
type FlappingSpec struct {
	Low     float64 `json:"low" yaml:"low"`
	High    float64 `json:"high" yaml:"high"`
	History int     `json:"history,omitempty" yaml:"history,omitempty"`
}

// Matchers are tag (or label) matchers as written: either a mapping
// `{service: /shop/web, node: "!=n3", image: "=~registry.local/.*"}`, where
// a value starting with =, !=, =~ or !~ carries its operator and any other
// value means equality, or a list `["service=/shop/web", "node!=n3"]`.
// They are kept in the list form, in file order.
type Matchers []string

// Parse returns the matchers; errors name the index ("[1]").
func (ms Matchers) Parse() ([]alerts.Matcher, error) {
	var out []alerts.Matcher
	var errs []error
	for i, s := range ms {
		m, err := alerts.ParseMatcher(s)
		if err != nil {
			errs = append(errs, &alerts.FieldError{Field: fmt.Sprintf("[%d]", i), Err: err})
			continue
		}
		out = append(out, m)
	}
	return out, errors.Join(errs...)
}

func (ms *Matchers) decodeNode(d *decoder, n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := fmt.Sprintf("%s[%d]", path, len(*ms))
			d.lines[p] = k.Line
			if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
				d.fail(k.Line, p, "want tag: value, got %s: %s", describe(k), describe(v))
				continue
			}
			val := v.Value
			if !slices.ContainsFunc([]string{"=", "!=", "=~", "!~"}, func(op string) bool { return strings.HasPrefix(val, op) }) {
				val = "=" + val
			}
			*ms = append(*ms, k.Value+val)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.lines[p] = item.Line
			if item.Kind != yaml.ScalarNode || item.Tag != "!!str" {
				d.fail(item.Line, p, "want a matcher like \"service=/shop/web\", got %s", describe(item))
				continue
			}
			*ms = append(*ms, item.Value)
		}
	default:
		d.fail(n.Line, path, "want a mapping {tag: value} or a list of \"tag=value\", got %s", describe(n))
	}
}

// Rule converts the document to an alerts.Rule and validates it. Errors
// are *alerts.FieldError with the YAML field name.
func (a *AlertRule) Rule() (alerts.Rule, error) {
	r := alerts.Rule{
		Name: a.Name, Measurement: a.Measurement, Field: a.Field,
		GroupBy: a.GroupBy, Reduce: alerts.Reduce(a.Reduce), Window: a.Window.D(),
		For: a.For.D(), KeepFiringFor: a.KeepFiringFor.D(), Deadman: a.Deadman.D(),
		Labels: a.Labels, Annotations: a.Annotations, Notify: a.Notify,
	}
	var errs []error
	where, err := a.Where.Parse()
	if err != nil {
		errs = append(errs, prefixField("where", err))
	}
	r.Where = where
	cond := func(field, s string) alerts.Condition {
		if s == "" {
			return alerts.Condition{}
		}
		c, err := alerts.ParseConditionField(field, s)
		if err != nil {
			errs = append(errs, err)
		}
		return c
	}
	r.Warn, r.Crit = cond("warn", a.Warn), cond("crit", a.Crit)
	if a.WarnReset != "" {
		c := cond("warnReset", a.WarnReset)
		r.WarnReset = &c
	}
	if a.CritReset != "" {
		c := cond("critReset", a.CritReset)
		r.CritReset = &c
	}
	if f := a.Flapping; f != nil {
		r.Flapping = &alerts.Flapping{Low: f.Low, High: f.High, History: f.History}
	}
	if err := joinChecks(errs, r.Validate()); err != nil {
		return alerts.Rule{}, err
	}
	return r, nil
}

// joinChecks adds the validation problems to the parse problems, leaving
// out those of fields that did not parse (an unparsed warn reads as no
// warn, which is not news).
func joinChecks(parse []error, validate error) error {
	if validate == nil || len(parse) == 0 {
		return errors.Join(append(parse, validate)...)
	}
	bad := map[string]bool{}
	root := func(f string) string {
		return strings.FieldsFunc(f, func(r rune) bool { return r == '.' || r == '[' })[0]
	}
	for _, e := range parse {
		for _, u := range unjoin(e) {
			var fe *alerts.FieldError
			if errors.As(u, &fe) {
				bad[root(fe.Field)] = true
			}
		}
	}
	out := parse
	for _, e := range unjoin(validate) {
		var fe *alerts.FieldError
		if errors.As(e, &fe) && (bad[root(fe.Field)] || (fe.Field == "warn" && (bad["crit"] || bad["warn"]))) {
			continue
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// prefixField puts name in front of the field of every FieldError in err.
func prefixField(name string, err error) error {
	var out []error
	for _, e := range unjoin(err) {
		var fe *alerts.FieldError
		if errors.As(e, &fe) {
			out = append(out, &alerts.FieldError{Field: name + fe.Field, Err: fe.Err})
		} else {
			out = append(out, &alerts.FieldError{Field: name, Err: e})
		}
	}
	return errors.Join(out...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

// fieldProblems turns the FieldErrors of err into problems at their lines.
func fieldProblems(err error, d *decoder, docLine int) []Problem {
	var out []Problem
	for _, e := range unjoin(err) {
		var fe *alerts.FieldError
		if !errors.As(e, &fe) {
			out = append(out, Problem{Line: docLine, Msg: e.Error()})
			continue
		}
		// alerts names fields "flapping" or "annotations.summary"; the
		// decoder recorded them by the same paths.
		if d.bad[fe.Field] || d.bad[strings.SplitN(fe.Field, "[", 2)[0]] {
			continue
		}
		out = append(out, Problem{Line: lineOf(d.lines, fe.Field, docLine), Field: fe.Field, Msg: fe.Err.Error()})
	}
	return out
}

func loadAlertRule(file string, root *yaml.Node) (*Document, map[string]int, []Problem) {
	d := &decoder{lines: map[string]int{}, bad: map[string]bool{}}
	var a AlertRule
	d.decode(root, reflect.ValueOf(&a).Elem(), "", false)
	problems := d.problems
	if _, err := a.Rule(); err != nil {
		problems = append(problems, fieldProblems(err, d, root.Line)...)
	}
	return &Document{Kind: KindAlertRule, File: file, Line: root.Line, AlertRule: &a}, d.lines, problems
}

// Route is one `kind: Route` document: which alerts (by label matchers) go
// to which receivers, grouped and timed how. Routes are tried in the order
// they were applied; the first that matches takes the alert unless it says
// continue.
type Route struct {
	Name      string   `json:"name" yaml:"name"`
	Matchers  Matchers `json:"matchers,omitempty" yaml:"matchers,omitempty"`
	Receivers []string `json:"receivers" yaml:"receivers,flow"`
	// GroupBy lists the labels that make a notification group; absent
	// means alertname, ["..."] every label.
	GroupBy []string `json:"groupBy,omitempty" yaml:"groupBy,omitempty,flow"`
	// GroupWait absent: 0s for CRITICAL, 10s otherwise.
	GroupWait         *Duration      `json:"groupWait,omitempty" yaml:"groupWait,omitempty"`
	GroupInterval     Duration       `json:"groupInterval" yaml:"groupInterval"`
	RepeatInterval    Duration       `json:"repeatInterval" yaml:"repeatInterval"`
	Continue          bool           `json:"continue,omitempty" yaml:"continue,omitempty"`
	MuteTimeIntervals []TimeInterval `json:"muteTimeIntervals,omitempty" yaml:"muteTimeIntervals,omitempty"`
	// EscalateAfter: a CRITICAL alert neither resolved nor silenced this
	// long after it fired goes to the route's SMS receivers; 0 sends to
	// them at once like to any receiver.
	EscalateAfter Duration `json:"escalateAfter,omitempty" yaml:"escalateAfter,omitempty"`
}

// TimeInterval is a mute window: weekdays ("monday", "saturday:sunday")
// and times of day ("22:00-08:00") in a location (default UTC).
type TimeInterval struct {
	Weekdays []string `json:"weekdays,omitempty" yaml:"weekdays,omitempty,flow"`
	Times    []string `json:"times,omitempty" yaml:"times,omitempty,flow"`
	Location string   `json:"location,omitempty" yaml:"location,omitempty"`
}

func (r *Route) defaults() {
	r.GroupInterval = Duration(alerts.DefaultGroupInterval)
	r.RepeatInterval = Duration(alerts.DefaultRepeatInterval)
}

// AlertsRoute converts the document to an alerts.Route and validates it.
func (r *Route) AlertsRoute() (alerts.Route, error) {
	out := alerts.Route{
		Name: r.Name, Receivers: r.Receivers, GroupBy: r.GroupBy,
		GroupInterval: r.GroupInterval.D(), RepeatInterval: r.RepeatInterval.D(),
		Continue: r.Continue, EscalateAfter: r.EscalateAfter.D(),
	}
	if r.GroupWait != nil {
		w := r.GroupWait.D()
		out.GroupWait = &w
	}
	var errs []error
	ms, err := r.Matchers.Parse()
	if err != nil {
		errs = append(errs, prefixField("matchers", err))
	}
	out.Matchers = ms
	for i, ti := range r.MuteTimeIntervals {
		at := fmt.Sprintf("muteTimeIntervals[%d]", i)
		iv, err := alerts.ParseTimeInterval(ti.Weekdays, ti.Times, ti.Location)
		if err != nil {
			errs = append(errs, prefixField(at, err))
			continue
		}
		out.MuteTimeIntervals = append(out.MuteTimeIntervals, iv)
	}
	if err := joinChecks(errs, out.Validate()); err != nil {
		return alerts.Route{}, err
	}
	return out, nil
}

func loadRoute(file string, root *yaml.Node) (*Document, map[string]int, []Problem) {
	d := &decoder{lines: map[string]int{}, bad: map[string]bool{}}
	var r Route
	r.defaults()
	d.decode(root, reflect.ValueOf(&r).Elem(), "", false)
	problems := d.problems
	if _, err := r.AlertsRoute(); err != nil {
		problems = append(problems, fieldProblems(err, d, root.Line)...)
	}
	return &Document{Kind: KindRoute, File: file, Line: root.Line, Route: &r}, d.lines, problems
}

// Receiver is one `kind: Receiver` document: a name, a type from
// receivers.Builtin, and that type's own settings.
//
// Secrets in the settings are written as ${ENV_VAR} or file:/path and are
// resolved when the document is loaded, in the environment and file system
// of the process that loads it (the swell server). Only files an operator
// applies are trusted: whoever may apply a Receiver may read the server's
// environment and files into a request to a URL of their choice.
type Receiver struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Config holds the settings as written, secret references unresolved,
	// so the receiver can be stored and built again (Build).
	Config map[string]any `json:"config,omitempty"`

	notifier notify.Notifier
	// secrets are the settings of type notify.Secret (by YAML name), for
	// Redacted.
	secrets []string
}

var secretType = reflect.TypeFor[notify.Secret]()

// secretFields lists the YAML names of a Config's secret settings: a
// Secret, or a map or list of them (headers).
func secretFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		ft := f.Type
		switch {
		case name == "-" || !f.IsExported():
		case strings.Contains(opts, "inline") && ft.Kind() == reflect.Struct:
			out = append(out, secretFields(ft)...)
		case ft == secretType || ((ft.Kind() == reflect.Map || ft.Kind() == reflect.Slice) && ft.Elem() == secretType):
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			out = append(out, name)
		}
	}
	return out
}

// Redacted returns the receiver with every secret setting written as a
// literal value replaced by notify.Mask, for API output. References
// (${ENV}, file:/path) stay: they name where the secret is, not what it
// is. Store the receiver itself, not this copy.
func (r *Receiver) Redacted() Receiver {
	out := Receiver{Name: r.Name, Type: r.Type, Config: maps.Clone(r.Config)}
	mask := func(v any) any {
		if s, ok := v.(string); ok && (strings.Contains(s, "${") || strings.HasPrefix(s, "file:")) {
			return s
		}
		return notify.Mask
	}
	names, known := r.secretNames()
	if !known {
		// A type this build does not know: mask every setting.
		names = slices.Collect(maps.Keys(out.Config))
	}
	for _, name := range names {
		switch v := out.Config[name].(type) {
		case nil:
		case map[string]any:
			m := make(map[string]any, len(v))
			for k, x := range v {
				m[k] = mask(x)
			}
			out.Config[name] = m
		case []any:
			l := make([]any, len(v))
			for i, x := range v {
				l[i] = mask(x)
			}
			out.Config[name] = l
		default:
			out.Config[name] = mask(v)
		}
	}
	return out
}

// secretNames lists the receiver's secret settings. Load and Build record
// them; a receiver read back from storage asks its type. known is false
// for a type this build does not have.
func (r *Receiver) secretNames() (names []string, known bool) {
	if r.secrets != nil {
		return r.secrets, true
	}
	spec, ok := receivers.Builtin()[r.Type]
	if !ok {
		return nil, false
	}
	_, _ = spec.New(func(config any) error {
		t := reflect.TypeOf(config)
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Struct {
			names = secretFields(t)
		}
		return errSecretsListed
	})
	return names, true
}

var errSecretsListed = errors.New("secret settings listed")

// Notifier returns the receiver Load built.
func (r *Receiver) Notifier() notify.Notifier { return r.notifier }

// SMS reports whether the receiver's type sends SMS (an escalation target).
func (r *Receiver) SMS() bool { return receivers.Builtin()[r.Type].SMS }

// Build makes the receiver again from its stored Config, resolving
// secrets now.
func (r *Receiver) Build() (notify.Notifier, error) {
	spec, ok := receivers.Builtin()[r.Type]
	if !ok {
		return nil, fmt.Errorf("receiver %s: unknown type %q", r.Name, r.Type)
	}
	var n yaml.Node
	if err := n.Encode(r.Config); err != nil {
		return nil, fmt.Errorf("receiver %s: %w", r.Name, err)
	}
	if r.Config == nil {
		n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	nt, err := spec.New(strictDecode(&n, nil, &r.secrets))
	if err != nil {
		return nil, fmt.Errorf("receiver %s (%s): %w", r.Name, r.Type, err)
	}
	return nt, nil
}

var receiverNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// strictDecode decodes a receiver's settings into its Config, refusing
// unknown fields (with their lines, into problems when given).
func strictDecode(n *yaml.Node, problems *[]Problem, secrets *[]string) receivers.Decode {
	return func(config any) error {
		t := reflect.TypeOf(config)
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Struct && secrets != nil {
			*secrets = secretFields(t)
		}
		if t.Kind() == reflect.Struct {
			names := yamlNames(t)
			var unknown []string
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if contains(names, k.Value) {
					continue
				}
				msg := fmt.Sprintf("unknown field %q", k.Value)
				if s := suggest(k.Value, names); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				if problems != nil {
					*problems = append(*problems, Problem{Line: k.Line, Msg: msg})
				}
				unknown = append(unknown, msg)
			}
			if len(unknown) > 0 {
				return errAlreadyReported{errors.New(strings.Join(unknown, "; "))}
			}
		}
		return n.Decode(config)
	}
}

// yamlNames lists the YAML field names of a receiver's Config, those of
// inlined structs (the template settings) included.
func yamlNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case name == "-" || !f.IsExported():
		case strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Struct:
			names = append(names, yamlNames(f.Type)...)
		case name != "":
			names = append(names, name)
		default:
			names = append(names, strings.ToLower(f.Name))
		}
	}
	return names
}

// errAlreadyReported carries problems that were recorded with their lines.
type errAlreadyReported struct{ error }

var yamlErrLine = regexp.MustCompile(`^line (\d+): (.*)$`)

func loadReceiver(file string, root *yaml.Node) (*Document, map[string]int, []Problem) {
	r := &Receiver{}
	lines := map[string]int{}
	var problems []Problem
	settings := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: root.Line, Column: root.Column}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "kind":
		case "name", "type":
			lines[k.Value] = k.Line
			if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
				problems = append(problems, Problem{Line: k.Line, Field: k.Value, Msg: "want a string, got " + describe(v)})
				continue
			}
			if k.Value == "name" {
				r.Name = v.Value
			} else {
				r.Type = v.Value
			}
		default:
			settings.Content = append(settings.Content, k, v)
		}
	}
	doc := &Document{Kind: KindReceiver, File: file, Line: root.Line, Receiver: r}
	if _, ok := lines["name"]; ok && !receiverNameRE.MatchString(r.Name) {
		problems = append(problems, Problem{Line: lines["name"], Field: "name", Msg: fmt.Sprintf("%q: want letters, digits, '_', '.' or '-', starting with a letter or digit", r.Name)})
	} else if !ok {
		problems = append(problems, Problem{Line: root.Line, Field: "name", Msg: "required"})
	}
	builtin := receivers.Builtin()
	types := make([]string, 0, len(builtin))
	for t := range builtin {
		types = append(types, t)
	}
	slices.Sort(types)
	spec, ok := builtin[r.Type]
	switch {
	case lines["type"] == 0:
		return doc, lines, append(problems, Problem{Line: root.Line, Field: "type", Msg: "required (one of " + strings.Join(types, ", ") + ")"})
	case !ok:
		msg := fmt.Sprintf("unknown receiver type %q", r.Type)
		if s := suggest(r.Type, types); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return doc, lines, append(problems, Problem{Line: lines["type"], Field: "type", Msg: msg + "; known types: " + strings.Join(types, ", ")})
	}
	if err := settings.Decode(&r.Config); err != nil {
		return doc, lines, append(problems, Problem{Line: root.Line, Msg: "settings: " + err.Error()})
	}
	nt, err := spec.New(strictDecode(settings, &problems, &r.secrets))
	var reported errAlreadyReported
	switch {
	case errors.As(err, &reported):
	case err != nil:
		if p, ok := secretProblem(settings, ""); ok {
			problems = append(problems, p)
			break
		}
		problems = append(problems, receiverProblems(r.Type, err, root.Line)...)
	default:
		r.notifier = nt
	}
	return doc, lines, problems
}

// secretProblem finds the first setting whose secret reference does not
// resolve, so its error stands at its own line. The error names the
// variable or file, never a value.
func secretProblem(n *yaml.Node, path string) (Problem, bool) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.ScalarNode && v.Tag == "!!str" && (strings.Contains(v.Value, "${") || strings.HasPrefix(v.Value, "file:")) {
				if _, err := notify.ResolveSecret(v.Value, notify.OSLookup()); err != nil {
					return Problem{Line: k.Line, Field: join(path, k.Value), Msg: err.Error()}, true
				}
			}
			if p, ok := secretProblem(v, join(path, k.Value)); ok {
				return p, true
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if p, ok := secretProblem(c, fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, true
			}
		}
	}
	return Problem{}, false
}

// receiverProblems places the errors of a receiver's decoding (yaml type
// errors carry lines) and validation (the document's line).
func receiverProblems(typ string, err error, line int) []Problem {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var out []Problem
		for _, e := range te.Errors {
			p := Problem{Line: line, Msg: e}
			if m := yamlErrLine.FindStringSubmatch(e); m != nil {
				p.Line, _ = strconv.Atoi(m[1])
				p.Msg = m[2]
			}
			out = append(out, p)
		}
		return out
	}
	return []Problem{{Line: line, Msg: fmt.Sprintf("%s receiver: %v", typ, err)}}
}

// crossCheckAlerts finds two rules, receivers or routes with one name.
func crossCheckAlerts(docs []Document, lines []map[string]int) []Problem {
	var problems []Problem
	seen := map[string]int{}
	for i, d := range docs {
		var name string
		switch {
		case d.AlertRule != nil:
			name = d.AlertRule.Name
		case d.Receiver != nil:
			name = d.Receiver.Name
		case d.Route != nil:
			name = d.Route.Name
		default:
			continue
		}
		if name == "" {
			continue
		}
		line := lineOf(lines[i], "name", d.Line)
		key := d.Kind + "\x00" + name
		if first, dup := seen[key]; dup {
			problems = append(problems, Problem{Line: line, Field: "name", Msg: fmt.Sprintf("%s %s is already defined on line %d", d.Kind, name, first)})
			continue
		}
		seen[key] = line
	}
	return problems
}

// AlertConfig is what the alert runner needs from loaded documents.
type AlertConfig struct {
	Rules     []alerts.Rule
	Routes    []alerts.Route
	Receivers map[string]*Receiver
}

// Alerts collects the rules, routes (in document order) and receivers of
// loaded documents. Load has validated them, so errors here mean documents
// that did not come from Load.
func Alerts(docs []Document) (AlertConfig, error) {
	c := AlertConfig{Receivers: map[string]*Receiver{}}
	for _, d := range docs {
		switch {
		case d.AlertRule != nil:
			r, err := d.AlertRule.Rule()
			if err != nil {
				return AlertConfig{}, fmt.Errorf("%s:%d: alert rule %s: %w", d.File, d.Line, d.AlertRule.Name, err)
			}
			c.Rules = append(c.Rules, r)
		case d.Route != nil:
			r, err := d.Route.AlertsRoute()
			if err != nil {
				return AlertConfig{}, fmt.Errorf("%s:%d: route %s: %w", d.File, d.Line, d.Route.Name, err)
			}
			c.Routes = append(c.Routes, r)
		case d.Receiver != nil:
			c.Receivers[d.Receiver.Name] = d.Receiver
		}
	}
	return c, nil
}
