package scheduler

import (
	"fmt"
	"testing"
)

func BenchmarkPlace(b *testing.B) {
	for _, nodes := range []int{1000, 5000, 10000} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			ns, svcs := BenchCluster(nodes, 1)
			s := NewSnapshot(ns, nil)
			b.ReportAllocs()
			i, placed := 0, 0
			for b.Loop() {
				ps, _ := Place(s, svcs[i%len(svcs)], 1)
				for _, p := range ps {
					s.Assume(p)
				}
				placed += len(ps)
				i++
				// Start over before the cluster fills, so every
				// iteration is a real decision.
				if placed >= nodes*4 {
					b.StopTimer()
					s, placed = NewSnapshot(ns, nil), 0
					b.StartTimer()
				}
			}
		})
	}
}

func TestBenchAccountsForEveryPlacement(t *testing.T) {
	// 200 nodes are 5 racks: the MAX_PER 4 per rack services cap at 20
	// instances each, so a few placements may be refused, never lost.
	res := Bench(BenchOptions{Nodes: 200, Placements: 500, Seed: 7})
	if res.Placed+res.Unplaced != 500 || res.Placed < 450 {
		t.Fatalf("placed %d, unplaced %d; want 500 in all, at least 450 placed", res.Placed, res.Unplaced)
	}
	if res.Decisions == 0 || res.P99 < res.P50 || res.Max < res.P99 || res.PlacementsPerSec <= 0 {
		t.Fatalf("inconsistent result %+v", res)
	}
}

// BenchmarkReconcile times one reconcile tick of a converged cluster: the
// cost the server pays on every change and timer when nothing is to do.
func BenchmarkReconcile(b *testing.B) {
	for _, nodes := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			ns, svcs := BenchCluster(nodes, 1)
			s := NewSnapshot(ns, nil)
			var ins []Instance
			for i := range svcs {
				svcs[i].Instances = nodes / 20
				ps, _ := Place(s, svcs[i], svcs[i].Instances)
				svcs[i].Instances = len(ps)
				for j, p := range ps {
					p.InstanceID = fmt.Sprintf("%s-%d", p.Service, j)
					s.Assume(p)
					ins = append(ins, Instance{ID: p.InstanceID, Service: p.Service, Node: p.Node, Version: p.Version,
						State: StateRunning, Healthy: true, CPUs: p.CPUs, MemMiB: p.MemMiB})
				}
			}
			s = NewSnapshot(ns, ins)
			if plan := Reconcile(s, svcs, t0); len(plan.Actions) != 0 {
				b.Fatalf("converged cluster got actions: %d, first %+v", len(plan.Actions), plan.Actions[0])
			}
			for b.Loop() {
				Reconcile(s, svcs, t0)
			}
			b.ReportMetric(float64(len(ins)), "instances")
		})
	}
}
