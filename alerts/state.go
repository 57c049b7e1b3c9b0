package alerts

import (
	"fmt"
	"math"
	"time"
)

// State is the level of one alert. The order matters: a higher state is
// more severe.
type State uint8

// The states of an alert.
const (
	OK State = iota
	Warning
	Critical
)

// String returns "OK", "WARNING" or "CRITICAL".
func (s State) String() string {
	switch s {
	case OK:
		return "OK"
	case Warning:
		return "WARNING"
	case Critical:
		return "CRITICAL"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText writes the state's name, so snapshots and API output read
// "CRITICAL" rather than 2.
func (s State) MarshalText() ([]byte, error) {
	if s > Critical {
		return nil, fmt.Errorf("alerts: invalid state %d", uint8(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a state's name.
func (s *State) UnmarshalText(b []byte) error {
	switch string(b) {
	case "OK":
		*s = OK
	case "WARNING":
		*s = Warning
	case "CRITICAL":
		*s = Critical
	default:
		return fmt.Errorf("alerts: unknown state %q (want OK, WARNING or CRITICAL)", b)
	}
	return nil
}

// Reasons a Transition gives besides a threshold crossing.
const (
	ReasonDeadman       = "deadman"
	ReasonStale         = "stale"
	ReasonFlappingEnded = "flapping ended"
)

// Transition is one state change of one series. Only changes are emitted,
// resolves (To == OK) included.
type Transition struct {
	Rule        string
	SeriesKey   string
	Fingerprint string
	// Labels are the series' group tags, the rule's labels and alertname.
	Labels      map[string]string
	Annotations map[string]string
	From, To    State
	// Value is the reduced value that decided the change; for a deadman it
	// is the last value seen (0 if none).
	Value float64
	// At is when the change happened (the Observe or Tick time).
	At time.Time
	// Since is when the series entered To's condition (before any For);
	// for a resolve, when it left the firing condition.
	Since  time.Time
	Reason string
	// Suppressed marks a change made while the series is flapping: the
	// state machine follows it, notifiers should not send it. When the
	// flapping ends, a transition from the last unsuppressed state to the
	// current one catches notifiers up.
	Suppressed bool
}

// sample is one point in a series' window.
type sample struct {
	t time.Time
	v float64
}

// series is the state of one alert. Times are zero when unset.
type series struct {
	key    string
	tags   map[string]string // the group tags of the series
	labels map[string]string // alert labels: tags + rule labels + alertname
	fp     string

	window   []sample // oldest first; for reduce=last only the newest
	value    float64
	hasValue bool
	lastSeen time.Time // arrival time of the last matching point

	cond      State     // level the thresholds (with hysteresis) give now
	warnSince time.Time // cond has been >= Warning since
	critSince time.Time // cond has been Critical since
	belowAt   time.Time // cond dropped below state at

	state    State
	since    time.Time // state entered at
	reported State     // last state sent in an unsuppressed transition
	dead     bool      // state is Critical because of the deadman
	stale    bool

	flapHist []State // last levels, oldest first
	flapping bool
}

// level applies the thresholds to v with hysteresis: a level, once
// reached, is kept until its reset condition (if any) holds.
func (e *Evaluator) level(prev State, v float64) State {
	r := &e.rule
	if r.Crit.Match(v) {
		return Critical
	}
	if prev == Critical && r.CritReset != nil && !r.CritReset.Match(v) {
		return Critical
	}
	if r.Warn.Match(v) {
		return Warning
	}
	if prev >= Warning && r.WarnReset != nil && !r.WarnReset.Match(v) && r.Warn.IsSet() {
		return Warning
	}
	return OK
}

// setCond records the condition level at now and keeps the since-times
// that For and KeepFiringFor measure from.
func (s *series) setCond(c State, now time.Time) {
	s.cond = c
	if c >= Warning {
		if s.warnSince.IsZero() {
			s.warnSince = now
		}
	} else {
		s.warnSince = time.Time{}
	}
	if c == Critical {
		if s.critSince.IsZero() {
			s.critSince = now
		}
	} else {
		s.critSince = time.Time{}
	}
	if c < s.state {
		if s.belowAt.IsZero() {
			s.belowAt = now
		}
	} else {
		s.belowAt = time.Time{}
	}
}

// reduce computes the series' value from its window.
func (s *series) reduce(how Reduce) (float64, bool) {
	if len(s.window) == 0 {
		return 0, false
	}
	switch how {
	case ReduceMean:
		sum := 0.0
		for _, p := range s.window {
			sum += p.v
		}
		return sum / float64(len(s.window)), true
	case ReduceMax:
		m := math.Inf(-1)
		for _, p := range s.window {
			m = max(m, p.v)
		}
		return m, true
	case ReduceMin:
		m := math.Inf(1)
		for _, p := range s.window {
			m = min(m, p.v)
		}
		return m, true
	}
	return s.window[len(s.window)-1].v, true
}

// flap records one evaluation's level and updates the flapping flag.
func (s *series) flap(f *Flapping, history int, c State) {
	if f == nil {
		return
	}
	if len(s.flapHist) == history {
		copy(s.flapHist, s.flapHist[1:])
		s.flapHist = s.flapHist[:history-1]
	}
	s.flapHist = append(s.flapHist, c)
	changes := 0
	for i := 1; i < len(s.flapHist); i++ {
		if s.flapHist[i] != s.flapHist[i-1] {
			changes++
		}
	}
	// A fixed denominator keeps a young series from flapping on its first
	// change.
	ratio := float64(changes) / float64(history-1)
	switch {
	case !s.flapping && ratio >= f.High:
		s.flapping = true
	case s.flapping && ratio <= f.Low:
		s.flapping = false
	}
}
