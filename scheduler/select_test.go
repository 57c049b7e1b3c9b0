package scheduler

import (
	"maps"
	"reflect"
	"testing"
	"time"
)

func TestPlace(t *testing.T) {
	rack3 := func(i int) map[string]string { return map[string]string{"rack": []string{"r1", "r2", "r3"}[i%3]} }
	tests := []struct {
		name      string
		nodes     []Node
		svc       func(ServiceReq) ServiceReq
		instances []string // nodes already running one instance
		n         int
		// want counts placements per node, or per label value when by is set.
		by   string
		want map[string]int
	}{
		{
			name: "six over three hostnames with GROUP_BY is 2/2/2", nodes: nodes(3, nil), n: 6,
			svc:  func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"hostname", "GROUP_BY"}); return s },
			want: map[string]int{"node1": 2, "node2": 2, "node3": 2},
		},
		{
			name: "a node the service keeps failing on is avoided, spread or not", nodes: nodes(3, nil), n: 2,
			svc: func(s ServiceReq) ServiceReq {
				s.Constraints, s.AvoidNodes = cons(t, []string{"hostname", "GROUP_BY"}), []string{"node1"}
				return s
			},
			instances: []string{"node2", "node3"},
			want:      map[string]int{"node2": 1, "node3": 1},
		},
		{
			name: "an avoided node still takes what fits nowhere else", nodes: nodes(1, nil), n: 1,
			svc:  func(s ServiceReq) ServiceReq { s.AvoidNodes = []string{"node1"}; return s },
			want: map[string]int{"node1": 1},
		},
		{
			name: "seven over three racks is 3/2/2", nodes: nodes(9, rack3), n: 7, by: "rack",
			svc:  func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"rack", "GROUP_BY", "3"}); return s },
			want: map[string]int{"r1": 3, "r2": 2, "r3": 2},
		},
		{
			name: "group by fills the domains that are behind first", nodes: nodes(6, rack3), n: 3, by: "rack",
			svc:       func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"rack", "GROUP_BY"}); return s },
			instances: []string{"node1", "node4"}, // two in r1
			want:      map[string]int{"r2": 2, "r3": 1},
		},
		{
			name: "group by balances racks of unequal size", n: 6, by: "rack",
			nodes: nodes(6, func(i int) map[string]string {
				return map[string]string{"rack": []string{"r1", "r1", "r1", "r1", "r2", "r3"}[i]}
			}),
			svc:  func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"rack", "GROUP_BY"}); return s },
			want: map[string]int{"r1": 2, "r2": 2, "r3": 2},
		},
		{
			name: "group by wins over binpack", nodes: nodes(6, rack3), n: 3, by: "rack",
			svc: func(s ServiceReq) ServiceReq {
				s.Strategy, s.Constraints = Binpack, cons(t, []string{"rack", "GROUP_BY"})
				return s
			},
			want: map[string]int{"r1": 1, "r2": 1, "r3": 1},
		},
		{
			name: "group by skips a full domain", nodes: func() []Node {
				ns := nodes(3, rack3)
				ns[2].MemMiB = 0
				return ns
			}(), n: 4, by: "rack",
			svc:  func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"rack", "GROUP_BY"}); return s },
			want: map[string]int{"r1": 2, "r2": 2},
		},
		{
			name: "spread without constraints", nodes: nodes(4, nil), n: 4,
			svc:  func(s ServiceReq) ServiceReq { return s },
			want: map[string]int{"node1": 1, "node2": 1, "node3": 1, "node4": 1},
		},
		{
			name: "spread prefers the least allocated node", nodes: nodes(2, nil), n: 1,
			svc:       func(s ServiceReq) ServiceReq { return s },
			instances: []string{"node1"},
			want:      map[string]int{"node2": 1},
		},
		{
			name: "binpack fills one node before the next", nodes: nodes(3, nil), n: 5,
			svc: func(s ServiceReq) ServiceReq {
				s.Strategy, s.CPUs = Binpack, 1
				return s
			},
			want: map[string]int{"node1": 4, "node2": 1},
		},
		{
			name: "binpack prefers the node already in use", nodes: nodes(3, nil), n: 1,
			svc:       func(s ServiceReq) ServiceReq { s.Strategy = Binpack; return s },
			instances: []string{"node3"},
			want:      map[string]int{"node3": 1},
		},
		{
			name: "unique hostname places at most one per node", nodes: nodes(3, nil), n: 5,
			svc:  func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"hostname", "UNIQUE"}); return s },
			want: map[string]int{"node1": 1, "node2": 1, "node3": 1},
		},
		{
			name: "a fixed host port is taken once per node", nodes: nodes(2, nil), n: 3,
			svc:  func(s ServiceReq) ServiceReq { s.HostPorts = []int{8080}; return s },
			want: map[string]int{"node1": 1, "node2": 1},
		},
		{
			name: "max per hostname", nodes: nodes(2, nil), n: 5,
			svc:  func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"hostname", "MAX_PER", "2"}); return s },
			want: map[string]int{"node1": 2, "node2": 2},
		},
		{
			name: "cluster without value keeps every instance on the first value", nodes: nodes(6, rack3), n: 4, by: "rack",
			svc:  func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"rack", "CLUSTER"}); return s },
			want: map[string]int{"r1": 4},
		},
		{
			name: "not ready and draining nodes take nothing", nodes: func() []Node {
				ns := nodes(3, nil)
				ns[0].Ready, ns[1].Draining = false, true
				return ns
			}(), n: 2,
			svc:  func(s ServiceReq) ServiceReq { return s },
			want: map[string]int{"node3": 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := tc.svc(svcReq("/web", tc.n))
			var ins []Instance
			for i, n := range tc.instances {
				ins = append(ins, running(string(rune('a'+i)), svc, n))
			}
			s := NewSnapshot(tc.nodes, ins)
			ps, e := Place(s, svc, tc.n)
			got := map[string]int{}
			for _, p := range ps {
				key := p.Node
				if tc.by != "" {
					n, _ := s.Node(p.Node)
					key = n.Labels[tc.by]
				}
				got[key]++
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("placed %v, want %v", got, tc.want)
			}
			placed := 0
			for _, k := range tc.want {
				placed += k
			}
			if e.Placed != placed || e.Wanted != tc.n {
				t.Errorf("explanation %+v, want %d of %d placed", e, placed, tc.n)
			}
			if placed < tc.n && len(e.Rejected) == 0 {
				t.Errorf("short placement without reasons: %+v", e)
			}
		})
	}
}

