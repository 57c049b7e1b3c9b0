package autoscaler

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// SignalSubjectPrefix starts the subject a router publishes a service's
// signal on: swell.signal.<service token>.
const SignalSubjectPrefix = "swell.signal."

// DefaultSignalPeriod is how often a router publishes a Signal per service.
const DefaultSignalPeriod = 250 * time.Millisecond

// Signal is what one router (one node) publishes for one service every
// period (250 ms), as JSON on swell.signal.<service>. It is the
// autoscaler's input: the router counts exactly how many requests it has
// in flight to each instance.
//
// A router publishes a Signal for every service it routes, every period,
// even when idle (in-flight 0): a missing Signal means missing data, not
// an idle service. Instances list every instance the router sends to,
// whatever their health: requests in flight to an unhealthy or draining
// instance are demand too.
//
//	{"service":"/shop/web","node":"n1","time":"2026-11-23T10:00:00.25Z",
//	 "period_ms":250,"queued":0,
//	 "instances":[{"id":"web-1","in_flight":3.2,"in_flight_max":5,
//	               "rps":41.5,"p50_ms":12.1,"p99_ms":80.4}]}
type Signal struct {
	Service string `json:"service"`
	Node    string `json:"node"`
	// Time is the end of the period the values cover.
	Time time.Time `json:"time"`
	// PeriodMS is the length of that period in milliseconds (0: 250).
	PeriodMS int `json:"period_ms,omitempty"`
	// Queued is the time-weighted average of requests the router holds
	// because no instance can take them (scale from zero): demand with no
	// instance.
	Queued    float64          `json:"queued,omitempty"`
	Instances []InstanceSignal `json:"instances"`
}

// InstanceSignal is one instance's share of a Signal.
type InstanceSignal struct {
	ID string `json:"id"`
	// InFlight is the time-weighted average of requests in flight over the
	// period; InFlightMax the most at any moment.
	InFlight    float64 `json:"in_flight"`
	InFlightMax int     `json:"in_flight_max"`
	// RPS is requests completed per second over the period; P50MS and
	// P99MS their latency percentiles in milliseconds (0 when none).
	RPS   float64 `json:"rps"`
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
}

// Period returns the period the signal covers.
func (s Signal) Period() time.Duration {
	if s.PeriodMS <= 0 {
		return DefaultSignalPeriod
	}
	return time.Duration(s.PeriodMS) * time.Millisecond
}

// Encode returns the signal's JSON.
func (s Signal) Encode() ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

// DecodeSignal reads and checks one signal message. Unknown fields are
// ignored so routers may add some before the autoscaler reads them.
func DecodeSignal(data []byte) (Signal, error) {
	var s Signal
	if err := json.Unmarshal(data, &s); err != nil {
		return Signal{}, fmt.Errorf("autoscaler: signal: %w", err)
	}
	if err := s.check(); err != nil {
		return Signal{}, err
	}
	return s, nil
}

func (s Signal) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("autoscaler: signal for %q from %q: %s", s.Service, s.Node, fmt.Sprintf(format, args...))
	}
	switch {
	case s.Service == "":
		return errors.New("autoscaler: signal: no service")
	case s.Node == "":
		return bad("no node")
	case s.Time.IsZero():
		return bad("no time")
	case s.PeriodMS < 0 || s.PeriodMS > 60_000:
		return bad("period_ms %d: want 0 to 60000", s.PeriodMS)
	case !finiteNonNeg(s.Queued):
		return bad("queued %g: want a number ≥ 0", s.Queued)
	}
	for i, in := range s.Instances {
		if in.ID == "" {
			return bad("instances[%d]: no id", i)
		}
		for _, v := range []float64{in.InFlight, in.RPS, in.P50MS, in.P99MS, float64(in.InFlightMax)} {
			if !finiteNonNeg(v) {
				return bad("instances[%d] (%s): %g: values must be numbers ≥ 0", i, in.ID, v)
			}
		}
	}
	return nil
}

func finiteNonNeg(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }

// Samples turns the signal into the core's input: one sample per instance
// and metric the router measures (concurrency, rps; connections for TCP
// services are counted as in-flight), and the queued requests as
// concurrency of no instance.
func (s Signal) Samples() []Sample {
	p := s.Period()
	out := make([]Sample, 0, 2*len(s.Instances)+1)
	if s.Queued > 0 {
		out = append(out, Sample{Node: s.Node, Metric: MetricConcurrency, Value: s.Queued, Period: p})
	}
	for _, in := range s.Instances {
		out = append(out,
			Sample{Instance: in.ID, Node: s.Node, Metric: MetricConcurrency, Value: in.InFlight, Period: p},
			Sample{Instance: in.ID, Node: s.Node, Metric: MetricConnections, Value: in.InFlight, Period: p},
			Sample{Instance: in.ID, Node: s.Node, Metric: MetricRPS, Value: in.RPS, Period: p},
		)
	}
	return out
}
