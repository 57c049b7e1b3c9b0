package router

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/internal/clock"
)

func testRoute(n int, mod func(i int, t *target)) route {
	r := route{Port: 10001, Service: "/t/web", Mode: ModeHTTP}
	for i := range n {
		t := target{Key: fmt.Sprintf("n1.i%d", i), Instance: fmt.Sprintf("i%d", i), Node: "n1", Version: "v1",
			Addr: fmt.Sprintf("127.0.0.1:%d", 31000+i), Ready: true}
		if mod != nil {
			mod(i, &t)
		}
		r.Targets = append(r.Targets, t)
	}
	return r
}

func newTestPool(r route) *pool {
	p := newPool(r.Service, clock.Real{}, 10, 50*time.Millisecond, nil)
	p.update(r)
	return p
}

func TestPickPrefersTheLeastLoaded(t *testing.T) {
	p := newTestPool(testRoute(2, nil))
	busy, err := p.acquire(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// With two backends, both are always compared: every pick goes to the
	// idle one while the other has a request in flight.
	for range 50 {
		b, err := p.acquire(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if b == busy {
			t.Fatalf("picked %s with a request in flight over an idle instance", b.instance)
		}
		p.release(b, time.Millisecond)
	}
}

func TestPickSpreadsOverEveryInstance(t *testing.T) {
	p := newTestPool(testRoute(5, nil))
	seen := map[string]int{}
	for range 500 {
		b, err := p.acquire(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		seen[b.instance]++
		p.release(b, time.Millisecond)
	}
	if len(seen) != 5 {
		t.Errorf("requests reached %d of 5 instances: %v", len(seen), seen)
	}
}

func TestContainerConcurrencyCapsEachInstance(t *testing.T) {
	r := testRoute(2, nil)
	r.Concurrency = 2
	p := newTestPool(r)
	var held []*backend
	for range 4 {
		b, err := p.acquire(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, b)
	}
	for _, b := range held {
		if n := b.inFlight.Load(); n != 2 {
			t.Errorf("%s has %d in flight, want exactly the cap 2", b.instance, n)
		}
	}
	// A fifth waits in the hold queue and gets the first freed slot.
	got := make(chan *backend, 1)
	go func() {
		b, err := p.acquire(context.Background(), nil)
		if err != nil {
			t.Error(err)
		}
		got <- b
	}()
	waitFor(t, "a held request", func() bool { return p.waiting.Load() == 1 })
	p.release(held[3], time.Millisecond)
	if b := <-got; b != held[3] {
		t.Errorf("the held request went to %s, want the one that freed a slot (%s)", b.instance, held[3].instance)
	}
	// Nothing frees up: the hold times out.
	if _, err := p.acquire(t.Context(), nil); !errors.Is(err, ErrQueueTimeout) {
		t.Errorf("acquire with every instance full = %v, want ErrQueueTimeout", err)
	}
}

func TestNoInstanceFailsAtOnceUnlessTheServiceScalesToZero(t *testing.T) {
	r := testRoute(1, func(_ int, t *target) { t.Ready = false })
	p := newTestPool(r)
	if _, err := p.acquire(t.Context(), nil); !errors.Is(err, ErrNoInstance) {
		t.Errorf("acquire without instance = %v, want ErrNoInstance", err)
	}
	r.ScaleToZero = true
	p.update(r)
	if _, err := p.acquire(t.Context(), nil); !errors.Is(err, ErrQueueTimeout) {
		t.Errorf("acquire of a scale-to-zero service without instance = %v, want ErrQueueTimeout", err)
	}
}

func TestHoldQueueIsBounded(t *testing.T) {
	r := testRoute(0, nil)
	r.ScaleToZero = true
	p := newPool(r.Service, clock.Real{}, 2, time.Minute, nil)
	p.update(r)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for range 2 {
		go func() { _, _ = p.acquire(ctx, nil) }()
	}
	waitFor(t, "two held requests", func() bool { return p.waiting.Load() == 2 })
	if _, err := p.acquire(t.Context(), nil); !errors.Is(err, ErrQueueFull) {
		t.Errorf("a third held request = %v, want ErrQueueFull", err)
	}
}

func TestWeightsSplitTrafficBetweenVersions(t *testing.T) {
	tests := []struct {
		name    string
		weights map[string]int
		ready   func(i int) bool
		want    map[string]bool // versions that may answer
	}{
		{"no weights: every version", nil, nil, map[string]bool{"blue": true, "green": true}},
		{"all to green", map[string]int{"green": 1}, nil, map[string]bool{"green": true}},
		{"canary", map[string]int{"blue": 90, "green": 10}, nil, map[string]bool{"blue": true, "green": true}},
		{"weighted version has nothing ready: the rest", map[string]int{"green": 1}, func(i int) bool { return i%2 == 0 }, map[string]bool{"blue": true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testRoute(6, func(i int, t *target) {
				t.Version = map[bool]string{true: "blue", false: "green"}[i%2 == 0]
				if tc.ready != nil {
					t.Ready = tc.ready(i)
				}
			})
			r.Weights = tc.weights
			p := newTestPool(r)
			seen := map[string]int{}
			for range 2000 {
				b, err := p.acquire(t.Context(), nil)
				if err != nil {
					t.Fatal(err)
				}
				seen[b.version]++
				p.release(b, time.Millisecond)
			}
			for v := range seen {
				if !tc.want[v] {
					t.Errorf("version %s answered %d requests; want only %v", v, seen[v], tc.want)
				}
			}
			for v := range tc.want {
				if seen[v] == 0 {
					t.Errorf("version %s answered nothing", v)
				}
			}
			if tc.name == "canary" && (seen["green"] < 100 || seen["green"] > 320) {
				t.Errorf("canary at 10%% got %d of 2000 requests", seen["green"])
			}
		})
	}
}

func TestAnInstanceLeavingTheRotationKeepsBeingReported(t *testing.T) {
	r := testRoute(2, nil)
	p := newTestPool(r)
	b, err := p.acquire(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Its record goes: out of rotation at once, reported while busy.
	gone := b.instance
	r.Targets = slicesDelete(r.Targets, gone)
	p.update(r)
	for range 20 {
		c, err := p.acquire(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.instance == gone {
			t.Fatal("a request went to an instance out of the rotation")
		}
		p.release(c, time.Millisecond)
	}
	st := find(p.take(winSignal), gone)
	if st == nil || !st.draining || st.Now != 1 {
		t.Fatalf("report of the leaving instance = %+v, want draining with 1 in flight", st)
	}
	p.release(b, time.Millisecond)
	st = find(p.take(winSignal), gone)
	if st == nil || !st.draining || st.Now != 0 {
		t.Fatalf("report after its last request = %+v, want draining with 0 in flight", st)
	}
	if st := find(p.take(winSignal), gone); st != nil {
		t.Errorf("an instance without record nor request is still reported: %+v", st)
	}
}

func slicesDelete(ts []target, instance string) []target {
	var out []target
	for _, t := range ts {
		if t.Instance != instance {
			out = append(out, t)
		}
	}
	return out
}

func find(sts []instanceStats, instance string) *instanceStats {
	for i := range sts {
		if sts[i].instance == instance {
			return &sts[i]
		}
	}
	return nil
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
