package autoscaler

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/swell-pipeline/swell/internal/events"
)

// Mode is how the core decided.
type Mode string

// The modes: stable is the normal one; panic follows a burst, scales on the
// short window only and never scales down.
const (
	ModeStable Mode = "stable"
	ModePanic  Mode = "panic"
)

// Limiter names the rule that moved the count away from the formula's
// result.
type Limiter string

// The limiters. An event without one went where the formula said.
const (
	LimitNone          Limiter = ""
	LimitRate          Limiter = "rate"
	LimitStabilization Limiter = "stabilization"
	LimitMin           Limiter = "min"
	LimitMax           Limiter = "max"
	LimitSchedule      Limiter = "schedule"
	LimitFallback      Limiter = "fallback"
)

// ScaleEvent is one decision that changed a service's desired count, or
// that put it in fallback. Published as JSON on swell.events.scale.<svc>.
type ScaleEvent struct {
	Time    time.Time `json:"time"`
	Service string    `json:"service"`
	From    int       `json:"from"`
	To      int       `json:"to"`
	Mode    Mode      `json:"mode"`
	// Metric is the metric whose recommendation won; the observed values
	// are its service totals, averaged over the stable and panic windows.
	Metric         string  `json:"metric"`
	ObservedStable float64 `json:"observed_stable"`
	ObservedPanic  float64 `json:"observed_panic"`
	// Ready instances are running and healthy; Starting ones are still
	// coming up.
	Ready    int `json:"ready"`
	Starting int `json:"starting"`
	// Formula is ceil(observed / (target × targetUtilization)) for the
	// observed value the mode and direction use, before any limit.
	Formula  int     `json:"formula"`
	Limiter  Limiter `json:"limiter,omitempty"`
	Priority int     `json:"priority"`
}

// Reason says the decision in one sentence, for people and for
// events.Event.
func (e ScaleEvent) Reason() string {
	var b strings.Builder
	switch {
	case e.Limiter == LimitFallback && e.From == e.To:
		fmt.Fprintf(&b, "no signals: holding %d", e.To)
	case e.Limiter == LimitFallback:
		fmt.Fprintf(&b, "no signals: fallback from %d to %d", e.From, e.To)
	default:
		dir := "up"
		if e.To < e.From {
			dir = "down"
		}
		fmt.Fprintf(&b, "%s mode: scale %s from %d to %d; %s %s (stable) %s (panic), formula %d",
			e.Mode, dir, e.From, e.To, e.Metric, num(e.ObservedStable), num(e.ObservedPanic), e.Formula)
		if e.Limiter != LimitNone {
			fmt.Fprintf(&b, ", limited by %s", e.Limiter)
		}
	}
	fmt.Fprintf(&b, "; %d ready, %d starting; priority %d", e.Ready, e.Starting, e.Priority)
	return b.String()
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// Event is the scale event in swell's common event form (JSON on
// swell.events.scale.<svc>, point swell_scale_event in InfluxDB); the
// detail that form has no field for is in the reason.
func (e ScaleEvent) Event() events.Event {
	return events.Event{
		Time:    e.Time,
		Type:    events.Scale,
		Service: e.Service,
		From:    strconv.Itoa(e.From),
		To:      strconv.Itoa(e.To),
		Reason:  e.Reason(),
	}
}
