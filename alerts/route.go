package alerts

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/swell-pipeline/swell/alerts/notify"
)

// Route timing defaults, Alertmanager's except groupWait, which is 0 for
// CRITICAL alerts so a crossing reaches people in milliseconds.
const (
	DefaultGroupWait      = 10 * time.Second
	DefaultGroupInterval  = 5 * time.Minute
	DefaultRepeatInterval = 4 * time.Hour
)

// GroupByAll in a route's GroupBy groups by every label: one notification
// group per alert.
const GroupByAll = "..."

// TimeRange is a span of the day in minutes from midnight. Start > End
// wraps past midnight ("22:00-08:00").
type TimeRange struct{ Start, End int }

// TimeInterval is a mute window: a route sends nothing while now falls in
// one of its intervals.
type TimeInterval struct {
	Weekdays []time.Weekday // empty: every day
	Times    []TimeRange    // empty: all day
	Location *time.Location // nil: UTC
}

// ParseTimeInterval reads weekdays ("monday", "saturday:sunday"), times
// ("09:00-17:00") and an IANA location ("Asia/Shanghai", "" for UTC).
func ParseTimeInterval(weekdays, times []string, location string) (TimeInterval, error) {
	var ti TimeInterval
	var errs []error
	for i, w := range weekdays {
		from, to, isRange := strings.Cut(strings.ToLower(strings.TrimSpace(w)), ":")
		a, okA := weekdayNames[from]
		b, okB := a, okA
		if isRange {
			b, okB = weekdayNames[to]
		}
		if !okA || !okB {
			errs = append(errs, fieldErr(fmt.Sprintf(".weekdays[%d]", i), "%q: want a weekday name (monday) or a range (monday:friday)", w))
			continue
		}
		for d := a; ; d = (d + 1) % 7 {
			ti.Weekdays = append(ti.Weekdays, d)
			if d == b {
				break
			}
		}
	}
	for i, t := range times {
		r, err := parseTimeRange(t)
		if err != nil {
			errs = append(errs, &FieldError{Field: fmt.Sprintf(".times[%d]", i), Err: err})
			continue
		}
		ti.Times = append(ti.Times, r)
	}
	if location != "" {
		loc, err := time.LoadLocation(location)
		if err != nil {
			errs = append(errs, fieldErr(".location", "%q: unknown time zone", location))
		}
		ti.Location = loc
	}
	return ti, errors.Join(errs...)
}

var weekdayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

func parseTimeRange(s string) (TimeRange, error) {
	a, b, ok := strings.Cut(s, "-")
	clock := func(x string) (int, bool) {
		h, m, ok := strings.Cut(strings.TrimSpace(x), ":")
		hh, err1 := strconv.Atoi(h)
		mm, err2 := strconv.Atoi(m)
		if !ok || err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
			return 0, false
		}
		return hh*60 + mm, true
	}
	start, okA := clock(a)
	end, okB := clock(b)
	if !ok || !okA || !okB || start == end {
		return TimeRange{}, fmt.Errorf("%q: want HH:MM-HH:MM (22:00-08:00 spans midnight)", s)
	}
	return TimeRange{Start: start, End: end}, nil
}

// Contains reports whether t falls in the interval.
func (ti TimeInterval) Contains(t time.Time) bool {
	loc := ti.Location
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	min := t.Hour()*60 + t.Minute()
	day := t.Weekday()
	if len(ti.Times) == 0 {
		return len(ti.Weekdays) == 0 || slices.Contains(ti.Weekdays, day)
	}
	dayOK := func(d time.Weekday) bool { return len(ti.Weekdays) == 0 || slices.Contains(ti.Weekdays, d) }
	for _, r := range ti.Times {
		if r.Start < r.End {
			if dayOK(day) && min >= r.Start && min < r.End {
				return true
			}
			continue
		}
		// A range past midnight belongs to the day it starts on.
		if dayOK(day) && min >= r.Start {
			return true
		}
		if dayOK((day+6)%7) && min < r.End {
			return true
		}
	}
	return false
}

// Route sends the alerts its matchers select to its receivers, grouped by
// GroupBy labels and timed by groupWait, groupInterval and repeatInterval,
// as Alertmanager's routes do. Routes are tried in order; the first
// matching one takes an alert unless it has Continue.
type Route struct {
	Name      string
	Matchers  []Matcher // empty: every alert
	Receivers []string
	// GroupBy: nil means alertname; GroupByAll every label.
	GroupBy []string
	// GroupWait nil: 0 for a group whose first alert is CRITICAL,
	// DefaultGroupWait otherwise.
	GroupWait                     *time.Duration
	GroupInterval, RepeatInterval time.Duration // 0: the defaults
	Continue                      bool
	MuteTimeIntervals             []TimeInterval
	// EscalateAfter > 0 holds a route's SMS receivers back until a
	// CRITICAL alert has been neither resolved nor silenced for this long.
	EscalateAfter time.Duration
}

