package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/autoscaler"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/spec"
)

// TestRunnerScalesOnRouterSignals plays the routers (signals on
// swell.signal.<svc>) and the agents (placements reported running and
// healthy) around a real runner on embedded NATS: a step in concurrency
// raises the service's count in its record and publishes a scale event
// with the decision's detail.
func TestRunnerScalesOnRouterSignals(t *testing.T) {
	ns := testenv.NATS(t)
	nc, js := testenv.Connect(t, ns.ClientURL())
	ctx := t.Context()
	if err := bus.EnsureKV(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	if err := bus.EnsureStreams(ctx, js, bus.StreamLimits{}); err != nil {
		t.Fatal(err)
	}
	kv := func(b string) jetstream.KeyValue {
		k, err := js.KeyValue(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	svcKV, placeKV, instKV := kv(bus.BucketServices), kv(bus.BucketPlacements), kv(bus.BucketInstances)

	s := spec.NewService("/shop/web", "web:1")
	s.Instances = 1
	s.Autoscale = &spec.Autoscale{Metric: spec.MetricConcurrency, Target: 5, TargetUtilization: 0.7, Min: 1, Max: 10,
		StableWindow: spec.Duration(6 * time.Second), PanicWindow: spec.Duration(2 * time.Second), PanicThreshold: 2,
		ScaleUp: spec.ScaleRule{MaxRate: 1000}, ScaleDown: spec.ScaleRule{MaxRate: 2, Stabilization: spec.Duration(10 * time.Second)}}
	if err := state.PutService(ctx, svcKV, state.ServiceRecord{Spec: s, Version: "v1"}, 0); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Minute)
	p := state.Placement{ID: "web-1", Service: s.ID, Node: "n1", Version: "v1", At: start}
	pb, _ := json.Marshal(p)
	if _, err := placeKV.Put(ctx, p.Key(), pb); err != nil {
		t.Fatal(err)
	}
	in := state.Instance{ID: "web-1", Service: s.ID, Node: "n1", Version: "v1", State: state.Running, Healthy: true, StartedAt: start}
	ib, _ := json.Marshal(in)
	if _, err := instKV.Put(ctx, in.Key(), ib); err != nil {
		t.Fatal(err)
	}

	r, err := New(Options{Conn: nc, JS: js, Tick: 200 * time.Millisecond, Events: events.NewPublisher(js, nil)})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	// 30 requests in flight on the one instance: ceil(30 / (5 × 0.7)) = 9.
	deadline := time.Now().Add(15 * time.Second)
	var got int
	for time.Now().Before(deadline) {
		sig := autoscaler.Signal{Service: s.ID, Node: "n1", Time: time.Now(), PeriodMS: 250,
			Instances: []autoscaler.InstanceSignal{{ID: "web-1", InFlight: 30, InFlightMax: 30}}}
		b, _ := sig.Encode()
		if err := nc.Publish("swell.signal."+bus.Token(s.ID), b); err != nil {
			t.Fatal(err)
		}
		rec, _, err := state.GetService(ctx, svcKV, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got = rec.Spec.Instances; got == 9 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if got != 9 {
		t.Fatalf("instances in the record %d, want 9", got)
	}
	evs, err := events.List(ctx, js, events.Filter{Type: events.Scale, Service: s.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 {
		t.Fatal("no scale event")
	}
	// The first tick may see only part of the step's first second; the
	// last event reaches the formula's 9.
	if evs[0].From != "1" {
		t.Errorf("first scale event %+v: want it from 1", evs[0])
	}
	last := evs[len(evs)-1]
	var detail autoscaler.ScaleEvent
	if err := json.Unmarshal(last.Detail, &detail); err != nil {
		t.Fatalf("scale event detail %s: %v", last.Detail, err)
	}
	if last.To != "9" || detail.To != 9 || detail.Formula != 9 || detail.Mode == "" || detail.Metric != spec.MetricConcurrency {
		t.Errorf("last scale event %+v, detail %+v", last, detail)
	}
	if st, ok := r.Status(s.ID); !ok || st.Desired != 9 {
		t.Errorf("Status = %+v, %v", st, ok)
	}
}

func TestTicksComeJustAfterWholeSeconds(t *testing.T) {
	base := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		now  time.Duration
		tick time.Duration
		want time.Duration
	}{
		{0, time.Second, tickLag},
		{100 * time.Millisecond, time.Second, tickLag - 100*time.Millisecond},
		{tickLag, time.Second, time.Second},
		{900 * time.Millisecond, time.Second, 450 * time.Millisecond},
		{900 * time.Millisecond, 500 * time.Millisecond, 450 * time.Millisecond},
		{200 * time.Millisecond, 200 * time.Millisecond, 150 * time.Millisecond},
	}
	for _, tc := range tests {
		if got := untilTick(base.Add(tc.now), tc.tick); got != tc.want {
			t.Errorf("untilTick(+%s, %s) = %s, want %s", tc.now, tc.tick, got, tc.want)
		}
	}
}

// TestRunnerScalesOnContainerCPU: a service whose policy is on cpu scales
// on the collectors' docker_container_cpu points as they are published.
func TestRunnerScalesOnContainerCPU(t *testing.T) {
	ns := testenv.NATS(t)
	nc, js := testenv.Connect(t, ns.ClientURL())
	ctx := t.Context()
	if err := bus.EnsureKV(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	svcKV, _ := js.KeyValue(ctx, bus.BucketServices)
	placeKV, _ := js.KeyValue(ctx, bus.BucketPlacements)
	instKV, _ := js.KeyValue(ctx, bus.BucketInstances)
	s := spec.NewService("/shop/batch", "batch:1")
	s.Instances = 1
	s.Autoscale = &spec.Autoscale{Metric: spec.MetricCPU, Target: 50, TargetUtilization: 1, Min: 1, Max: 10,
		StableWindow: spec.Duration(6 * time.Second), PanicWindow: spec.Duration(2 * time.Second), PanicThreshold: 2, Tolerance: 0.1,
		ScaleUp: spec.ScaleRule{MaxRate: 1000}, ScaleDown: spec.ScaleRule{MaxRate: 2, Stabilization: spec.Duration(10 * time.Second)}}
	if err := state.PutService(ctx, svcKV, state.ServiceRecord{Spec: s, Version: "v1"}, 0); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Minute)
	p := state.Placement{ID: "batch-1", Service: s.ID, Node: "n1", Version: "v1", At: start}
	pb, _ := json.Marshal(p)
	if _, err := placeKV.Put(ctx, p.Key(), pb); err != nil {
		t.Fatal(err)
	}
	in := state.Instance{ID: "batch-1", Service: s.ID, Node: "n1", Version: "v1", State: state.Running, Healthy: true, StartedAt: start}
	ib, _ := json.Marshal(in)
	if _, err := instKV.Put(ctx, in.Key(), ib); err != nil {
		t.Fatal(err)
	}
	r, err := New(Options{Conn: nc, JS: js, Tick: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	// 190 % of a core on the one instance, sampled every 500 ms:
	// ceil(190 / 50) = 4.
	deadline := time.Now().Add(15 * time.Second)
	got := 0
	for time.Now().Before(deadline) && got != 4 {
		line := fmt.Sprintf("docker_container_cpu,cpu=cpu-total,instance=batch-1,node=n1,service=/shop/batch usage_percent=190 %d\n", time.Now().UnixNano())
		if err := nc.Publish(bus.MetricsSubject("n1"), []byte(line)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		rec, _, err := state.GetService(ctx, svcKV, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		got = rec.Spec.Instances
	}
	if got != 4 {
		t.Fatalf("instances %d, want 4 from 190 %% CPU at 50 %% per instance", got)
	}
}
