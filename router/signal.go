package router

import (
	"time"

	"github.com/swell-pipeline/swell/internal/bus"
)

// SignalKind marks a router's concurrency signal among the other signals
// that share a service's subject (the executor's health signals have no
// kind).
const SignalKind = "concurrency"

// SignalSubject is the subject of a service's signals, the one the
// executor publishes health signals on: swell.signal.<service token>.
func SignalSubject(service string) string { return "swell.signal." + bus.Token(service) }

// Signal is what one router publishes on SignalSubject(service) every
// signal interval (250 ms): exact in-flight counts and latencies of every
// instance of the service it knows, as this router saw them. Each router
// sees only its own share of the traffic; a reader adds the routers up.
//
// Its JSON is autoscaler.Signal's (which the autoscaler decodes, ignoring
// the rest) plus what draining needs: kind, and per instance its node,
// version, current in-flight count and whether it is leaving the rotation.
type Signal struct {
	Kind    string `json:"kind"`
	Service string `json:"service"`
	// Node is the node of the router that measured.
	Node string `json:"node"`
	// Time is the end of the period the values cover.
	Time     time.Time `json:"time"`
	PeriodMS int       `json:"period_ms"`
	// Queued counts requests this router holds because no instance can
	// take them (scale from zero, every instance at containerConcurrency):
	// demand no instance sees yet. It is the time-weighted average over
	// the period, or the count held now when that is larger, so the signal
	// sent at once when a first request is held shows it whole.
	Queued    float64          `json:"queued,omitempty"`
	Instances []InstanceSignal `json:"instances"`
}

// InstanceSignal is one instance's period as one router saw it.
type InstanceSignal struct {
	ID      string `json:"id"`
	Node    string `json:"node"`
	Version string `json:"version,omitempty"`
	// InFlight is the time-weighted average of requests in flight over
	// the period; InFlightMax the peak; InFlightNow the count at its end.
	InFlight    float64 `json:"in_flight"`
	InFlightMax int64   `json:"in_flight_max"`
	InFlightNow int64   `json:"in_flight_now"`
	RPS         float64 `json:"rps"`
	P50MS       float64 `json:"p50_ms"`
	P99MS       float64 `json:"p99_ms"`
	// Draining says this router sends the instance no new request; with
	// InFlightNow 0 the instance is drained as far as this router goes.
	Draining bool `json:"draining,omitempty"`
}
