package server_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/ingest"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/leader"
	"github.com/swell-pipeline/swell/internal/server"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/spec"
)

// placementKeys lists the live placements. A read may fail while the
// cluster elects a new leader for the bucket's stream; it is retried.
func placementKeys(t *testing.T, js jetstream.JetStream) []string {
	t.Helper()
	var ps []state.Placement
	deadline := time.Now().Add(15 * time.Second)
	for {
		kv, err := js.KeyValue(t.Context(), bus.BucketPlacements)
		if err == nil {
			ps, err = state.Placements(t.Context(), kv)
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("read placements: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var keys []string
	for _, p := range ps {
		if !p.Stop {
			keys = append(keys, p.Key())
		}
	}
	sort.Strings(keys)
	return keys
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Two swell servers on a 3-node NATS cluster. Losing the NATS server the
// leader was connected to does not move the lease (the client reconnects to
// the others); when the leader itself stops, the standby takes over the
// scheduler within 10 s, and the placements it finds are neither duplicated
// nor lost.
func TestLeaderFailoverOnANATSCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster and influxd (-short)")
	}
	nats := testenv.NATSCluster(t, 3)
	influx := testenv.Influx(t)
	_, js := testenv.Connect(t, nats[2].ClientURL())

	start := func(name string, natsURL string) context.CancelFunc {
		srv, err := server.New(server.Options{
			NATS:   bus.ConnOptions{URL: natsURL},
			Influx: ingest.InfluxOptions{URL: influx.URL()},
			Name:   name,
			// Longer than a stream leader election after a NATS server
			// dies, during which heartbeats cannot be written: this test
			// is about the lease, not about node loss.
			NodeTimeout: 20 * time.Second,
			Limits:      bus.StreamLimits{Replicas: 3},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil && !strings.Contains(err.Error(), "nats") {
				t.Errorf("%s: Run: %v", name, err)
			}
		})
		return cancel
	}
	stopS1 := start("s1", nats[0].ClientURL())
	eventually(t, 30*time.Second, "s1 leads", func() bool { id, _ := leader.Current(t.Context(), js); return id == "s1" })
	start("s2", nats[1].ClientURL())

	// Three nodes that keep heartbeating, and a service of 6 instances.
	eventually(t, 10*time.Second, "state buckets", func() bool { _, err := js.KeyValue(t.Context(), bus.BucketNodes); return err == nil })
	nodesKV, _ := js.KeyValue(t.Context(), bus.BucketNodes)
	beat := func() {
		for _, n := range []string{"n1", "n2", "n3"} {
			_ = state.PutNode(t.Context(), nodesKV, state.Node{Name: n, Addr: "127.0.0.1", CPUs: 4, MemMiB: 4096, Docker: true, Heartbeat: time.Now().UTC()})
		}
	}
	beat()
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-t.Context().Done():
				return
			case <-tick.C:
				beat()
			}
		}
	}()
	svc := spec.NewService("/web", "web:1")
	svc.Instances, svc.Cpus, svc.Mem = 6, 0.1, 32
	svc.Constraints = [][]string{{"hostname", "GROUP_BY"}}
	svcKV, _ := js.KeyValue(t.Context(), bus.BucketServices)
	if err := state.PutService(t.Context(), svcKV, state.ServiceRecord{Spec: svc, Version: state.SpecVersion(svc), CreatedAt: time.Now(), UpdatedAt: time.Now()}, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "6 placements", func() bool { return len(placementKeys(t, js)) == 6 })
	before := placementKeys(t, js)

	nats[0].Shutdown()
	time.Sleep(2 * leader.DefaultLease) // several refreshes through the other servers
	if id, err := leader.Current(t.Context(), js); err != nil || id != "s1" {
		t.Fatalf("after s1's NATS server died the lease is held by %q (%v), want s1 still", id, err)
	}
	if after := placementKeys(t, js); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("placements changed when a NATS server died:\nbefore %v\nafter  %v", before, after)
	}

	stopS1()
	eventually(t, 10*time.Second, "s2 leads after s1 stopped", func() bool { id, _ := leader.Current(t.Context(), js); return id == "s2" })
	// The new leader has run several passes; the placements are the same.
	time.Sleep(3 * time.Second)
	if after := placementKeys(t, js); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("placements changed across the failover:\nbefore %v\nafter  %v", before, after)
	}
	// And it acts: scaling to 9 places 3 more.
	rec, rev, err := state.GetService(t.Context(), svcKV, "/web")
	if err != nil {
		t.Fatal(err)
	}
	rec.Spec.Instances = 9
	if err := state.PutService(t.Context(), svcKV, rec, rev); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "9 placements under the new leader", func() bool { return len(placementKeys(t, js)) == 9 })
}
