package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/leader"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/spec"
)

// cluster is an embedded NATS with the state buckets and fake nodes whose
// agents follow the protocol real agents do: register and heartbeat in
// swell_nodes, watch swell_placements for their node, report to
// swell_instances.
type cluster struct {
	t     *testing.T
	js    jetstream.JetStream
	kv    map[string]jetstream.KeyValue
	mu    sync.Mutex
	nodes map[string]context.CancelFunc
	// startDelay is how long a fake container takes to become healthy.
	startDelay time.Duration
	// failOn is a node whose containers all fail, as an agent reports
	// them after relaunching them with the service's backoff.
	failOn string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	ns := testenv.NATS(t)
	_, js := testenv.Connect(t, ns.ClientURL())
	if err := bus.EnsureKV(t.Context(), js, 1); err != nil {
		t.Fatal(err)
	}
	if err := bus.EnsureStreams(t.Context(), js, bus.StreamLimits{}); err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, js: js, kv: map[string]jetstream.KeyValue{}, nodes: map[string]context.CancelFunc{}, startDelay: 50 * time.Millisecond}
	for _, b := range []string{bus.BucketServices, bus.BucketNodes, bus.BucketPlacements, bus.BucketInstances} {
		kv, err := js.KeyValue(t.Context(), b)
		if err != nil {
			t.Fatal(err)
		}
		c.kv[b] = kv
	}
	return c
}

// addNode starts a fake node: heartbeat every 100ms and an agent that runs
// what is placed on it.
func (c *cluster) addNode(name string, labels map[string]string) {
	ctx, cancel := context.WithCancel(c.t.Context())
	c.mu.Lock()
	c.nodes[name] = cancel
	c.mu.Unlock()
	var wg sync.WaitGroup
	c.t.Cleanup(func() { cancel(); wg.Wait() })
	started := time.Now()
	beat := func() {
		n := state.Node{Name: name, Addr: "127.0.0.1", Labels: labels, CPUs: 4, MemMiB: 4096, Docker: true, StartedAt: started, Heartbeat: time.Now()}
		if err := state.PutNode(ctx, c.kv[bus.BucketNodes], n); err != nil && ctx.Err() == nil {
			c.t.Errorf("heartbeat of %s: %v", name, err)
		}
	}
	beat()
	wg.Add(2)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				beat()
			}
		}
	}()
	go func() {
		defer wg.Done()
		c.agent(ctx, name)
	}()
}

// stopNode silences a node as a crashed host would: no heartbeat, no reports.
func (c *cluster) stopNode(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nodes[name]()
}

func (c *cluster) agent(ctx context.Context, node string) {
	w, err := c.kv[bus.BucketPlacements].Watch(ctx, bus.Token(node)+".>")
	if err != nil {
		c.t.Errorf("agent %s: watch: %v", node, err)
		return
	}
	defer func() { _ = w.Stop() }()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			var p state.Placement
			if err := json.Unmarshal(e.Value(), &p); err != nil {
				c.t.Errorf("agent %s: placement %s: %v", node, e.Key(), err)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.carryOut(ctx, p)
			}()
		}
	}
}

func (c *cluster) carryOut(ctx context.Context, p state.Placement) {
	kv := c.kv[bus.BucketInstances]
	r := state.Instance{ID: p.ID, Service: p.Service, Node: p.Node, Version: p.Version, Image: p.Spec.Image}
	put := func(st state.InstanceState, healthy bool) {
		r.State, r.Healthy, r.UpdatedAt = st, healthy, time.Now()
		b, _ := json.Marshal(r)
		if _, err := kv.Put(ctx, r.Key(), b); err != nil && ctx.Err() == nil {
			c.t.Errorf("report %s: %v", r.Key(), err)
		}
	}
	wait := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	if p.Stop {
		if wait(20 * time.Millisecond) {
			put(state.Stopped, false)
		}
		return
	}
	if e, err := kv.Get(ctx, p.Key()); err == nil {
		var old state.Instance
		if json.Unmarshal(e.Value(), &old) == nil && old.State == state.Running {
			return // already running: an echo of the same placement
		}
	}
	put(state.Starting, false)
	if p.Node == c.failOn {
		if wait(c.startDelay) {
			r.Restarts, r.Reason = MoveAfterFailures, "exit code 1"
			put(state.Failed, false)
		}
		return
	}
	if wait(c.startDelay) {
		r.StartedAt = time.Now()
		put(state.Running, true)
	}
}

