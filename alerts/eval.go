package alerts

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Point is one metric point as the alert runner decodes it from the
// stream's line protocol. Fields hold float64, int64, uint64 or bool
// values; others (strings) are not numbers and are ignored.
type Point struct {
	Measurement string
	Tags        map[string]string
	Fields      map[string]any
	Time        time.Time
}

// EvalOptions are the evaluator's inputs beyond the rule.
type EvalOptions struct {
	// Outage reports whether the metric pipeline (NATS or the stream
	// consumer) is down at now. While it is, deadman alerts neither fire
	// nor resolve, and their timers restart when it ends: silence caused
	// by the pipeline is not the series' fault, and one outage must not
	// fire every deadman rule (Grafana #14515). Nil means never.
	Outage func(now time.Time) bool
}

// Evaluator runs one rule over the points it is fed. It keeps one state
// machine per series and does no I/O; it is not safe for concurrent use,
// the runner serialises Observe, Tick and Snapshot.
type Evaluator struct {
	rule   Rule
	c      *compiled
	opts   EvalOptions
	series map[string]*series

	// outageEnd is when the pipeline was last seen down (or the evaluator
	// restored): deadman timers count from no earlier than this.
	outageEnd time.Time

	keyBuf  []byte
	tagKeys []string
}

// NewEvaluator validates the rule and returns its evaluator.
func NewEvaluator(r Rule, opts EvalOptions) (*Evaluator, error) {
	c, err := r.compile()
	if err != nil {
		return nil, fmt.Errorf("alerts: rule %q: %w", r.Name, err)
	}
	r.Where = slices.Clone(r.Where)
	r.GroupBy = slices.Clone(r.GroupBy)
	slices.Sort(r.GroupBy) // the series key lists tags in name order
	r.Labels = maps.Clone(r.Labels)
	r.Annotations = maps.Clone(r.Annotations)
	r.Notify = slices.Clone(r.Notify)
	if r.Reduce == "" {
		r.Reduce = ReduceLast
	}
	return &Evaluator{rule: r, c: c, opts: opts, series: make(map[string]*series)}, nil
}

// Rule returns the evaluator's rule (with defaults applied).
func (e *Evaluator) Rule() Rule { return e.rule }

// Len returns the number of series the evaluator tracks.
func (e *Evaluator) Len() int { return len(e.series) }

// Observe feeds one point that arrived at now. It reports whether the
// point belongs to the rule. State changes come out of the next Tick, so
// a runner that wants millisecond alerts ticks after each batch.
func (e *Evaluator) Observe(p Point, now time.Time) bool {
	r := &e.rule
	if p.Measurement != r.Measurement || !matchAll(r.Where, p.Tags) {
		return false
	}
	var v float64
	has := false
	if e.c.fieldA != "" {
		v, has = fieldValue(p.Fields, e.c.fieldA, e.c.fieldB)
		if !has && r.Deadman <= 0 {
			return false
		}
	}
	s := e.lookup(p.Tags)
	s.lastSeen = now
	s.stale = false
	if !has {
		return true
	}
	t := p.Time
	if t.IsZero() {
		t = now
	}
	if r.Reduce == ReduceLast && r.Window == 0 {
		if len(s.window) == 1 && t.Before(s.window[0].t) {
			return true // a late point is not the last one
		}
		s.window = append(s.window[:0], sample{t, v})
	} else {
		// Points of a series arrive nearly in order; insert from the end.
		i := len(s.window)
		for i > 0 && s.window[i-1].t.After(t) {
			i--
		}
		s.window = slices.Insert(s.window, i, sample{t, v})
		e.expire(s, now)
	}
	v, ok := s.reduce(r.Reduce)
	if !ok {
		return true // the point was older than the window
	}
	s.value, s.hasValue = v, true
	c := e.level(s.cond, v)
	s.setCond(c, now)
	s.flap(r.Flapping, e.c.flapHistory, c)
	return true
}

// Expect starts tracking the series the tags belong to as if a point had
// arrived at now, so a deadman rule covers a node that is registered but
// never reported. Tracked series are left alone.
func (e *Evaluator) Expect(tags map[string]string, now time.Time) {
	if _, ok := e.series[string(e.appendKey(e.keyBuf[:0], tags))]; ok {
		return
	}
	e.lookup(tags).lastSeen = now
}

