package scheduler

import (
	"fmt"
	"testing"
	"time"
)

// nodes makes n ready nodes node1..nodeN with 4 CPUs and 4 GiB; label, when
// given, adds labels to node i (0-based).
func nodes(n int, label func(i int) map[string]string) []Node {
	out := make([]Node, n)
	for i := range out {
		out[i] = Node{Name: fmt.Sprintf("node%d", i+1), CPUs: 4, MemMiB: 4096, Ready: true}
		if label != nil {
			out[i].Labels = label(i)
		}
	}
	return out
}

func cons(t *testing.T, parts ...[]string) []Constraint {
	t.Helper()
	var out []Constraint
	for _, p := range parts {
		c, err := ParseConstraint(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func svcReq(id string, instances int) ServiceReq {
	return ServiceReq{ID: id, Version: "v1", Instances: instances, CPUs: 0.5, MemMiB: 128,
		MinHealthCapacity: DefaultMinHealthCapacity, MaxOverCapacity: DefaultMaxOverCapacity}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// running makes a healthy running instance of svc on node.
func running(id string, svc ServiceReq, node string) Instance {
	return Instance{ID: id, Service: svc.ID, Node: node, Version: svc.Version, State: StateRunning, Healthy: true,
		StartedAt: t0, CPUs: svc.CPUs, MemMiB: svc.MemMiB, HostPorts: svc.HostPorts}
}
