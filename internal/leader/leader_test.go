package leader

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/testenv"
)

type candidate struct {
	e       *Elector
	cancel  context.CancelFunc
	done    chan error
	leading atomic.Int32 // lead functions running now
	terms   atomic.Int32
}

func campaign(t *testing.T, js jetstream.JetStream, id string, lease time.Duration) *candidate {
	t.Helper()
	e, err := New(Options{JS: js, ID: id, Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	c := &candidate{e: e, cancel: cancel, done: make(chan error, 1)}
	go func() {
		c.done <- e.Run(ctx, func(ctx context.Context) {
			c.terms.Add(1)
			c.leading.Add(1)
			<-ctx.Done()
			c.leading.Add(-1)
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-c.done; err != nil {
			t.Errorf("%s: Run: %v", id, err)
		}
	})
	return c
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// watchOverlap samples both candidates until stop is closed and counts the
// samples in which both ran the leader's work at once.
func watchOverlap(a, b *candidate, stop <-chan struct{}) *atomic.Int64 {
	var overlaps atomic.Int64
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if a.leading.Load() > 0 && b.leading.Load() > 0 {
				overlaps.Add(1)
			}
		}
	}()
	return &overlaps
}

func TestStandbyTakesOverWhenTheLeaderStopsCleanly(t *testing.T) {
	ns := testenv.NATS(t)
	_, js := testenv.Connect(t, ns.ClientURL())
	a := campaign(t, js, "a", 3*time.Second)
	waitUntil(t, 5*time.Second, "a leads", a.e.IsLeader)
	b := campaign(t, js, "b", 3*time.Second)
	stop := make(chan struct{})
	overlaps := watchOverlap(a, b, stop)
	time.Sleep(500 * time.Millisecond) // b campaigns against a held lease
	if b.e.IsLeader() {
		t.Fatal("b leads while a holds the lease")
	}
	if id, err := Current(t.Context(), js); err != nil || id != "a" {
		t.Errorf("Current = %q, %v; want a", id, err)
	}
	a.cancel()
	if err := <-a.done; err != nil {
		t.Errorf("a: Run: %v", err)
	}
	a.done <- nil // for the cleanup
	// A released lease is taken within one refresh, not a whole lease.
	waitUntil(t, 2*time.Second, "b leads after a released the lease", b.e.IsLeader)
	close(stop)
	if n := overlaps.Load(); n > 0 {
		t.Errorf("both led at once in %d samples", n)
	}
}

func TestStandbyTakesOverWithinTenSecondsOfALeaderCrash(t *testing.T) {
	ns := testenv.NATS(t)
	ncA, jsA := testenv.Connect(t, ns.ClientURL())
	_, jsB := testenv.Connect(t, ns.ClientURL())
	a := campaign(t, jsA, "a", DefaultLease)
	waitUntil(t, 5*time.Second, "a leads", a.e.IsLeader)
	b := campaign(t, jsB, "b", DefaultLease)
	stop := make(chan struct{})
	overlaps := watchOverlap(a, b, stop)

	// a's process is cut off: its connection dies and it can refresh nothing.
	ncA.Close()
	took := waitUntil(t, 10*time.Second, "b leads after a crashed", b.e.IsLeader)
	close(stop)
	t.Logf("takeover after %s", took.Round(time.Millisecond))
	if a.e.IsLeader() || a.leading.Load() != 0 {
		t.Error("a still believes it leads")
	}
	if n := overlaps.Load(); n > 0 {
		t.Errorf("both led at once in %d samples", n)
	}
	if b.terms.Load() != 1 {
		t.Errorf("b's lead ran %d times, want 1", b.terms.Load())
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	ns := testenv.NATS(t)
	_, js := testenv.Connect(t, ns.ClientURL())
	for _, o := range []Options{{ID: "a"}, {JS: js}, {JS: js, ID: "a", Lease: time.Millisecond}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

func TestLeaseOnAThreeNodeNATSCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster (-short)")
	}
	servers := testenv.NATSCluster(t, 3)
	all := servers[0].ClientURL() + "," + servers[1].ClientURL() + "," + servers[2].ClientURL()

	// a talks to the whole cluster, b only to server 2; the lease is R3.
	_, jsA := testenv.Connect(t, all)
	_, jsB := testenv.Connect(t, servers[2].ClientURL())
	newCandidate := func(js jetstream.JetStream, id string) *candidate {
		e, err := New(Options{JS: js, ID: id, Replicas: 3})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		c := &candidate{e: e, cancel: cancel, done: make(chan error, 1)}
		go func() {
			c.done <- e.Run(ctx, func(ctx context.Context) {
				c.terms.Add(1)
				c.leading.Add(1)
				<-ctx.Done()
				c.leading.Add(-1)
			})
		}()
		t.Cleanup(func() {
			cancel()
			if err := <-c.done; err != nil {
				t.Errorf("%s: Run: %v", id, err)
			}
		})
		return c
	}
	a := newCandidate(jsA, "a")
	waitUntil(t, 15*time.Second, "a leads", a.e.IsLeader)
	b := newCandidate(jsB, "b")
	stop := make(chan struct{})
	overlaps := watchOverlap(a, b, stop)

	// Losing one NATS server does not move the lease: a reconnects to the
	// others and keeps refreshing it.
	servers[0].Shutdown()
	time.Sleep(2 * DefaultLease)
	if !a.e.IsLeader() || a.terms.Load() != 1 || b.e.IsLeader() {
		t.Fatalf("after one NATS server died: a leads %v (terms %d), b leads %v", a.e.IsLeader(), a.terms.Load(), b.e.IsLeader())
	}

	// The leader itself dies: b, on another server, takes over.
	a.cancel()
	waitUntil(t, 10*time.Second, "b leads after a stopped", b.e.IsLeader)
	close(stop)
	if n := overlaps.Load(); n > 0 {
		t.Errorf("both led at once in %d samples", n)
	}
}

func TestCandidateWaitsForJetStreamInsteadOfGivingUp(t *testing.T) {
	// The candidate starts while nothing listens on the port; it must
	// campaign once the server is there.
	port := testenv.FreePort(t)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	nc, err := bus.ConnOptions{URL: url, RetryOnFailedConnect: true, MaxReconnectWait: 100 * time.Millisecond}.Connect(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	c := campaign(t, js, "late", time.Second)
	time.Sleep(500 * time.Millisecond) // a few failed attempts to open the bucket
	testenv.NATSAt(t, t.TempDir(), port)
	waitUntil(t, 20*time.Second, "the candidate leads once JetStream answers", c.e.IsLeader)
}