func (c *cluster) apply(s spec.Service) {
	c.t.Helper()
	kv := c.kv[bus.BucketServices]
	rec := state.ServiceRecord{Spec: s, Version: state.SpecVersion(s), CreatedAt: time.Now(), UpdatedAt: time.Now()}
	_, rev, err := state.GetService(c.t.Context(), kv, s.ID)
	if err != nil && !strings.Contains(err.Error(), "not found") {
		c.t.Fatal(err)
	}
	if err := state.PutService(c.t.Context(), kv, rec, rev); err != nil {
		c.t.Fatal(err)
	}
}

// runController starts a controller and returns it with a stop function
// that waits for Run to return.
func (c *cluster) runController() (*prometheus.Registry, func()) {
	c.t.Helper()
	reg := prometheus.NewRegistry()
	ctl, err := New(Options{JS: c.js, Registerer: reg, NodeTimeout: time.Second, Tick: 100 * time.Millisecond})
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(c.t.Context())
	done := make(chan error, 1)
	go func() { done <- ctl.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			c.t.Errorf("Run: %v", err)
		}
	}
	var once sync.Once
	c.t.Cleanup(func() { once.Do(stop) })
	return reg, func() { once.Do(stop) }
}

// sample is the cluster as the agents see it.
type sample struct {
	live    map[string]int // node → live (not stopping) placements
	total   int            // live placements
	healthy int            // running healthy instances whose placement is live
	byVer   map[string]int // version → running healthy instances
	keys    []string
}

func (c *cluster) sample(service string) sample {
	c.t.Helper()
	ps, err := state.Placements(c.t.Context(), c.kv[bus.BucketPlacements])
	if err != nil {
		c.t.Fatal(err)
	}
	ins, err := state.Instances(c.t.Context(), c.kv[bus.BucketInstances])
	if err != nil {
		c.t.Fatal(err)
	}
	reports := map[string]state.Instance{}
	for _, r := range ins {
		reports[r.Key()] = r
	}
	s := sample{live: map[string]int{}, byVer: map[string]int{}}
	for _, p := range ps {
		if p.Service != service || p.Stop {
			continue
		}
		s.live[p.Node]++
		s.total++
		s.keys = append(s.keys, p.Key())
		if r, ok := reports[p.Key()]; ok && r.State == state.Running && r.Healthy {
			s.healthy++
			s.byVer[p.Version]++
		}
	}
	sort.Strings(s.keys)
	return s
}

