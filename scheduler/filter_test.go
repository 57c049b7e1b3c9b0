package scheduler

import (
	"testing"
)

func TestExplain(t *testing.T) {
	racks := func(i int) map[string]string {
		return map[string]string{"rack": []string{"r1", "r1", "r2"}[i], "disk": []string{"ssd", "hdd", "ssd"}[i]}
	}
	tests := []struct {
		name      string
		nodes     []Node
		svc       func(ServiceReq) ServiceReq
		instances []string // nodes that already run one instance
		want      string
	}{
		{
			name: "memory and a unique hostname", nodes: func() []Node {
				ns := nodes(3, nil)
				ns[1].MemMiB, ns[2].MemMiB = 100, 100
				return ns
			}(),
			svc:       func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"hostname", "UNIQUE"}); return s },
			instances: []string{"node1"},
			want:      "0/3 nodes fit: 2 insufficient memory, 1 constraint hostname UNIQUE",
		},
		{
			name: "everything fits", nodes: nodes(3, nil),
			svc:  func(s ServiceReq) ServiceReq { return s },
			want: "3/3 nodes fit",
		},
		{
			name: "not ready and draining nodes", nodes: func() []Node {
				ns := nodes(3, nil)
				ns[0].Ready, ns[1].Draining = false, true
				return ns
			}(),
			svc:  func(s ServiceReq) ServiceReq { return s },
			want: "1/3 nodes fit: 1 node draining, 1 node not ready",
		},
		{
			name: "cpu", nodes: nodes(2, nil),
			svc:  func(s ServiceReq) ServiceReq { s.CPUs = 8; return s },
			want: "0/2 nodes fit: 2 insufficient cpu",
		},
		{
			name: "fixed host port taken by another process", nodes: func() []Node {
				ns := nodes(2, nil)
				ns[0].UsedPorts = []int{8080}
				return ns
			}(),
			svc:  func(s ServiceReq) ServiceReq { s.HostPorts = []int{8080}; return s },
			want: "1/2 nodes fit: 1 host port in use",
		},
		{
			name: "fixed host port taken by an instance", nodes: nodes(2, nil),
			svc:       func(s ServiceReq) ServiceReq { s.HostPorts = []int{8080}; return s },
			instances: []string{"node2"},
			want:      "1/2 nodes fit: 1 host port in use",
		},
		{
			name: "is on a label", nodes: nodes(3, racks),
			svc:  func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"disk", "IS", "ssd"}); return s },
			want: "2/3 nodes fit: 1 constraint disk IS ssd",
		},
		{
			name: "like is anchored", nodes: nodes(3, racks),
			svc:  func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"rack", "LIKE", "r"}); return s },
			want: "0/3 nodes fit: 3 constraint rack LIKE r",
		},
		{
			name: "unlike", nodes: nodes(3, racks),
			svc:  func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"rack", "UNLIKE", "r1"}); return s },
			want: "1/3 nodes fit: 2 constraint rack UNLIKE r1",
		},
		{
			name: "like on a missing label refuses the node", nodes: nodes(2, nil),
			svc:  func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"rack", "LIKE", ".*"}); return s },
			want: "0/2 nodes fit: 2 constraint rack LIKE .*",
		},
		{
			name: "cluster with a value", nodes: nodes(3, racks),
			svc:  func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"rack", "CLUSTER", "r2"}); return s },
			want: "1/3 nodes fit: 2 constraint rack CLUSTER r2",
		},
		{
			name: "cluster without a value follows the first instance", nodes: nodes(3, racks),
			svc:       func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"rack", "CLUSTER"}); return s },
			instances: []string{"node3"},
			want:      "1/3 nodes fit: 2 constraint rack CLUSTER",
		},
		{
			name: "max per rack", nodes: nodes(3, racks),
			svc:       func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"rack", "MAX_PER", "2"}); return s },
			instances: []string{"node1", "node2"},
			want:      "1/3 nodes fit: 2 constraint rack MAX_PER 2",
		},
		{
			name: "group by refuses the domain that is ahead", nodes: nodes(3, racks),
			svc:       func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"rack", "GROUP_BY"}); return s },
			instances: []string{"node1"},
			want:      "1/3 nodes fit: 2 constraint rack GROUP_BY",
		},
		{
			name: "group by allows a domain ahead when the others are full", nodes: func() []Node {
				ns := nodes(3, racks)
				ns[2].MemMiB = 0
				return ns
			}(),
			svc:       func(s ServiceReq) ServiceReq { s.Constraints = cons(t, []string{"rack", "GROUP_BY"}); return s },
			instances: []string{"node1"},
			want:      "2/3 nodes fit: 1 insufficient memory",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := tc.svc(svcReq("/web", 3))
			var ins []Instance
			for i, n := range tc.instances {
				ins = append(ins, running(string(rune('a'+i)), svc, n))
			}
			if got := Explain(NewSnapshot(tc.nodes, ins), svc); got != tc.want {
				t.Errorf("Explain = %q, want %q", got, tc.want)
			}
		})
	}
}
