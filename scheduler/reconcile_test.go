package scheduler

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// summary renders a plan's actions as "kind service node-or-instance" lines,
// sorted, with the reasons kept apart.
func summary(p Plan) (lines, reasons []string) {
	for _, a := range p.Actions {
		switch a.Kind {
		case ActionStart:
			lines = append(lines, "start "+a.Service+" "+a.Node+" "+a.Version)
		default:
			lines = append(lines, string(a.Kind)+" "+a.Service+" "+a.Instance)
		}
		reasons = append(reasons, a.Reason)
	}
	slices.Sort(lines)
	return lines, reasons
}

func TestReconcile(t *testing.T) {
	web := svcReq("/web", 2)
	v1 := func(in Instance) Instance { in.Version = "v1"; return in }
	with := func(in Instance, f func(*Instance)) Instance { f(&in); return in }
	tests := []struct {
		name      string
		nodes     []Node
		services  []ServiceReq
		instances []Instance
		now       time.Time
		want      []string
		// reason must appear in some action's reason; waiting and pending
		// in the plan's notes for the first service.
		reason, waiting, pending string
	}{
		{
			name: "places missing instances", nodes: nodes(3, nil), services: []ServiceReq{web},
			want:   []string{"start /web node1 v1", "start /web node2 v1"},
			reason: "scale up to 2 instances",
		},
		{
			name: "does nothing when converged", nodes: nodes(3, nil), services: []ServiceReq{web},
			instances: []Instance{running("a", web, "node1"), running("b", web, "node2")},
		},
		{
			name: "stops the surplus once enough are healthy", nodes: nodes(3, nil), services: []ServiceReq{web},
			instances: []Instance{running("a", web, "node1"), running("b", web, "node2"),
				with(running("c", web, "node1"), func(i *Instance) { i.StartedAt = t0.Add(time.Second) })},
			want:   []string{"stop /web c"},
			reason: "scale down to 2 instances",
		},
		{
			name: "a returning node's copies wait for healthy replacements", nodes: nodes(3, nil), services: []ServiceReq{web},
			instances: []Instance{
				running("old1", web, "node1"), running("old2", web, "node1"),
				with(running("new1", web, "node2"), func(i *Instance) { i.State, i.Healthy = StateStarting, false }),
				with(running("new2", web, "node3"), func(i *Instance) { i.State, i.Healthy = StateStarting, false }),
			},
			waiting: "2 surplus instances wait until 2 are healthy",
		},
		{
			name: "a returning node's copies stop once replacements are healthy", nodes: nodes(3, nil), services: []ServiceReq{web},
			instances: []Instance{
				running("old1", web, "node1"), running("old2", web, "node1"),
				with(running("new1", web, "node2"), func(i *Instance) { i.StartedAt = t0.Add(-time.Hour) }),
				with(running("new2", web, "node3"), func(i *Instance) { i.StartedAt = t0.Add(-time.Hour) }),
			},
			want: []string{"stop /web old1", "stop /web old2"},
		},
		{
			name: "instances on a node that is not ready are lost and replaced",
			nodes: func() []Node {
				ns := nodes(3, nil)
				ns[0].Ready = false
				return ns
			}(),
			services:  []ServiceReq{web},
			instances: []Instance{running("a", web, "node1"), running("b", web, "node2")},
			want:      []string{"lost /web a", "start /web node3 v1"},
			reason:    "replace instance a lost with node node1 is not ready",
		},
		{
			name: "a failed instance is replaced", nodes: nodes(2, nil), services: []ServiceReq{web},
			instances: []Instance{running("a", web, "node1"), with(running("b", web, "node2"), func(i *Instance) { i.State = StateFailed })},
			want:      []string{"start /web node2 v1"},
			reason:    "replace failed instance b on node node2",
		},
		{
			name: "unhealthy past its grace is replaced", nodes: nodes(3, nil),
			services: []ServiceReq{func() ServiceReq { s := web; s.HealthGrace = 30 * time.Second; return s }()},
			instances: []Instance{running("a", web, "node1"),
				with(running("b", web, "node2"), func(i *Instance) { i.Healthy = false })},
			now:    t0.Add(time.Minute),
			want:   []string{"start /web node3 v1", "stop /web b"},
			reason: "replace unhealthy instance b",
		},
		{
			name: "unhealthy within its grace is kept", nodes: nodes(3, nil),
			services: []ServiceReq{func() ServiceReq { s := web; s.HealthGrace = 30 * time.Second; return s }()},
			instances: []Instance{running("a", web, "node1"),
				with(running("b", web, "node2"), func(i *Instance) { i.Healthy = false })},
			now: t0.Add(10 * time.Second),
		},
		{
			name: "a new version starts beside the old before any stops", nodes: nodes(4, nil),
			services:  []ServiceReq{func() ServiceReq { s := web; s.Version = "v2"; return s }()},
			instances: []Instance{v1(running("a", web, "node1")), v1(running("b", web, "node2"))},
			want:      []string{"start /web node3 v2", "start /web node4 v2"},
			reason:    "upgrade from version v1 to v2",
		},
		{
			name: "old versions stop when the new ones are healthy", nodes: nodes(4, nil),
			services: []ServiceReq{func() ServiceReq { s := web; s.Version = "v2"; return s }()},
			instances: []Instance{v1(running("a", web, "node1")), v1(running("b", web, "node2")),
				with(running("c", web, "node3"), func(i *Instance) { i.Version = "v2" }),
				with(running("d", web, "node4"), func(i *Instance) { i.Version = "v2" })},
			want:   []string{"stop /web a", "stop /web b"},
			reason: "2 healthy stay, at least 2 required",
		},
		{
			name: "draining starts a replacement first",
			nodes: func() []Node {
				ns := nodes(3, nil)
				ns[0].Draining = true
				return ns
			}(),
			services:  []ServiceReq{web},
			instances: []Instance{running("a", web, "node1"), running("b", web, "node2")},
			want:      []string{"start /web node3 v1"},
			reason:    "node node1 is draining",
		},
		{
			name: "draining stops the node's instance once its replacement is healthy",
			nodes: func() []Node {
				ns := nodes(3, nil)
				ns[0].Draining = true
				return ns
			}(),
			services:  []ServiceReq{web},
			instances: []Instance{running("a", web, "node1"), running("b", web, "node2"), running("c", web, "node3")},
			want:      []string{"stop /web a"},
			reason:    "node node1 is draining",
		},
		{
			name: "a service waits for its dependencies to be healthy", nodes: nodes(2, nil),
			services: []ServiceReq{
				func() ServiceReq { s := web; s.Dependencies = []string{"/db"}; return s }(),
				svcReq("/db", 1),
			},
			instances: []Instance{with(running("db1", svcReq("/db", 1), "node1"), func(i *Instance) { i.State, i.Healthy = StateStarting, false })},
			waiting:   "waiting for dependency /db: 0 of 1 instances healthy",
		},
		{
			name: "a service starts once its dependencies are healthy", nodes: nodes(2, nil),
			services: []ServiceReq{
				func() ServiceReq { s := web; s.Dependencies = []string{"/db"}; return s }(),
				svcReq("/db", 1),
			},
			instances: []Instance{running("db1", svcReq("/db", 1), "node1")},
			want:      []string{"start /web node1 v1", "start /web node2 v1"},
		},
		{
			name: "a deleted service is stopped", nodes: nodes(1, nil), services: nil,
			instances: []Instance{running("a", web, "node1")},
			want:      []string{"stop /web a"},
			reason:    "service /web was deleted",
		},
		{
			name: "blue/green keeps the old version and places the new one beside it", nodes: nodes(3, nil),
			services:  []ServiceReq{func() ServiceReq { s := web; s.Version, s.KeepOld = "v2", true; return s }()},
			instances: []Instance{v1(running("a", web, "node1")), v1(running("b", web, "node2"))},
			want:      []string{"start /web node1 v2", "start /web node3 v2"},
			reason:    "start version v2 beside the old one",
			waiting:   "2 instances of the old version run beside 0 of the new until the rollout switches",
		},
		{
			name: "a canary runs its share of new instances beside the old ones", nodes: nodes(3, nil),
			services:  []ServiceReq{func() ServiceReq { s := web; s.Version, s.KeepOld, s.NewInstances = "v2", true, 1; return s }()},
			instances: []Instance{v1(running("a", web, "node1")), v1(running("b", web, "node2"))},
			want:      []string{"start /web node3 v2"},
			waiting:   "run beside 0 of the new",
		},
		{
			name: "a smaller canary stops new instances, never old ones", nodes: nodes(3, nil),
			services: []ServiceReq{func() ServiceReq { s := web; s.Version, s.KeepOld, s.NewInstances = "v2", true, 1; return s }()},
			instances: []Instance{v1(running("a", web, "node1")), v1(running("b", web, "node2")),
				with(running("c", web, "node3"), func(i *Instance) { i.Version = "v2" }),
				with(running("d", web, "node3"), func(i *Instance) { i.Version, i.StartedAt = "v2", t0.Add(time.Second) })},
			want:    []string{"stop /web d"},
			waiting: "run beside 2 of the new",
		},
		{
			name: "deleted services stop in reverse dependency order: the dependent first", nodes: nodes(1, nil),
			instances: []Instance{
				running("db1", svcReq("/db", 1), "node1"),
				with(running("w1", web, "node1"), func(i *Instance) { i.DependsOn = []string{"/db"} }),
			},
			want: []string{"stop /web w1"},
		},
		{
			name: "a deleted dependency waits while its dependent is still stopping", nodes: nodes(1, nil),
			instances: []Instance{
				running("db1", svcReq("/db", 1), "node1"),
				with(running("w1", web, "node1"), func(i *Instance) { i.DependsOn, i.State = []string{"/db"}, StateStopping }),
			},
		},
		{
			name: "a deleted dependency stops once its dependent has stopped", nodes: nodes(1, nil),
			instances: []Instance{
				running("db1", svcReq("/db", 1), "node1"),
				with(running("w1", web, "node1"), func(i *Instance) { i.DependsOn, i.State = []string{"/db"}, StateStopped }),
			},
			want: []string{"stop /db db1"},
		},
		{
			name: "a higher priority takes room from a lower one above its minimum", nodes: nodes(1, nil),
			services: []ServiceReq{
				func() ServiceReq { s := svcReq("/hi", 1); s.CPUs, s.Priority = 2, 10; return s }(),
				func() ServiceReq { s := svcReq("/lo", 4); s.CPUs, s.MinInstances = 1, 2; return s }(),
			},
			instances: func() []Instance {
				lo := svcReq("/lo", 4)
				lo.CPUs = 1
				return []Instance{running("lo1", lo, "node1"), running("lo2", lo, "node1"), running("lo3", lo, "node1"), running("lo4", lo, "node1")}
			}(),
			want:    []string{"start /hi node1 v1", "stop /lo lo1", "stop /lo lo2"},
			reason:  "preempted to make room for /hi (priority 10 > 0)",
			pending: "",
		},
		{
			name: "preemption stops at the lower service's minimum", nodes: nodes(1, nil),
			services: []ServiceReq{
				func() ServiceReq { s := svcReq("/hi", 1); s.CPUs, s.Priority = 2, 10; return s }(),
				func() ServiceReq { s := svcReq("/lo", 4); s.CPUs, s.MinInstances = 1, 4; return s }(),
			},
			instances: func() []Instance {
				lo := svcReq("/lo", 4)
				lo.CPUs = 1
				return []Instance{running("lo1", lo, "node1"), running("lo2", lo, "node1"), running("lo3", lo, "node1"), running("lo4", lo, "node1")}
			}(),
			pending: "1 of 1 instances not placed: 0/1 nodes fit: 1 insufficient cpu",
		},
		{
			name: "what cannot be placed is explained", nodes: nodes(3, nil),
			services: []ServiceReq{func() ServiceReq { s := web; s.MemMiB = 8192; return s }()},
			pending:  "2 of 2 instances not placed: 0/3 nodes fit: 3 insufficient memory",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = t0.Add(time.Hour)
			}
			s := NewSnapshot(tc.nodes, tc.instances)
			before := s.AllInstances()
			plan := Reconcile(s, tc.services, now)
			lines, reasons := summary(plan)
			if !slices.Equal(lines, tc.want) {
				t.Errorf("actions %q, want %q (reasons %q)", lines, tc.want, reasons)
			}
			if tc.reason != "" && !slices.ContainsFunc(reasons, func(r string) bool { return strings.Contains(r, tc.reason) }) {
				t.Errorf("no reason contains %q: %q", tc.reason, reasons)
			}
			for _, r := range reasons {
				if r == "" {
					t.Errorf("an action without a reason: %+v", plan.Actions)
				}
			}
			var first string
			if len(tc.services) > 0 {
				first = tc.services[0].ID
			}
			if got := plan.Waiting[first]; !strings.Contains(got, tc.waiting) || (tc.waiting == "" && got != "") {
				t.Errorf("waiting %q, want %q", got, tc.waiting)
			}
			if got := plan.Pending[first]; !strings.Contains(got, tc.pending) || (tc.pending == "" && got != "") {
				t.Errorf("pending %q, want %q", got, tc.pending)
			}
			if !reflect.DeepEqual(s.AllInstances(), before) {
				t.Errorf("Reconcile changed the snapshot")
			}
		})
	}
}

