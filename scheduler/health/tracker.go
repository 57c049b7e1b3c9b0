package health

import (
	"fmt"
	"time"
)

// Status is what one probe found.
type Status int

// Probe outcomes.
const (
	// Pass: the instance answered as a healthy one does.
	Pass Status = iota
	// Fail: it did not, or not in time.
	Fail
	// Ignored: the answer says nothing either way (HTTP 1xx with
	// ignoreHttp1xx); the instance's health stays as it was.
	Ignored
)

func (s Status) String() string {
	switch s {
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	case Ignored:
		return "ignored"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Outcome is one probe's finding.
type Outcome struct {
	Status Status
	// Reason says what was seen: "HTTP 503 Service Unavailable",
	// "dial tcp …: connection refused", "exit code 1: …".
	Reason string
}

// Result is an instance's health after one probe of one check.
type Result struct {
	Instance string
	// Check is the index of the check in the service's healthChecks.
	Check int
	// Healthy is true from a passing probe until a counted failure; an
	// instance not yet seen passing is not healthy.
	Healthy bool
	// ConsecutiveFailures counts failures since the last pass, not those
	// ignored during the grace period.
	ConsecutiveFailures int
	// Kill is true once ConsecutiveFailures reached maxConsecutiveFailures
	// (never when that is 0): the instance is to be replaced.
	Kill bool
	// InGrace is true while failures are still being ignored.
	InGrace bool
	Reason  string
	At      time.Time
}

// Tracker keeps one check's state for one instance. It is a pure state
// machine: the caller passes each outcome with the time it was observed.
// It is not safe for concurrent use.
type Tracker struct {
	instance    string
	check       Check
	graceEnds   time.Time
	everHealthy bool
	healthy     bool
	failures    int
}

// NewTracker starts tracking an instance that started at startedAt; the
// grace period counts from there.
func NewTracker(instance string, check Check, startedAt time.Time) *Tracker {
	return &Tracker{instance: instance, check: check, graceEnds: startedAt.Add(check.GracePeriod)}
}

// Observe applies a probe's outcome seen at at and returns the new state.
func (t *Tracker) Observe(o Outcome, at time.Time) Result {
	inGrace := !t.everHealthy && at.Before(t.graceEnds)
	reason := o.Reason
	switch o.Status {
	case Pass:
		t.healthy, t.everHealthy, t.failures = true, true, 0
		inGrace = false
	case Fail:
		if inGrace {
			reason += " (ignored: in grace period)"
			break
		}
		t.healthy = false
		t.failures++
	case Ignored:
		reason += " (ignored)"
	}
	limit := t.check.MaxConsecutiveFailures
	return Result{
		Instance:            t.instance,
		Healthy:             t.healthy,
		ConsecutiveFailures: t.failures,
		Kill:                limit > 0 && t.failures >= limit,
		InGrace:             inGrace,
		Reason:              reason,
		At:                  at,
	}
}
