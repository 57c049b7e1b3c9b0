package events

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/ingest"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/testenv"
)

func TestEventJSONTimeAlwaysHasAFraction(t *testing.T) {
	e := Event{ID: "x", Time: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), Type: Scale, Service: "/shop/web", From: "3", To: "5", Reason: "load"}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["time"] != "2026-11-23T10:00:00.000000000Z" {
		t.Errorf("time = %v", m["time"])
	}
	for _, k := range []string{"type", "service", "from", "to", "reason"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Time.Equal(e.Time) || back.Service != e.Service || back.Type != e.Type {
		t.Errorf("round trip: %+v", back)
	}
}

func TestPublishStoresTheEventAndWritesItToInfluxDB(t *testing.T) {
	ns := testenv.NATS(t)
	_, js := testenv.Connect(t, ns.ClientURL())
	if err := bus.EnsureStreams(t.Context(), js, bus.StreamLimits{}); err != nil {
		t.Fatal(err)
	}
	influx := testenv.Influx(t)
	ing, err := ingest.New(ingest.Options{JS: js, Influx: ingest.InfluxOptions{URL: influx.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = ing.Run(t.Context()) }()

	p := NewPublisher(js, nil)
	first, err := p.Publish(t.Context(), Event{Type: Scale, Service: "/shop/web", From: "3", To: "5", Reason: "concurrency 48 > 3 × 10"})
	if err != nil {
		t.Fatal(err)
	}
	// A retry of the same event is stored once.
	if _, err := p.Publish(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(t.Context(), Event{Type: Node, Node: "n2", From: "ready", To: "lost", Reason: "no heartbeat for 10s"}); err != nil {
		t.Fatal(err)
	}
	// Two decisions of one plan share a time; both must be kept.
	at := time.Now()
	for _, to := range []string{"stopping", "pending"} {
		if _, err := p.Publish(t.Context(), Event{Type: Deploy, Service: "/shop/web", Node: "n1", To: to, Reason: "upgrade", Time: at}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Publish(t.Context(), Event{Type: "weather", Reason: "x"}); err == nil || !strings.Contains(err.Error(), "unknown type") {
		t.Errorf("unknown type accepted: %v", err)
	}

	all, err := List(t.Context(), js, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 || all[0].ID != first.ID || all[1].Node != "n2" {
		t.Fatalf("List = %+v", all)
	}
	scale, err := List(t.Context(), js, Filter{Type: Scale, Service: "/shop/web"})
	if err != nil || len(scale) != 1 || scale[0].To != "5" {
		t.Fatalf("List(scale, /shop/web) = %+v, %v", scale, err)
	}
	last, err := List(t.Context(), js, Filter{Limit: 1})
	if err != nil || len(last) != 1 || last[0].To != "pending" {
		t.Fatalf("List(limit 1) = %+v, %v", last, err)
	}

	deadline := time.Now().Add(30 * time.Second)
	for testenv.CountPoints(t, influx.URL(), "swell", "swell_scale_event") != 1 || testenv.CountPoints(t, influx.URL(), "swell", "swell_node_event") != 1 ||
		testenv.CountPoints(t, influx.URL(), "swell", "swell_deploy_event") != 2 {
		if time.Now().After(deadline) {
			t.Fatal("events did not reach InfluxDB once each")
		}
		time.Sleep(100 * time.Millisecond)
	}
	rows := testenv.Query(t, influx.URL(), "swell", `SELECT "reason", "to" FROM "swell_scale_event" WHERE "service" = '/shop/web'`)
	if len(rows) != 1 || len(rows[0].Values) != 1 || rows[0].Values[0][1] != "concurrency 48 > 3 × 10" {
		t.Errorf("InfluxDB holds %+v", rows)
	}
}
