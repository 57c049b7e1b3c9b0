package connections

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/swell-pipeline/swell/internal/bus"
)

// SignalKind marks this input's signals among the others that share a
// service's subject (the router's are "concurrency", the executor's
// health signals have none).
const SignalKind = "connections"

// SignalSubject is the subject of a service's signals,
// swell.signal.<service token>, shared with the routers and the executor.
func SignalSubject(service string) string { return "swell.signal." + bus.Token(service) }

// Publisher sends one message; *nats.Conn is one.
type Publisher interface {
	Publish(subject string, data []byte) error
}

// Signal is what RunSignals publishes per service every interval: the
// established connections of each of the service's instances on this
// node. Its JSON is read by the autoscaler as a router's signal
// (autoscaler.Signal, which ignores the fields it does not know): an
// instance's connections are its in-flight count, which feeds both the
// concurrency and the connections metrics. Each value is a sample taken
// at Time that stands for the whole period.
type Signal struct {
	Kind    string `json:"kind"`
	Service string `json:"service"`
	// Node is the node whose containers were counted.
	Node string `json:"node"`
	// Time is when the tables were read, the end of the period.
	Time      time.Time        `json:"time"`
	PeriodMS  int              `json:"period_ms"`
	Instances []InstanceSignal `json:"instances"`
}

// InstanceSignal is one instance's count: established connections on all
// its counted ports.
type InstanceSignal struct {
	ID          string  `json:"id"`
	Node        string  `json:"node"`
	Connections int64   `json:"connections"`
	InFlight    float64 `json:"in_flight"`
	InFlightMax int64   `json:"in_flight_max"`
	InFlightNow int64   `json:"in_flight_now"`
}

// RunSignals publishes every service's Signal every SignalInterval until
// ctx ends. It is the autoscaler's input for services the routers do not
// serve; an engine or publish failure costs one period and is logged.
func (in *Input) RunSignals(ctx context.Context, pub Publisher) error {
	t := in.clk.NewTicker(in.interval)
	defer t.Stop()
	failing := false
	for {
		err := in.publishSignals(ctx, pub)
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			in.log.Warn("connection signals not sent; retrying every interval", "interval", in.interval, "err", err)
			failing = true
		case err != nil:
			in.log.Debug("connection signals not sent", "err", err)
		case failing:
			in.log.Info("connection signals sent again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
	}
}

func (in *Input) publishSignals(ctx context.Context, pub Publisher) error {
	counts, errs, err := in.count(ctx)
	if err != nil {
		return err
	}
	for _, e := range errs {
		in.log.Debug("container not counted", "err", e)
	}
	for _, sig := range in.signals(counts, in.clk.Now()) {
		b, err := json.Marshal(sig)
		if err != nil {
			return err
		}
		if err := pub.Publish(SignalSubject(sig.Service), b); err != nil {
			return err
		}
	}
	return nil
}

// signals groups counts by service, services and instances in name order.
func (in *Input) signals(counts []count, now time.Time) []Signal {
	by := map[string]*Signal{}
	var names []string
	for _, c := range counts {
		s := by[c.service]
		if s == nil {
			s = &Signal{Kind: SignalKind, Service: c.service, Node: in.node, Time: now.UTC(), PeriodMS: int(in.interval / time.Millisecond)}
			by[c.service] = s
			names = append(names, c.service)
		}
		n := int64(c.total())
		s.Instances = append(s.Instances, InstanceSignal{
			ID: c.instance, Node: in.node, Connections: n, InFlight: float64(n), InFlightMax: n, InFlightNow: n,
		})
	}
	slices.Sort(names)
	out := make([]Signal, 0, len(names))
	for _, name := range names {
		s := by[name]
		slices.SortFunc(s.Instances, func(a, b InstanceSignal) int { return cmp.Compare(a.ID, b.ID) })
		out = append(out, *s)
	}
	return out
}
