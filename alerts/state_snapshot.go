package alerts

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// SnapshotVersion is the format version of Snapshot; Restore refuses
// others rather than misread them.
const SnapshotVersion = 1

// Snapshot is an evaluator's state in a form that survives a restart or a
// leader move (JSON in KV swell_alerts). It holds what the state machine
// needs to continue where it stopped: states, the last reported state
// (so unchanged alerts are not notified again), the since-times that For
// and KeepFiringFor measure from, windows and flapping history.
type Snapshot struct {
	Version   int              `json:"version"`
	Rule      string           `json:"rule"`
	OutageEnd time.Time        `json:"outageEnd,omitzero"`
	Series    []SeriesSnapshot `json:"series"`
}

// SeriesSnapshot is one series in a Snapshot.
type SeriesSnapshot struct {
	Key string `json:"key"`
	// Tags are the series' group tags; the alert labels are rebuilt from
	// them and the rule as it is at restore time.
	Tags      map[string]string `json:"tags"`
	State     State             `json:"state"`
	Reported  State             `json:"reported"`
	Since     time.Time         `json:"since,omitzero"`
	Cond      State             `json:"cond"`
	WarnSince time.Time         `json:"warnSince,omitzero"`
	CritSince time.Time         `json:"critSince,omitzero"`
	BelowAt   time.Time         `json:"belowAt,omitzero"`
	LastSeen  time.Time         `json:"lastSeen,omitzero"`
	Value     float64           `json:"value"`
	HasValue  bool              `json:"hasValue,omitempty"`
	Dead      bool              `json:"dead,omitempty"`
	Stale     bool              `json:"stale,omitempty"`
	Window    []SampleSnapshot  `json:"window,omitempty"`
	FlapHist  []State           `json:"flapHistory,omitempty"`
	Flapping  bool              `json:"flapping,omitempty"`
}

// SampleSnapshot is one window sample.
type SampleSnapshot struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// Snapshot returns the evaluator's state, series ordered by key.
func (e *Evaluator) Snapshot() Snapshot {
	snap := Snapshot{Version: SnapshotVersion, Rule: e.rule.Name, OutageEnd: e.outageEnd, Series: make([]SeriesSnapshot, 0, len(e.series))}
	for _, s := range e.series {
		ss := SeriesSnapshot{
			Key: s.key, Tags: maps.Clone(s.tags),
			State: s.state, Reported: s.reported, Since: s.since,
			Cond: s.cond, WarnSince: s.warnSince, CritSince: s.critSince, BelowAt: s.belowAt,
			LastSeen: s.lastSeen, Value: s.value, HasValue: s.hasValue,
			Dead: s.dead, Stale: s.stale,
			FlapHist: slices.Clone(s.flapHist), Flapping: s.flapping,
		}
		for _, p := range s.window {
			ss.Window = append(ss.Window, SampleSnapshot{T: p.t, V: p.v})
		}
		snap.Series = append(snap.Series, ss)
	}
	slices.SortFunc(snap.Series, func(a, b SeriesSnapshot) int { return strings.Compare(a.Key, b.Key) })
	return snap
}

// MarshalSnapshot is Snapshot encoded as JSON.
func (e *Evaluator) MarshalSnapshot() ([]byte, error) {
	b, err := json.Marshal(e.Snapshot())
	if err != nil {
		return nil, fmt.Errorf("alerts: rule %q: encode snapshot: %w", e.rule.Name, err)
	}
	return b, nil
}

// RestoreJSON decodes a snapshot written by MarshalSnapshot and restores
// it.
func (e *Evaluator) RestoreJSON(b []byte, now time.Time) error {
	var snap Snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return fmt.Errorf("alerts: rule %q: decode snapshot: %w", e.rule.Name, err)
	}
	return e.Restore(snap, now)
}

// Restore replaces the evaluator's state with snap, taken before a restart
// or on the former leader; now is the time of the restore. The time swell
// was down counts as a pipeline outage, so deadman timers restart at now
// instead of firing for every series at the first tick; alerts keep their
// states and reported states, so Tick emits only what changes from here
// on — a series that resolved while swell was down comes out as a resolve
// once its points (replayed from the stream) or its staleness say so.
func (e *Evaluator) Restore(snap Snapshot, now time.Time) error {
	if snap.Version != SnapshotVersion {
		return fmt.Errorf("alerts: rule %q: snapshot version %d, want %d", e.rule.Name, snap.Version, SnapshotVersion)
	}
	if snap.Rule != e.rule.Name {
		return fmt.Errorf("alerts: rule %q: snapshot is of rule %q", e.rule.Name, snap.Rule)
	}
	restored := make(map[string]*series, len(snap.Series))
	for i, ss := range snap.Series {
		if ss.State > Critical || ss.Reported > Critical || ss.Cond > Critical {
			return fmt.Errorf("alerts: rule %q: snapshot series %d (%s): invalid state", e.rule.Name, i, ss.Key)
		}
		if _, dup := restored[ss.Key]; dup {
			return fmt.Errorf("alerts: rule %q: snapshot series %d: key %s twice", e.rule.Name, i, ss.Key)
		}
		s := e.newSeries(ss.Key, maps.Clone(ss.Tags))
		*s = series{
			key: s.key, tags: s.tags, labels: s.labels, fp: s.fp,
			state: ss.State, reported: ss.Reported, since: ss.Since,
			cond: ss.Cond, warnSince: ss.WarnSince, critSince: ss.CritSince, belowAt: ss.BelowAt,
			lastSeen: ss.LastSeen, value: ss.Value, hasValue: ss.HasValue,
			dead: ss.Dead, stale: ss.Stale,
			flapping: ss.Flapping,
		}
		if h := e.c.flapHistory; h > 0 {
			hist := ss.FlapHist
			if len(hist) > h {
				hist = hist[len(hist)-h:]
			}
			s.flapHist = slices.Clone(hist)
		}
		for _, p := range ss.Window {
			s.window = append(s.window, sample{t: p.T, v: p.V})
		}
		restored[ss.Key] = s
	}
	e.series = restored
	e.outageEnd = later(snap.OutageEnd, now)
	return nil
}
