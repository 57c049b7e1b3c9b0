package controller

import (
	"context"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/internal/bus"
)

// statusLine is one decoded status point.
type statusLine struct {
	measurement, key string
	fields           map[string]int64
}

func decodeStatus(t *testing.T, b []byte) []statusLine {
	t.Helper()
	var out []statusLine
	dec := lineprotocol.NewDecoderWithBytes(b)
	for dec.Next() {
		m, err := dec.Measurement()
		if err != nil {
			t.Fatal(err)
		}
		l := statusLine{measurement: string(m), fields: map[string]int64{}}
		for {
			k, v, err := dec.NextTag()
			if err != nil {
				t.Fatal(err)
			}
			if k == nil {
				break
			}
			l.key = string(k) + "=" + string(v)
		}
		for {
			k, v, err := dec.NextField()
			if err != nil {
				t.Fatal(err)
			}
			if k == nil {
				break
			}
			l.fields[string(k)] = v.IntV()
		}
		out = append(out, l)
	}
	return out
}

func TestLeaderPublishesServiceAndNodeStatus(t *testing.T) {
	c := newCluster(t)
	threeNodes(c)
	ctl, err := New(Options{JS: c.js, Registerer: prometheus.NewRegistry(), NodeTimeout: time.Second, Tick: 100 * time.Millisecond, StatusInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ctl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	c.apply(webService(6))

	cons, err := c.js.OrderedConsumer(t.Context(), bus.StreamMetrics, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{bus.MetricsSubject(StatusSource)},
	})
	if err != nil {
		t.Fatal(err)
	}
	// waitStatus reads status batches until want holds for the latest one.
	waitStatus := func(what string, want func(map[string]statusLine) bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		var last map[string]statusLine
		for time.Now().Before(deadline) {
			msg, err := cons.Next(jetstream.FetchMaxWait(time.Second))
			if err != nil {
				continue
			}
			last = map[string]statusLine{}
			for _, l := range decodeStatus(t, msg.Data()) {
				last[l.measurement+","+l.key] = l
			}
			if want(last) {
				return
			}
		}
		t.Fatalf("%s: not within 15s; last status %v", what, last)
	}
	svc := "swell_service,service=/shop/web"
	waitStatus("six desired, running and healthy", func(m map[string]statusLine) bool {
		s, ok := m[svc]
		return ok && s.fields["desired"] == 6 && s.fields["running"] == 6 && s.fields["healthy"] == 6 &&
			m["swell_node,node=n1"].fields["ready"] == 1 && m["swell_node,node=n1"].fields["instances"] == 2
	})
	c.stopNode("n3")
	waitStatus("n3 lost", func(m map[string]statusLine) bool {
		n := m["swell_node,node=n3"]
		return n.fields["ready"] == 0 && n.fields["lost"] == 1
	})
}
