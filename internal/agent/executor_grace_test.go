package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/scheduler/runtime"
	"github.com/swell-pipeline/swell/spec"
)

// memRuntime keeps containers in memory and records the grace of every
// stop: what the executor asks of the engine, without an engine.
type memRuntime struct {
	mu         sync.Mutex
	next       int
	containers map[string]runtime.Container
	stops      chan stopCall
}

type stopCall struct {
	instance string
	grace    time.Duration
}

var _ runtime.Runtime = (*memRuntime)(nil)

func newMemRuntime() *memRuntime {
	return &memRuntime{containers: map[string]runtime.Container{}, stops: make(chan stopCall, 16)}
}

func (m *memRuntime) Create(_ context.Context, s runtime.Spec) (runtime.Container, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	c := runtime.Container{
		ID: fmt.Sprintf("c%d", m.next), Name: runtime.ContainerName(s.Node, s.Instance),
		Service: s.Service, Instance: s.Instance, Node: s.Node, Version: s.Version, Image: s.Image,
		State: runtime.StateCreated,
	}
	m.containers[c.ID] = c
	return c, nil
}

func (m *memRuntime) Start(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.containers[id]
	if !ok {
		return fmt.Errorf("start %s: %w", id, runtime.ErrContainerNotFound)
	}
	c.State, c.StartedAt = runtime.StateRunning, time.Now().UTC()
	m.containers[id] = c
	return nil
}

func (m *memRuntime) Stop(_ context.Context, id string, grace time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.containers[id]
	if !ok {
		return fmt.Errorf("stop %s: %w", id, runtime.ErrContainerNotFound)
	}
	c.State = runtime.StateExited
	m.containers[id] = c
	m.stops <- stopCall{instance: c.Instance, grace: grace}
	return nil
}

func (m *memRuntime) Remove(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.containers, id)
	return nil
}

func (m *memRuntime) Inspect(_ context.Context, id string) (runtime.Container, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.containers[id]
	if !ok {
		return runtime.Container{}, fmt.Errorf("inspect %s: %w", id, runtime.ErrContainerNotFound)
	}
	return c, nil
}

func (m *memRuntime) List(_ context.Context, node string) ([]runtime.Container, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []runtime.Container
	for _, c := range m.containers {
		if c.Node == node {
			out = append(out, c)
		}
	}
	return out, nil
}

// TestExecutorStopsWithTheServicesKillGrace places one instance, lets it
// run, marks its placement stopped, and checks the grace the executor
// handed the runtime: the service's taskKillGracePeriodSeconds when set
// (0 included), the executor's StopGrace when not.
func TestExecutorStopsWithTheServicesKillGrace(t *testing.T) {
	ns := testenv.NATS(t)
	_, js := testenv.Connect(t, ns.ClientURL())
	if err := bus.EnsureKV(t.Context(), js, 0); err != nil {
		t.Fatal(err)
	}
	pkv, err := js.KeyValue(t.Context(), bus.BucketPlacements)
	if err != nil {
		t.Fatal(err)
	}
	secs := func(n int) *int { return &n }
	tests := []struct {
		name  string
		grace *int
		want  time.Duration
	}{
		{"taskKillGracePeriodSeconds 1 stops with 1s", secs(1), time.Second},
		{"taskKillGracePeriodSeconds 0 kills at once", secs(0), 0},
		{"unset leaves the executor's StopGrace", nil, 7 * time.Second},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := fmt.Sprintf("grace-%d", i)
			rt := newMemRuntime()
			ex, err := NewExecutor(ExecutorOptions{
				Node: node, JS: js, Runtime: rt, Logger: testLogger(t),
				PollInterval: 50 * time.Millisecond, SettleDelay: time.Millisecond,
				StopGrace: 7 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- ex.Run(ctx) }()
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("executor Run: %v", err)
				}
			})

			s := spec.NewService("/it/grace", "grace:1")
			s.TaskKillGracePeriodSeconds = tt.grace
			p := state.Placement{ID: "grace-1", Service: s.ID, Node: node, Version: state.SpecVersion(s), At: time.Now().UTC(), Spec: &s}
			put := func() {
				b, err := json.Marshal(p)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := pkv.Put(t.Context(), p.Key(), b); err != nil {
					t.Fatal(err)
				}
			}
			put()
			waitFor(t, "the instance's container to run", func() bool {
				cs, _ := rt.List(t.Context(), node)
				return len(cs) == 1 && cs[0].State == runtime.StateRunning
			})
			p.Stop = true
			put()
			select {
			case got := <-rt.stops:
				if got.instance != p.ID || got.grace != tt.want {
					t.Errorf("runtime asked to stop %s with grace %v, want %s with %v", got.instance, got.grace, p.ID, tt.want)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the executor did not stop the instance within 30s")
			}
		})
	}
}

// waitFor polls cond until it holds, failing the test after 30s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKillGraceDoesNotChangeTheSpecVersion: changing the grace must not
// replace running instances.
func TestKillGraceDoesNotChangeTheSpecVersion(t *testing.T) {
	s := spec.NewService("/it/grace", "grace:1")
	before := state.SpecVersion(s)
	n := 30
	s.TaskKillGracePeriodSeconds = &n
	if after := state.SpecVersion(s); after != before {
		t.Errorf("SpecVersion changed from %s to %s with taskKillGracePeriodSeconds", before, after)
	}
}