// Validate checks the route; errors are *FieldError.
func (r *Route) Validate() error {
	var errs []error
	if r.Name == "" {
		errs = append(errs, fieldErr("name", "required"))
	} else if !ruleNameRE.MatchString(r.Name) {
		errs = append(errs, fieldErr("name", "%q: want letters, digits, '_', '.', ':' or '-', starting with a letter or digit", r.Name))
	}
	if len(r.Receivers) == 0 {
		errs = append(errs, fieldErr("receivers", "at least one receiver is required"))
	}
	for i, n := range r.Receivers {
		if n == "" {
			errs = append(errs, fieldErr(fmt.Sprintf("receivers[%d]", i), "empty receiver name"))
		}
	}
	for i, g := range r.GroupBy {
		if g == "" || (g == GroupByAll && len(r.GroupBy) > 1) {
			errs = append(errs, fieldErr(fmt.Sprintf("groupBy[%d]", i), "%q: want label names, or \"...\" alone for every label", g))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"groupInterval", r.GroupInterval}, {"repeatInterval", r.RepeatInterval}, {"escalateAfter", r.EscalateAfter}} {
		if d.v < 0 {
			errs = append(errs, fieldErr(d.name, "%s: must not be negative", d.v))
		}
	}
	if r.GroupWait != nil && *r.GroupWait < 0 {
		errs = append(errs, fieldErr("groupWait", "%s: must not be negative", *r.GroupWait))
	}
	return errors.Join(errs...)
}

func (r Route) withDefaults() Route {
	if r.GroupInterval == 0 {
		r.GroupInterval = DefaultGroupInterval
	}
	if r.RepeatInterval == 0 {
		r.RepeatInterval = DefaultRepeatInterval
	}
	return r
}

// Muted reports whether a mute window of the route holds at now.
func (r *Route) Muted(now time.Time) bool {
	for _, ti := range r.MuteTimeIntervals {
		if ti.Contains(now) {
			return true
		}
	}
	return false
}