// waitFor polls until ok holds or the deadline passes.
func (c *cluster) waitFor(what string, within time.Duration, ok func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func webService(instances int) spec.Service {
	s := spec.NewService("/shop/web", "web:1")
	s.Instances = instances
	s.Cpus, s.Mem = 0.1, 64
	s.Constraints = [][]string{{"hostname", "GROUP_BY"}}
	return s
}

func threeNodes(c *cluster) {
	for i := 1; i <= 3; i++ {
		c.addNode(fmt.Sprintf("n%d", i), map[string]string{"rack": fmt.Sprintf("r%d", i)})
	}
}

func TestSixInstancesGroupedByHostnameSpreadTwoPerNode(t *testing.T) {
	c := newCluster(t)
	threeNodes(c)
	c.runController()
	c.apply(webService(6))
	c.waitFor("6 healthy instances", 10*time.Second, func() bool { return c.sample("/shop/web").healthy == 6 })
	s := c.sample("/shop/web")
	for _, n := range []string{"n1", "n2", "n3"} {
		if s.live[n] != 2 {
			t.Errorf("node %s has %d instances, want 2 (all: %v)", n, s.live[n], s.live)
		}
	}
	if s.total != 6 {
		t.Errorf("%d placements, want 6", s.total)
	}
	evs, err := events.List(t.Context(), c.js, events.Filter{Type: events.Deploy, Service: "/shop/web"})
	if err != nil {
		t.Fatal(err)
	}
	starts := 0
	for _, e := range evs {
		if e.To == "pending" && strings.HasPrefix(e.Reason, "start instance ") && strings.HasSuffix(e.Reason, "scale up to 6 instances") && e.Node != "" {
			starts++
		}
	}
	if starts != 6 {
		t.Errorf("%d start events, want one per instance: %+v", starts, evs)
	}
}

func TestLostNodeInstancesAreReplacedElsewhere(t *testing.T) {
	c := newCluster(t)
	threeNodes(c)
	c.runController()
	c.apply(webService(6))
	c.waitFor("6 healthy instances", 10*time.Second, func() bool { return c.sample("/shop/web").healthy == 6 })
	lostAt := time.Now()
	c.stopNode("n3")
	c.waitFor("6 healthy instances on n1 and n2", 10*time.Second, func() bool {
		s := c.sample("/shop/web")
		on3 := 0
		ins, _ := state.Instances(t.Context(), c.kv[bus.BucketInstances])
		for _, r := range ins {
			if r.Node == "n3" && r.State == state.Running {
				on3++
			}
		}
		return s.healthy-on3 >= 6 && on3 == 0
	})
	t.Logf("replaced within %s of the last heartbeat (node timeout 1s)", time.Since(lostAt).Round(10*time.Millisecond))
	evs, err := events.List(t.Context(), c.js, events.Filter{Type: events.Node})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range evs {
		if e.Node == "n3" && e.From == "ready" && e.To == "lost" {
			found = true
		}
	}
	if !found {
		t.Errorf("no node event ready→lost for n3 in %+v", evs)
	}
}

func TestInstancesFailingOnANodeMoveToAnother(t *testing.T) {
	c := newCluster(t)
	c.failOn = "n1"
	threeNodes(c)
	c.runController()
	s := webService(2)
	s.Constraints = nil
	c.apply(s)
	c.waitFor("2 healthy instances, none on n1", 10*time.Second, func() bool {
		sm := c.sample("/shop/web")
		return sm.healthy == 2 && sm.live["n1"] == 0
	})
	evs, err := events.List(t.Context(), c.js, events.Filter{Type: events.Deploy})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(evs, func(e events.Event) bool { return strings.Contains(e.Reason, "replace failed instance") }) {
		t.Errorf("no event tells of the replacement: %+v", evs)
	}
}

func TestRollingUpgradeKeepsMarathonBounds(t *testing.T) {
	c := newCluster(t)
	c.startDelay = 150 * time.Millisecond
	threeNodes(c)
	c.runController()
	s := webService(6)
	s.UpgradeStrategy = spec.UpgradeStrategy{MinimumHealthCapacity: 0.5, MaximumOverCapacity: 0.2}
	c.apply(s)
	c.waitFor("6 healthy instances", 10*time.Second, func() bool { return c.sample("/shop/web").healthy == 6 })
	s.Image = "web:2"
	v2 := state.SpecVersion(s)
	c.apply(s)
	// ceil(6 × 0.5) = 3 healthy at least, floor(6 × 1.2) = 7 at most.
	const minHealthy, maxCapacity = 3, 7
	samples, maxSeen, minSeen := 0, 0, 6
	c.waitFor("6 healthy instances of the new version and no old one", 20*time.Second, func() bool {
		x := c.sample("/shop/web")
		samples++
		maxSeen, minSeen = max(maxSeen, x.total), min(minSeen, x.healthy)
		if x.total > maxCapacity {
			t.Errorf("%d instances placed during the rollout, at most %d allowed", x.total, maxCapacity)
		}
		if x.healthy < minHealthy {
			t.Errorf("%d healthy instances during the rollout, at least %d required", x.healthy, minHealthy)
		}
		return x.byVer[v2] == 6 && x.total == 6
	})
	t.Logf("%d samples: at most %d placed, at least %d healthy", samples, maxSeen, minSeen)
	if maxSeen <= 6 {
		t.Errorf("the rollout never went over capacity (max %d): it did not use maximumOverCapacity", maxSeen)
	}
}

func TestRestartedControllerKeepsPlacements(t *testing.T) {
	c := newCluster(t)
	threeNodes(c)
	_, stop := c.runController()
	c.apply(webService(6))
	c.waitFor("6 healthy instances", 10*time.Second, func() bool { return c.sample("/shop/web").healthy == 6 })
	before := c.sample("/shop/web").keys
	stop()
	reg, _ := c.runController()
	c.waitFor("5 passes of the new controller", 10*time.Second, func() bool {
		return testenv.Metric(t, reg, "swell_scheduler_passes_total", nil) >= 5
	})
	after := c.sample("/shop/web")
	if strings.Join(after.keys, " ") != strings.Join(before, " ") {
		t.Errorf("placements changed across a restart:\nbefore %v\nafter  %v", before, after.keys)
	}
	if n := testenv.Metric(t, reg, "swell_scheduler_actions_total", map[string]string{"kind": "start"}); n != 0 {
		t.Errorf("the restarted controller started %v instances", n)
	}
}

func TestDrainedNodeEmptiesAndTakesNothingNew(t *testing.T) {
	c := newCluster(t)
	threeNodes(c)
	c.runController()
	s := webService(6)
	s.Constraints = nil
	s.UpgradeStrategy = spec.UpgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 0.5}
	c.apply(s)
	c.waitFor("6 healthy instances", 10*time.Second, func() bool { return c.sample("/shop/web").healthy == 6 })
	if err := state.PutCordon(t.Context(), c.kv[bus.BucketNodes], state.Cordon{Node: "n2", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	c.waitFor("n2 empty and 6 healthy elsewhere", 10*time.Second, func() bool {
		x := c.sample("/shop/web")
		if x.healthy < 6 && x.live["n2"] < 2 && x.total-x.live["n2"] < 6 {
			// Replacements start before the node's instances stop.
			t.Errorf("a drained instance stopped before its replacement was healthy: %+v", x)
		}
		return x.live["n2"] == 0 && x.healthy == 6
	})
}

func TestReturningNodeCopiesStopOnlyWhileTheServiceStaysHealthy(t *testing.T) {
	c := newCluster(t)
	threeNodes(c)
	c.runController()
	c.apply(webService(6))
	c.waitFor("6 healthy instances", 10*time.Second, func() bool { return c.sample("/shop/web").healthy == 6 })
	c.stopNode("n3")
	c.waitFor("6 healthy instances on n1 and n2", 10*time.Second, func() bool {
		x := c.sample("/shop/web")
		return x.live["n1"]+x.live["n2"] == 6 && x.healthy >= 6
	})
	c.addNode("n3", map[string]string{"rack": "r3"})
	c.waitFor("6 instances again, spread 2/2/2", 10*time.Second, func() bool {
		x := c.sample("/shop/web")
		if x.healthy < 6 && x.total > 6 {
			t.Errorf("surplus stopped while only %d were healthy: %+v", x.healthy, x)
		}
		return x.total == 6 && x.healthy == 6 && x.live["n1"] == 2 && x.live["n2"] == 2 && x.live["n3"] == 2
	})
}

func TestBuildDerivesInstanceStatesFromRecords(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	svc := spec.NewService("/a", "a:1")
	checked := svc
	checked.HealthChecks = []spec.HealthCheck{spec.NewHealthCheck()}
	node := state.Node{Name: "n1", CPUs: 2, MemMiB: 1024, Docker: true, Heartbeat: now}
	place := func(id string, stop bool, s spec.Service) state.Placement {
		return state.Placement{ID: id, Service: s.ID, Node: "n1", Version: "v1", Stop: stop, At: now, Spec: &s}
	}
	report := func(id string, st state.InstanceState, healthy bool) state.Instance {
		return state.Instance{ID: id, Service: "/a", Node: "n1", Version: "v1", State: st, Healthy: healthy}
	}
	tests := []struct {
		name        string
		p           *state.Placement
		r           *state.Instance
		wantState   string // "" when the view holds no instance
		wantHealthy bool
		finished    bool
		exited      bool
		stale       bool
		returned    bool
	}{
		{"placed, not reported yet", new(place("i1", false, svc)), nil, "pending", false, false, false, false, false},
		{"running without checks is healthy", new(place("i1", false, svc)), new(report("i1", state.Running, false)), "running", true, false, false, false, false},
		{"running with checks follows the report", new(place("i1", false, checked)), new(report("i1", state.Running, false)), "running", false, false, false, false, false},
		{"failed waits for the agent's backoff", new(place("i1", false, svc)), new(report("i1", state.Failed, false)), "starting", false, false, false, false, false},
		{"failing again and again moves off the node", new(place("i1", false, svc)), func() *state.Instance {
			r := report("i1", state.Failed, false)
			r.Restarts = MoveAfterFailures
			return &r
		}(), "failed", false, false, true, false, false},
		{"exited on its own", new(place("i1", false, svc)), new(report("i1", state.Stopped, false)), "stopped", false, false, true, false, false},
		{"stopping holds its node", new(place("i1", true, svc)), new(report("i1", state.Running, true)), "stopping", false, false, false, false, false},
		{"stopped placement is finished", new(place("i1", true, svc)), new(report("i1", state.Stopped, false)), "", false, true, false, false, false},
		{"stop of a never-reported instance is finished", new(place("i1", true, svc)), nil, "", false, true, false, false, false},
		{"report without placement is stale once over", nil, new(report("i1", state.Stopped, false)), "", false, false, false, true, false},
		{"report without placement still holds its node", nil, new(report("i1", state.Running, true)), "stopping", false, false, false, false, false},
		{"stop of a lost instance is finished", new(place("i1", true, svc)), new(report("i1", state.Lost, false)), "", false, true, false, false, false},
		{"lost instance of a deleted service is finished", new(place("i1", false, spec.NewService("/gone", "g:1"))), new(state.Instance{ID: "i1", Service: "/gone", Node: "n1", State: state.Lost}), "", false, true, false, false, false},
		{"lost on a node that is back", new(place("i1", false, svc)), new(report("i1", state.Lost, false)), "lost", false, false, false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Services: []state.ServiceRecord{{Spec: svc, Version: "v1"}}, Nodes: []state.Node{node}, Now: now, NodeTimeout: time.Second}
			if tc.p != nil {
				in.Placements = []state.Placement{*tc.p}
			}
			if tc.r != nil {
				in.Instances = []state.Instance{*tc.r}
			}
			v := Build(in)
			got, healthy := "", false
			if len(v.Instances) == 1 {
				got, healthy = string(v.Instances[0].State), v.Instances[0].Healthy
			} else if len(v.Instances) > 1 {
				t.Fatalf("%d instances", len(v.Instances))
			}
			if got != tc.wantState || (got != "" && healthy != tc.wantHealthy) {
				t.Errorf("state %q healthy %v, want %q %v", got, healthy, tc.wantState, tc.wantHealthy)
			}
			if moved := tc.wantState == "failed"; moved != (len(v.Services) == 1 && len(v.Services[0].AvoidNodes) == 1 && v.Services[0].AvoidNodes[0] == "n1") {
				t.Errorf("avoid nodes %+v, want n1 only when the instance moves", v.Services)
			}
			if (len(v.Finished) > 0) != tc.finished || (len(v.Exited) > 0) != tc.exited ||
				(len(v.Stale) > 0) != tc.stale || (len(v.Returned) > 0) != tc.returned {
				t.Errorf("finished %v exited %v stale %v returned %v", v.Finished, v.Exited, v.Stale, v.Returned)
			}
		})
	}
	t.Run("cordoned node drains, silent node is not ready", func(t *testing.T) {
		silent := node
		silent.Name, silent.Heartbeat = "n2", now.Add(-2*time.Second)
		v := Build(Input{Nodes: []state.Node{node, silent}, Cordons: map[string]state.Cordon{"n1": {Node: "n1"}}, Now: now, NodeTimeout: time.Second})
		if !v.Nodes[0].Ready || !v.Nodes[0].Draining || v.Nodes[1].Ready || v.Nodes[1].Draining {
			t.Errorf("nodes %+v", v.Nodes)
		}
	})
}