// TestReconcileConvergesAfterNodeLoss drives the loop as the server would:
// apply each plan, let started instances become healthy, and check that six
// instances end up spread over the two nodes that remain.
func TestReconcileConvergesAfterNodeLoss(t *testing.T) {
	svc := svcReq("/web", 6)
	svc.Constraints = cons(t, []string{"hostname", "GROUP_BY"})
	ns := nodes(3, nil)
	s := NewSnapshot(ns, nil)
	now := t0
	apply := func(p Plan) {
		for _, a := range p.Actions {
			switch a.Kind {
			case ActionStart:
				s.Assume(Placement{InstanceID: a.Instance, Service: a.Service, Node: a.Node, Version: a.Version, CPUs: a.CPUs, MemMiB: a.MemMiB})
			case ActionStop:
				s.Remove(a.Instance)
			case ActionLost:
				s.SetState(a.Instance, StateLost)
			}
		}
		// Everything started becomes healthy before the next round.
		ins := s.AllInstances()
		for i := range ins {
			if ins[i].State == StatePending {
				ins[i].State, ins[i].Healthy, ins[i].StartedAt = StateRunning, true, now
			}
		}
		nodes := s.Nodes()
		s = NewSnapshot(nodes, ins)
	}
	apply(Reconcile(s, []ServiceReq{svc}, now))
	if got := []int{s.Count("/web", "node1"), s.Count("/web", "node2"), s.Count("/web", "node3")}; !slices.Equal(got, []int{2, 2, 2}) {
		t.Fatalf("first spread %v, want 2/2/2", got)
	}
	ns[2].Ready = false
	s = NewSnapshot(ns, s.AllInstances())
	for range 3 {
		now = now.Add(time.Second)
		apply(Reconcile(s, []ServiceReq{svc}, now))
	}
	if got := []int{s.Count("/web", "node1"), s.Count("/web", "node2")}; !slices.Equal(got, []int{3, 3}) {
		t.Fatalf("after losing node3: %v, want 3/3", got)
	}
	if plan := Reconcile(s, []ServiceReq{svc}, now); len(plan.Actions) != 0 {
		t.Errorf("not converged: %+v", plan.Actions)
	}
}