// MarshalText writes the matcher as ParseMatcher reads it.
func (m Matcher) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses a matcher written by MarshalText.
func (m *Matcher) UnmarshalText(b []byte) error {
	v, err := ParseMatcher(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Silence mutes the alerts whose labels all its matchers match, from
// StartsAt until EndsAt.
type Silence struct {
	ID        string    `json:"id"`
	Matchers  []Matcher `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy,omitempty"`
	Comment   string    `json:"comment,omitempty"`
}

// Active reports whether the silence holds at now.
func (s Silence) Active(now time.Time) bool {
	return !now.Before(s.StartsAt) && now.Before(s.EndsAt)
}

// Expired reports whether the silence ended before now.
func (s Silence) Expired(now time.Time) bool { return !now.Before(s.EndsAt) }

// Silences reports whether s silences an alert with these labels at now.
func (s Silence) Silences(labels map[string]string, now time.Time) bool {
	return len(s.Matchers) > 0 && s.Active(now) && matchAll(s.Matchers, labels)
}

// Dispatch is one notification the router wants sent. The runner sends it
// and reports the outcome with Delivered, which is what makes it count
// as sent (and so not sent again after a restart).
type Dispatch struct {
	Route        string
	Notification notify.Notification
	// Firing and Resolved are the fingerprints the notification reports.
	Firing, Resolved []string
	// Escalation marks a notification to SMS receivers after EscalateAfter.
	Escalation bool
}

// Router is the deterministic notification core: transitions in, groups
// kept, Dispatches out at the times the routes say. It does no I/O and is
// not safe for concurrent use.
type Router struct {
	routes   []Route
	sms      func(string) bool
	groups   map[string]*group
	silences []Silence
}

type groupAlert struct {
	Alert     notify.Alert `json:"alert"`
	State     State        `json:"state"`
	CritSince time.Time    `json:"critSince,omitzero"`
	Escalated bool         `json:"escalated,omitempty"`
}

type sentRecord struct {
	Firing []string  `json:"firing"`
	At     time.Time `json:"at"`
}

type group struct {
	Key       string                 `json:"key"`
	Route     string                 `json:"route"`
	Labels    map[string]string      `json:"labels"`
	Alerts    map[string]*groupAlert `json:"alerts"`
	NextFlush time.Time              `json:"nextFlush,omitzero"`
	LastFlush time.Time              `json:"lastFlush,omitzero"`
	// Sent is the notification log: per receiver, what it was last told.
	Sent map[string]*sentRecord `json:"sent,omitempty"`
	// inflight are dispatched, not yet delivered; never persisted, so a
	// crash before delivery sends again rather than loses.
	inflight map[string]*sentRecord
}

// RouterOptions configure a Router.
type RouterOptions struct {
	Routes []Route
	// SMS reports whether a receiver sends SMS (escalation targets);
	// nil means none do.
	SMS func(receiver string) bool
}

// NewRouter validates the routes.
func NewRouter(o RouterOptions) (*Router, error) {
	r := &Router{sms: o.SMS, groups: map[string]*group{}}
	if r.sms == nil {
		r.sms = func(string) bool { return false }
	}
	names := map[string]bool{}
	for i, rt := range o.Routes {
		if err := rt.Validate(); err != nil {
			return nil, fmt.Errorf("alerts: route %d (%s): %w", i, rt.Name, err)
		}
		if names[rt.Name] {
			return nil, fmt.Errorf("alerts: route %s defined twice", rt.Name)
		}
		names[rt.Name] = true
		r.routes = append(r.routes, rt.withDefaults())
	}
	return r, nil
}

// RulesRoutes returns one route per rule with notify receivers, matching
// that rule's alerts by alertname: a rule's own notify list comes before
// label routing and, as it names its receivers, ends it.
func RulesRoutes(rules []Rule) []Route {
	var out []Route
	for _, r := range rules {
		if len(r.Notify) == 0 {
			continue
		}
		out = append(out, Route{
			Name:      "rule:" + r.Name,
			Matchers:  []Matcher{{Name: LabelAlertName, Type: MatchEqual, Value: r.Name}},
			Receivers: slices.Clone(r.Notify),
		})
	}
	return out
}

// SetSilences replaces the silences the router applies.
func (r *Router) SetSilences(s []Silence) { r.silences = slices.Clone(s) }

func (r *Router) silenced(labels map[string]string, now time.Time) bool {
	for _, s := range r.silences {
		if s.Silences(labels, now) {
			return true
		}
	}
	return false
}

// Match returns the routes an alert with these labels goes to.
func (r *Router) Match(labels map[string]string) []*Route {
	var out []*Route
	for i := range r.routes {
		rt := &r.routes[i]
		if !matchAll(rt.Matchers, labels) {
			continue
		}
		out = append(out, rt)
		if !rt.Continue {
			break
		}
	}
	return out
}

func groupLabels(rt *Route, labels map[string]string) map[string]string {
	by := rt.GroupBy
	if by == nil {
		by = []string{LabelAlertName}
	}
	if len(by) == 1 && by[0] == GroupByAll {
		return maps.Clone(labels)
	}
	out := map[string]string{}
	for _, k := range by {
		if v, ok := labels[k]; ok {
			out[k] = v
		}
	}
	return out
}

// groupKey is the route name and the group labels in name order, as
// Alertmanager writes it: `team{alertname="x",node="n1"}`.
func groupKey(route string, labels map[string]string) string {
	var b strings.Builder
	b.WriteString(route)
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(labels)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// Observe files a transition into the groups of the routes it matches.
// Suppressed (flapping) transitions are ignored.
func (r *Router) Observe(tr Transition, now time.Time) {
	if tr.Suppressed {
		return
	}
	for _, rt := range r.Match(tr.Labels) {
		gl := groupLabels(rt, tr.Labels)
		key := groupKey(rt.Name, gl)
		g := r.groups[key]
		if g == nil {
			if tr.To == OK {
				continue // nothing was said about it; nothing to resolve
			}
			g = &group{Key: key, Route: rt.Name, Labels: gl, Alerts: map[string]*groupAlert{}, Sent: map[string]*sentRecord{}}
			r.groups[key] = g
		}
		a := g.Alerts[tr.Fingerprint]
		if a == nil {
			if tr.To == OK {
				continue
			}
			a = &groupAlert{}
			g.Alerts[tr.Fingerprint] = a
		}
		a.State = tr.To
		a.Alert.Labels = maps.Clone(tr.Labels)
		a.Alert.Annotations = maps.Clone(tr.Annotations)
		a.Alert.Fingerprint = tr.Fingerprint
		a.Alert.Value = tr.Value
		switch tr.To {
		case OK:
			a.Alert.Status, a.Alert.EndsAt = notify.StatusResolved, tr.At
			a.CritSince = time.Time{}
		default:
			if a.Alert.Status != notify.StatusFiring {
				a.Alert.StartsAt = tr.Since
			}
			a.Alert.Status, a.Alert.EndsAt = notify.StatusFiring, time.Time{}
			a.Alert.Severity = notify.SeverityWarning
			if tr.To == Critical {
				a.Alert.Severity = notify.SeverityCritical
				if a.CritSince.IsZero() {
					a.CritSince = tr.At
				}
			} else {
				a.CritSince = time.Time{}
			}
		}
		r.schedule(g, rt, tr.To, now)
	}
}

// schedule sets when a changed group is flushed: after groupWait for a new
// group (0 for CRITICAL by default), else groupInterval after the last
// flush.
func (r *Router) schedule(g *group, rt *Route, to State, now time.Time) {
	var at time.Time
	if g.LastFlush.IsZero() {
		wait := DefaultGroupWait
		if to == Critical {
			wait = 0
		}
		if rt.GroupWait != nil {
			wait = *rt.GroupWait
		}
		at = now.Add(wait)
	} else {
		at = later(now, g.LastFlush.Add(rt.GroupInterval))
	}
	if g.NextFlush.IsZero() || at.Before(g.NextFlush) {
		g.NextFlush = at
	}
}

func (r *Router) route(name string) *Route {
	for i := range r.routes {
		if r.routes[i].Name == name {
			return &r.routes[i]
		}
	}
	return nil
}

// Tick returns the notifications due at now. inhibited holds fingerprints
// of alerts an inhibit rule mutes (see Inhibited); they are treated like
// silenced ones.
func (r *Router) Tick(now time.Time, inhibited map[string]bool) []Dispatch {
	var out []Dispatch
	for _, key := range slices.Sorted(maps.Keys(r.groups)) {
		g := r.groups[key]
		rt := r.route(g.Route)
		if rt == nil {
			delete(r.groups, key) // its route is gone
			continue
		}
		muted := func(a *groupAlert) bool {
			return inhibited[a.Alert.Fingerprint] || r.silenced(a.Alert.Labels, now)
		}
		// As in Alertmanager, a flushed group is looked at again every
		// groupInterval; the notification log decides whether that sends
		// anything (a repeat, a silence or mute window that ended, a
		// failed delivery).
		due := (!g.NextFlush.IsZero() && !now.Before(g.NextFlush)) ||
			(!g.LastFlush.IsZero() && now.Sub(g.LastFlush) >= rt.GroupInterval)
		if rt.EscalateAfter > 0 {
			for _, a := range g.Alerts {
				if a.State == Critical && !a.Escalated && !a.CritSince.IsZero() &&
					now.Sub(a.CritSince) >= rt.EscalateAfter && !muted(a) {
					a.Escalated = true
					due = true
				}
			}
		}
		if !due {
			continue
		}
		g.NextFlush, g.LastFlush = time.Time{}, now
		if !rt.Muted(now) {
			out = append(out, r.flush(g, rt, now, muted)...)
		}
		r.collect(g)
		if len(g.Alerts) == 0 {
			delete(r.groups, key)
		}
	}
	return out
}

func (r *Router) flush(g *group, rt *Route, now time.Time, muted func(*groupAlert) bool) []Dispatch {
	var out []Dispatch
	fps := slices.Sorted(maps.Keys(g.Alerts))
	for _, recv := range rt.Receivers {
		escalation := rt.EscalateAfter > 0 && r.sms(recv)
		prev := g.record(recv)
		var firing, resolved []string
		var alerts []notify.Alert
		for _, fp := range fps {
			a := g.Alerts[fp]
			if a.Alert.Status == notify.StatusResolved {
				if prev != nil && slices.Contains(prev.Firing, fp) {
					resolved = append(resolved, fp)
					alerts = append(alerts, a.Alert)
				}
				continue
			}
			if muted(a) || (escalation && !a.Escalated) {
				continue
			}
			firing = append(firing, fp)
			alerts = append(alerts, a.Alert)
		}
		send := len(resolved) > 0
		if len(firing) > 0 {
			send = send || prev == nil || !subset(firing, prev.Firing) || now.Sub(prev.At) >= rt.RepeatInterval
		}
		if !send {
			continue
		}
		if g.inflight == nil {
			g.inflight = map[string]*sentRecord{}
		}
		g.inflight[recv] = &sentRecord{Firing: firing, At: now}
		n := notify.NewNotification(recv, g.Key, maps.Clone(g.Labels), alerts)
		out = append(out, Dispatch{Route: rt.Name, Notification: n, Firing: firing, Resolved: resolved, Escalation: escalation})
	}
	return out
}

// record is what a receiver was last told, in flight or delivered.
func (g *group) record(recv string) *sentRecord {
	if s, ok := g.inflight[recv]; ok {
		return s
	}
	return g.Sent[recv]
}

// collect drops resolved alerts that no receiver still has to be told
// about: a receiver's delivered record lists an alert as firing until a
// notification with its resolve is delivered.
func (r *Router) collect(g *group) {
	for fp, a := range g.Alerts {
		if a.Alert.Status != notify.StatusResolved {
			continue
		}
		pending := false
		for _, m := range []map[string]*sentRecord{g.Sent, g.inflight} {
			for _, s := range m {
				if slices.Contains(s.Firing, fp) {
					pending = true
				}
			}
		}
		if !pending {
			delete(g.Alerts, fp)
		}
	}
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// Delivered records the outcome of a Dispatch. A delivered one enters the
// notification log; a failed one is tried again at the group's next flush,
// groupInterval after the one that made it.
func (r *Router) Delivered(d Dispatch, ok bool) {
	g := r.groups[d.Notification.GroupKey]
	if g == nil {
		return
	}
	recv := d.Notification.Receiver
	rec, has := g.inflight[recv]
	if !has {
		return
	}
	delete(g.inflight, recv)
	if ok {
		g.Sent[recv] = rec
	}
	r.collect(g)
	if len(g.Alerts) == 0 && len(g.inflight) == 0 {
		delete(r.groups, g.Key)
	}
}

// RouterSnapshot is the router's durable state: groups with their alerts
// and the notification log. Dispatches still in flight are left out, so
// after a crash they are sent again rather than lost.
type RouterSnapshot struct {
	Version int      `json:"version"`
	Groups  []*group `json:"groups"`
}

// Snapshot returns the router's state, groups ordered by key.
func (r *Router) Snapshot() RouterSnapshot {
	snap := RouterSnapshot{Version: SnapshotVersion, Groups: []*group{}}
	for _, key := range slices.Sorted(maps.Keys(r.groups)) {
		g := *r.groups[key]
		g.inflight = nil
		g.Alerts = maps.Clone(g.Alerts)
		g.Sent = maps.Clone(g.Sent)
		snap.Groups = append(snap.Groups, &g)
	}
	return snap
}

// Restore replaces the router's groups with snap's. Groups of routes that
// no longer exist are dropped; every other group is flushed at the next
// Tick, where the notification log keeps what was sent from being sent
// again.
func (r *Router) Restore(snap RouterSnapshot, now time.Time) error {
	if snap.Version != SnapshotVersion {
		return fmt.Errorf("alerts: router snapshot version %d, want %d", snap.Version, SnapshotVersion)
	}
	r.groups = map[string]*group{}
	for _, g := range snap.Groups {
		if g == nil || r.route(g.Route) == nil {
			continue
		}
		c := *g
		if c.Alerts == nil {
			c.Alerts = map[string]*groupAlert{}
		}
		if c.Sent == nil {
			c.Sent = map[string]*sentRecord{}
		}
		c.NextFlush = now
		r.groups[c.Key] = &c
	}
	return nil
}

// Reconcile resolves, at now, every alert the router holds as firing that
// is not in firing (fingerprints of the alerts the evaluators say fire).
// The runner calls it after a restore, so the alerts of a rule deleted, or
// of a rule whose state was lost, while swell was down are sent as
// resolved instead of firing forever.
func (r *Router) Reconcile(firing map[string]bool, now time.Time) {
	for _, g := range r.groups {
		changed := false
		for fp, a := range g.Alerts {
			if a.Alert.Status != notify.StatusFiring || firing[fp] {
				continue
			}
			a.State, a.CritSince = OK, time.Time{}
			a.Alert.Status, a.Alert.EndsAt = notify.StatusResolved, now
			changed = true
		}
		if changed && (g.NextFlush.IsZero() || now.Before(g.NextFlush)) {
			g.NextFlush = now
		}
	}
}

// Groups returns the number of notification groups.
func (r *Router) Groups() int { return len(r.groups) }