func TestStandbyTakesOverWithoutDuplicatingOrLosingInstances(t *testing.T) {
	c := newCluster(t)
	threeNodes(c)
	ns := c.js.Conn().ConnectedUrl()
	type candidate struct {
		nc     *nats.Conn
		leader *leader.Elector
		reg    *prometheus.Registry
		done   chan error
	}
	start := func(id string) *candidate {
		nc, js := testenv.Connect(t, ns)
		el, err := leader.New(leader.Options{JS: js, ID: id, Lease: 1500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewRegistry()
		ctl, err := New(Options{JS: js, Registerer: reg, NodeTimeout: time.Second, Tick: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cd := &candidate{nc: nc, leader: el, reg: reg, done: make(chan error, 1)}
		go func() {
			cd.done <- el.Run(ctx, func(lctx context.Context) { _ = ctl.Run(lctx) })
		}()
		t.Cleanup(func() {
			cancel()
			if err := <-cd.done; err != nil {
				t.Errorf("elector %s: %v", id, err)
			}
		})
		return cd
	}
	a := start("a")
	c.waitFor("a leads", 5*time.Second, a.leader.IsLeader)
	b := start("b")
	c.apply(webService(6))
	c.waitFor("6 healthy instances", 10*time.Second, func() bool { return c.sample("/shop/web").healthy == 6 })
	before := c.sample("/shop/web").keys

	a.nc.Close() // a crashes: no clean handover, its lease runs out
	c.waitFor("b leads", 10*time.Second, b.leader.IsLeader)
	c.waitFor("b reconciles", 5*time.Second, func() bool {
		return testenv.Metric(t, b.reg, "swell_scheduler_passes_total", nil) >= 5
	})
	if after := c.sample("/shop/web").keys; strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("placements changed across the failover:\nbefore %v\nafter  %v", before, after)
	}
	s := webService(9)
	c.apply(s)
	c.waitFor("the new leader scales to 9", 10*time.Second, func() bool {
		x := c.sample("/shop/web")
		return x.healthy == 9 && x.live["n1"] == 3 && x.live["n2"] == 3 && x.live["n3"] == 3
	})
}