// expire drops window samples older than the window and reports whether
// any went.
func (e *Evaluator) expire(s *series, now time.Time) bool {
	if e.rule.Window <= 0 {
		return false
	}
	cut := now.Add(-e.rule.Window)
	i := 0
	for i < len(s.window) && !s.window[i].t.After(cut) {
		i++
	}
	if i == 0 {
		return false
	}
	s.window = slices.Delete(s.window, 0, i)
	return true
}

// Tick advances time to now and returns the state changes, ordered by
// series key.
func (e *Evaluator) Tick(now time.Time) []Transition {
	r := &e.rule
	outage := e.opts.Outage != nil && e.opts.Outage(now)
	if outage {
		e.outageEnd = now
	}
	var out []Transition
	for key, s := range e.series {
		// An emptied window keeps the level: no data is not good news, and
		// staleness or the deadman deal with silence.
		if e.expire(s, now) {
			if v, ok := s.reduce(r.Reduce); ok {
				s.value = v
				s.setCond(e.level(s.cond, v), now)
			}
		}
		// Silence during an outage, or while swell was down, is not the
		// series' fault: staleness and deadman count from its end.
		heard := later(s.lastSeen, e.outageEnd)
		if r.Deadman <= 0 && e.c.staleAfter > 0 && !s.stale && now.Sub(heard) >= e.c.staleAfter {
			s.stale = true
			s.window = nil
			s.hasValue = false
			s.setCond(OK, now)
		}
		dead := false
		if r.Deadman > 0 {
			if s.dead {
				// Only a point ends a deadman, not an outage ending.
				dead = now.Sub(s.lastSeen) >= r.Deadman
			} else {
				dead = !outage && now.Sub(heard) >= r.Deadman
			}
		}
		target := OK
		switch {
		case dead:
			target = Critical
		case !s.critSince.IsZero() && now.Sub(s.critSince) >= r.For:
			target = Critical
		case !s.warnSince.IsZero() && now.Sub(s.warnSince) >= r.For:
			target = Warning
		}
		next := s.state
		switch {
		case target > s.state:
			next = target
		case target < s.state:
			// Data coming back ends a deadman at once; a threshold alert
			// keeps firing for KeepFiringFor after its condition cleared.
			if (s.dead && !dead) || s.stale || r.KeepFiringFor == 0 ||
				(!s.belowAt.IsZero() && now.Sub(s.belowAt) >= r.KeepFiringFor) {
				next = target
			}
		}
		if next != s.state {
			tr := e.transition(s, s.state, next, now, dead)
			s.state, s.since = next, now
			if s.cond < next {
				s.belowAt = now
			} else {
				s.belowAt = time.Time{}
			}
			if !s.flapping {
				s.reported = next
			}
			out = append(out, tr)
		} else if !s.flapping && s.reported != s.state {
			tr := e.transition(s, s.reported, s.state, now, dead)
			tr.Reason = ReasonFlappingEnded
			s.reported = s.state
			out = append(out, tr)
		}
		s.dead = dead && s.state == Critical
		if s.stale && s.state == OK && s.reported == OK {
			delete(e.series, key)
		}
	}
	slices.SortFunc(out, func(a, b Transition) int { return strings.Compare(a.SeriesKey, b.SeriesKey) })
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (e *Evaluator) transition(s *series, from, to State, now time.Time, dead bool) Transition {
	r := &e.rule
	tr := Transition{
		Rule: r.Name, SeriesKey: s.key, Fingerprint: s.fp,
		Labels: maps.Clone(s.labels),
		From:   from, To: to, Value: s.value, At: now, Since: now,
		Suppressed: s.flapping,
	}
	switch {
	case dead && to == Critical:
		tr.Since = later(s.lastSeen, e.outageEnd).Add(r.Deadman)
		tr.Reason = fmt.Sprintf("%s: no point for %s", ReasonDeadman, now.Sub(s.lastSeen))
	case s.stale && to == OK:
		tr.Reason = fmt.Sprintf("%s: no point for %s", ReasonStale, now.Sub(s.lastSeen))
	case to == Critical:
		tr.Since = s.critSince
		tr.Reason = fmt.Sprintf("crit: %s %s", e.valueText(s), r.Crit)
	case to == Warning:
		tr.Since = s.warnSince
		tr.Reason = fmt.Sprintf("warn: %s %s", e.valueText(s), r.Warn)
	default:
		if !s.belowAt.IsZero() {
			tr.Since = s.belowAt
		}
		if s.hasValue {
			tr.Reason = "resolved: " + e.valueText(s)
		} else {
			tr.Reason = "resolved: no data"
		}
	}
	tr.Annotations = e.annotate(s, to)
	return tr
}

func (e *Evaluator) valueText(s *series) string {
	name := e.rule.Field
	if e.rule.Reduce != ReduceLast || e.rule.Window > 0 {
		name = fmt.Sprintf("%s(%s, %s)", e.rule.Reduce, name, e.rule.Window)
	}
	return name + " = " + strconv.FormatFloat(s.value, 'g', -1, 64)
}

// templateData is what annotation templates see.
type templateData struct {
	Labels map[string]string
	Value  float64
	Rule   string
	State  string
}

func (e *Evaluator) annotate(s *series, to State) map[string]string {
	if len(e.c.annotations) == 0 {
		return nil
	}
	data := templateData{Labels: s.labels, Value: s.value, Rule: e.rule.Name, State: to.String()}
	out := make(map[string]string, len(e.c.annotations))
	var b strings.Builder
	for k, tpl := range e.c.annotations {
		b.Reset()
		if err := tpl.Execute(&b, data); err != nil {
			// A broken template must not lose the alert: send the raw
			// text with the reason.
			out[k] = fmt.Sprintf("%s (template error: %v)", e.rule.Annotations[k], err)
			continue
		}
		out[k] = b.String()
	}
	return out
}

// lookup returns the series the tags belong to, creating it.
func (e *Evaluator) lookup(tags map[string]string) *series {
	e.keyBuf = e.appendKey(e.keyBuf[:0], tags)
	if s, ok := e.series[string(e.keyBuf)]; ok {
		return s
	}
	var group map[string]string
	if e.rule.GroupBy == nil {
		group = maps.Clone(tags)
	} else {
		group = make(map[string]string, len(e.rule.GroupBy))
		for _, g := range e.rule.GroupBy {
			if v := tags[g]; v != "" {
				group[g] = v
			}
		}
	}
	s := e.newSeries(string(e.keyBuf), group)
	e.series[s.key] = s
	return s
}

// newSeries builds a series from its group tags; the alert labels add the
// rule's labels and name, so a restored series follows the current rule.
func (e *Evaluator) newSeries(key string, group map[string]string) *series {
	if group == nil {
		group = map[string]string{}
	}
	labels := make(map[string]string, len(e.rule.Labels)+len(group)+1)
	maps.Copy(labels, group)
	maps.Copy(labels, e.rule.Labels)
	labels[LabelAlertName] = e.rule.Name
	return &series{key: key, tags: group, labels: labels, fp: Fingerprint(e.rule.Name, labels)}
}

// appendKey writes the series key: the group tags in name order as
// name="value" pairs.
func (e *Evaluator) appendKey(b []byte, tags map[string]string) []byte {
	names := e.rule.GroupBy
	if names == nil {
		e.tagKeys = e.tagKeys[:0]
		for k := range tags {
			e.tagKeys = append(e.tagKeys, k)
		}
		slices.Sort(e.tagKeys)
		names = e.tagKeys
	}
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k...)
		b = append(b, '=')
		b = strconv.AppendQuote(b, tags[k])
	}
	return b
}

func fieldValue(fields map[string]any, a, b string) (float64, bool) {
	va, ok := number(fields[a])
	if !ok || b == "" {
		return va, ok
	}
	vb, ok := number(fields[b])
	return va - vb, ok
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, x == x // NaN is not a value
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case int:
		return float64(x), true
	case float32:
		return float64(x), x == x
	case int32:
		return float64(x), true
	case uint32:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// Active is one firing alert, as the inhibition check and `swell get
// alerts` see it.
type Active struct {
	Fingerprint string
	Rule        string
	SeriesKey   string
	Labels      map[string]string
	State       State
	Since       time.Time
	Value       float64
}

// Active returns the series whose state is WARNING or CRITICAL, ordered by
// series key.
func (e *Evaluator) Active() []Active {
	var out []Active
	for _, s := range e.series {
		if s.state == OK {
			continue
		}
		out = append(out, Active{Fingerprint: s.fp, Rule: e.rule.Name, SeriesKey: s.key,
			Labels: maps.Clone(s.labels), State: s.state, Since: s.since, Value: s.value})
	}
	slices.SortFunc(out, func(a, b Active) int { return strings.Compare(a.SeriesKey, b.SeriesKey) })
	return out
}
