package state

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/spec"
)

func buckets(t *testing.T) jetstream.JetStream {
	t.Helper()
	ns := testenv.NATS(t)
	_, js := testenv.Connect(t, ns.ClientURL())
	if err := bus.EnsureKV(t.Context(), js, 1); err != nil {
		t.Fatal(err)
	}
	return js
}

func TestMarksShareTheNodesBucketWithoutBeingNodes(t *testing.T) {
	js := buckets(t)
	kv, err := js.KeyValue(t.Context(), bus.BucketNodes)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := PutNode(ctx, kv, Node{Name: "n1.example", Heartbeat: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := PutCordon(ctx, kv, Cordon{Node: "n1.example", Reason: "kernel upgrade"}); err != nil {
		t.Fatal(err)
	}
	if err := PutNodeStatus(ctx, kv, NodeStatus{Node: "n1.example", Status: "ready"}); err != nil {
		t.Fatal(err)
	}
	nodes, err := Nodes(ctx, kv)
	if err != nil || len(nodes) != 1 || nodes[0].Name != "n1.example" {
		t.Fatalf("Nodes = %+v, %v; want only n1.example", nodes, err)
	}
	cs, err := Cordons(ctx, kv)
	if err != nil || cs["n1.example"].Reason != "kernel upgrade" || len(cs) != 1 {
		t.Fatalf("Cordons = %+v, %v", cs, err)
	}
	for i, want := range []bool{true, false} {
		was, err := DeleteCordon(ctx, kv, "n1.example")
		if err != nil || was != want {
			t.Errorf("DeleteCordon #%d = %v, %v; want %v", i+1, was, err, want)
		}
	}
}

func TestServiceWritesAreCompareAndSet(t *testing.T) {
	js := buckets(t)
	kv, err := js.KeyValue(t.Context(), bus.BucketServices)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	s := spec.NewService("/shop/web", "web:1")
	if _, _, err := GetService(ctx, kv, s.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetService of a missing service = %v, want ErrNotFound", err)
	}
	rec := ServiceRecord{Spec: s, Version: SpecVersion(s)}
	if err := PutService(ctx, kv, rec, 0); err != nil {
		t.Fatal(err)
	}
	if err := PutService(ctx, kv, rec, 0); err == nil {
		t.Error("creating an existing service succeeded")
	}
	got, rev, err := GetService(ctx, kv, s.ID)
	if err != nil || got.Spec.Image != "web:1" {
		t.Fatalf("GetService = %+v, %v", got, err)
	}
	if err := PutService(ctx, kv, rec, rev+10); err == nil {
		t.Error("an update at a stale revision succeeded")
	}
	if err := PutService(ctx, kv, rec, rev); err != nil {
		t.Errorf("update at the current revision: %v", err)
	}
	all, err := Services(ctx, kv)
	if err != nil || len(all) != 1 {
		t.Errorf("Services = %+v, %v", all, err)
	}
}