func TestPlaceLeavesTheSnapshotAsItWas(t *testing.T) {
	svc := svcReq("/web", 3)
	svc.HostPorts = []int{80}
	svc.Constraints = cons(t, []string{"hostname", "UNIQUE"})
	s := NewSnapshot(nodes(3, nil), nil)
	first, _ := Place(s, svc, 3)
	second, _ := Place(s, svc, 3)
	if !reflect.DeepEqual(first, second) || len(first) != 3 {
		t.Fatalf("second Place differs or is short: %v then %v", first, second)
	}
	if c, m := s.Allocated("node1"); c != 0 || m != 0 {
		t.Errorf("node1 allocated %v CPUs %v MiB after Place, want nothing", c, m)
	}
	for _, p := range first {
		s.Assume(p)
	}
	if rest, e := Place(s, svc, 1); len(rest) != 0 || e.String() != "0/3 nodes fit: 3 host port in use" {
		t.Errorf("after Assume: placed %v, %q", rest, e)
	}
}

func TestVictims(t *testing.T) {
	svc := svcReq("/web", 0)
	at := func(i Instance, d time.Duration) Instance { i.StartedAt = t0.Add(d); return i }
	tests := []struct {
		name      string
		svc       func(ServiceReq) ServiceReq
		nodes     []Node
		instances []Instance
		n         int
		want      []string
	}{
		{
			name: "not yet running first, then unhealthy, then youngest", nodes: nodes(3, nil), n: 3,
			svc: func(s ServiceReq) ServiceReq { return s },
			instances: func() []Instance {
				a := at(running("old", svc, "node1"), 0)
				b := at(running("young", svc, "node2"), time.Hour)
				c := at(running("sick", svc, "node3"), 0)
				c.Healthy = false
				d := at(running("new", svc, "node1"), 0)
				d.State = StateStarting
				return []Instance{a, b, c, d}
			}(),
			want: []string{"new", "sick", "young"},
		},
		{
			name: "oldest first when asked", nodes: nodes(2, nil), n: 1,
			svc: func(s ServiceReq) ServiceReq { s.KillSelection = OldestFirst; return s },
			instances: []Instance{
				at(running("young", svc, "node1"), time.Hour), at(running("old", svc, "node2"), 0),
			},
			want: []string{"old"},
		},
		{
			name: "restores spread before age", nodes: nodes(2, nil), n: 2,
			svc: func(s ServiceReq) ServiceReq { return s },
			instances: []Instance{
				at(running("a", svc, "node1"), 0), at(running("b", svc, "node1"), time.Minute),
				at(running("c", svc, "node1"), 2*time.Minute), at(running("d", svc, "node2"), time.Hour),
			},
			want: []string{"c", "b"},
		},
		{
			name: "restores group by balance", nodes: nodes(4, func(i int) map[string]string {
				return map[string]string{"rack": []string{"r1", "r1", "r2", "r2"}[i]}
			}), n: 1,
			svc: func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"rack", "GROUP_BY"}); return s },
			instances: []Instance{
				at(running("a", svc, "node1"), 0), at(running("b", svc, "node2"), time.Minute),
				at(running("c", svc, "node3"), time.Hour),
			},
			want: []string{"b"},
		},
		{
			name: "an instance breaking a constraint goes first", nodes: nodes(2, func(i int) map[string]string {
				return map[string]string{"disk": []string{"ssd", "hdd"}[i]}
			}), n: 1,
			svc: func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"disk", "IS", "ssd"}); return s },
			instances: []Instance{
				at(running("good", svc, "node1"), time.Hour), at(running("bad", svc, "node2"), 0),
			},
			want: []string{"bad"},
		},
		{
			name: "stopped instances are never victims", nodes: nodes(1, nil), n: 2,
			svc: func(s ServiceReq) ServiceReq { return s },
			instances: func() []Instance {
				a := running("gone", svc, "node1")
				a.State = StateStopped
				return []Instance{a, running("up", svc, "node1")}
			}(),
			want: []string{"up"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSnapshot(tc.nodes, tc.instances)
			var got []string
			for _, v := range Victims(s, tc.svc(svc), tc.n) {
				got = append(got, v.ID)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("victims %v, want %v", got, tc.want)
			}
		})
	}
}

// TestPlaceInOnePassEqualsOneAtATime checks on random clusters that placing
// N at once chooses exactly what N single placements, each committed,
// would: the one-pass shortcuts (dropping nodes that stop fitting) change
// nothing.
func TestPlaceInOnePassEqualsOneAtATime(t *testing.T) {
	ns, svcs := BenchCluster(120, 3)
	for i, svc := range svcs {
		for _, n := range []int{1, 5, 13, 40} {
			batch := NewSnapshot(ns, nil)
			got, _ := Place(batch, svc, n)
			single := NewSnapshot(ns, nil)
			var want []Placement
			for range n {
				ps, _ := Place(single, svc, 1)
				if len(ps) == 0 {
					break
				}
				single.Assume(ps[0])
				want = append(want, ps[0])
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("service %d (%s) n=%d: one pass %v, one at a time %v", i, svc.ID, n, perNodeOf(got), perNodeOf(want))
			}
		}
	}
}

func perNodeOf(ps []Placement) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Node
	}
	return out
}
