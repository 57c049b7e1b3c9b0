// Package events records swell's decisions. An event is JSON on
// swell.events.<type>.<service or node>, kept in the stream SWELL_EVENTS for
// `swell get events`; the same event also goes, as one line-protocol point,
// to the metrics stream, so ingest writes it to InfluxDB (measurement
// swell_<type>_event) with the same guarantees as every metric, and Grafana
// can show it as an annotation.
package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/internal/bus"
)

// Type is the kind of an event.
type Type string

// The event types.
const (
	Scale    Type = "scale"
	Deploy   Type = "deploy"
	Node     Type = "node"
	Instance Type = "instance"
	Alert    Type = "alert"
)

// Valid tells whether t is a known type.
func (t Type) Valid() bool {
	switch t {
	case Scale, Deploy, Node, Instance, Alert:
		return true
	}
	return false
}

// Stream and subjects of events.
const (
	Stream     = bus.StreamEvents
	SubjectAll = bus.SubjectEventsAll
	// SourceNode is the node token under which event points travel in the
	// metrics stream (swell.metrics._events).
	SourceNode = "_events"
)

// timeLayout is RFC 3339 with a fixed nine-digit fraction, so every time has one.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// Event is one decision or observation.
type Event struct {
	// ID makes publishing idempotent (a retry is stored once).
	ID      string    `json:"id"`
	Time    time.Time `json:"-"`
	Type    Type      `json:"type"`
	Service string    `json:"service,omitempty"`
	Node    string    `json:"node,omitempty"`
	From    string    `json:"from,omitempty"`
	To      string    `json:"to,omitempty"`
	Reason  string    `json:"reason"`
	// Detail is the deciding component's own record of the event, when it
	// has more to say than from, to and reason (a scale event's mode,
	// observed values, formula and limiter). It is kept in SWELL_EVENTS,
	// not in InfluxDB.
	Detail json.RawMessage `json:"detail,omitempty"`
}

// MarshalJSON writes time as RFC 3339 with fraction.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	return json.Marshal(struct {
		Time string `json:"time"`
		plain
	}{e.Time.UTC().Format(timeLayout), plain(e)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event
	var w struct {
		Time string `json:"time"`
		plain
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return fmt.Errorf("events: time %q: %w", w.Time, err)
	}
	*e = Event(w.plain)
	e.Time = t
	return nil
}

// Subject is where the event is published.
func (e Event) Subject() string {
	about := e.Service
	if about == "" {
		about = e.Node
	}
	return "swell.events." + string(e.Type) + "." + bus.Token(about)
}

// Point encodes the event as one line of line protocol: measurement
// swell_<type>_event, tags service and node, fields from, to, reason.
func (e Event) Point() ([]byte, error) {
	var enc lineprotocol.Encoder
	enc.StartLine("swell_" + string(e.Type) + "_event")
	if e.Node != "" {
		enc.AddTag("node", e.Node)
	}
	if e.Service != "" {
		enc.AddTag("service", e.Service)
	}
	enc.AddField("from", lineprotocol.MustNewValue(e.From))
	enc.AddField("reason", lineprotocol.MustNewValue(e.Reason))
	enc.AddField("to", lineprotocol.MustNewValue(e.To))
	enc.EndLine(e.Time)
	if err := enc.Err(); err != nil {
		return nil, fmt.Errorf("events: encode %s event: %w", e.Type, err)
	}
	return enc.Bytes(), nil
}

// Publisher publishes events. It is safe for concurrent use.
type Publisher struct {
	js  jetstream.JetStream
	now func() time.Time

	mu sync.Mutex
	// last is the newest time stamped on an event: in InfluxDB two events
	// of one service and node with the same time would be one point.
	last time.Time
}

// NewPublisher returns a publisher; now stamps events without a time.
func NewPublisher(js jetstream.JetStream, now func() time.Time) *Publisher {
	if now == nil {
		now = time.Now
	}
	return &Publisher{js: js, now: now}
}

// Publish stores the event in SWELL_EVENTS and its point in the metrics
// stream, both acknowledged by JetStream. A retried Publish of the same
// event (same ID) is stored once in each.
func (p *Publisher) Publish(ctx context.Context, e Event) (Event, error) {
	if !e.Type.Valid() {
		return e, fmt.Errorf("events: unknown type %q", e.Type)
	}
	if e.Reason == "" {
		return e, errors.New("events: an event needs a reason")
	}
	if e.Time.IsZero() {
		e.Time = p.now()
	}
	p.mu.Lock()
	if !e.Time.After(p.last) {
		e.Time = p.last.Add(time.Nanosecond)
	}
	p.last = e.Time
	p.mu.Unlock()
	if e.ID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		e.ID = hex.EncodeToString(b[:])
	}
	body, err := json.Marshal(e)
	if err != nil {
		return e, fmt.Errorf("events: encode: %w", err)
	}
	if _, err := p.js.Publish(ctx, e.Subject(), body, jetstream.WithMsgID(e.ID)); err != nil {
		return e, fmt.Errorf("events: publish %s to %s: %w", e.Type, e.Subject(), err)
	}
	point, err := e.Point()
	if err != nil {
		return e, err
	}
	if _, err := p.js.Publish(ctx, bus.MetricsSubject(SourceNode), point, jetstream.WithMsgID("event:"+e.ID)); err != nil {
		return e, fmt.Errorf("events: publish %s point: %w", e.Type, err)
	}
	return e, nil
}

// Filter selects events for List.
type Filter struct {
	Type    Type
	Service string
	Node    string
	// Limit keeps the newest Limit events (0: 100).
	Limit int
}

// List returns the newest events matching f, oldest first.
func List(ctx context.Context, js jetstream.JetStream, f Filter) ([]Event, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	subject := SubjectAll
	if f.Type != "" {
		subject = "swell.events." + string(f.Type) + ".>"
		if f.Service != "" {
			subject = "swell.events." + string(f.Type) + "." + bus.Token(f.Service)
		}
	}
	stream, err := js.Stream(ctx, Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("events: open %s: %w", Stream, err)
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return nil, fmt.Errorf("events: %s info: %w", Stream, err)
	}
	// The state counts every message; the subjects map, the ones the
	// filter matches. Reading exactly that many means no fetch waits for
	// messages that will not come.
	var matched uint64
	for _, n := range info.State.Subjects {
		matched += n
	}
	if matched == 0 {
		return nil, nil
	}
	cons, err := js.OrderedConsumer(ctx, Stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return nil, fmt.Errorf("events: read %s: %w", Stream, err)
	}
	var out []Event
	for read := uint64(0); read < matched; {
		batch, err := cons.Fetch(int(min(256, matched-read)), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return nil, fmt.Errorf("events: read %s: %w", Stream, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var e Event
			if err := json.Unmarshal(m.Data(), &e); err != nil {
				continue // not swell's; nothing to show
			}
			if (f.Service != "" && e.Service != f.Service) || (f.Node != "" && e.Node != f.Node) {
				continue
			}
			out = append(out, e)
			if len(out) > limit {
				out = out[1:]
			}
		}
		if n == 0 {
			break
		}
		read += uint64(n)
	}
	return out, nil
}
