package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/scheduler"
	"github.com/swell-pipeline/swell/spec"
)

// BenchmarkSteadyPass is the deciding part of one pass over a settled
// cluster (nothing to change), the common case: 500 nodes, 100 services of
// 20 instances.
func BenchmarkSteadyPass(b *testing.B) {
	now := time.Now()
	in := Input{Now: now, NodeTimeout: 10 * time.Second, Cordons: map[string]state.Cordon{}}
	for i := range 500 {
		in.Nodes = append(in.Nodes, state.Node{Name: fmt.Sprintf("n%03d", i), CPUs: 16, MemMiB: 65536, Docker: true, Heartbeat: now,
			Labels: map[string]string{"rack": fmt.Sprintf("r%d", i%10)}})
	}
	k := 0
	for s := range 100 {
		svc := spec.NewService(fmt.Sprintf("/svc/%d", s), "img:1")
		svc.Instances, svc.Cpus, svc.Mem = 20, 0.1, 64
		svc.Constraints = [][]string{{"rack", "GROUP_BY"}}
		rec := state.ServiceRecord{Spec: svc, Version: state.SpecVersion(svc)}
		in.Services = append(in.Services, rec)
		for i := range 20 {
			node := in.Nodes[k%500].Name
			k++
			id := fmt.Sprintf("s%d-%d", s, i)
			in.Placements = append(in.Placements, state.Placement{ID: id, Service: svc.ID, Node: node, Version: rec.Version, At: now, Spec: &svc})
			in.Instances = append(in.Instances, state.Instance{ID: id, Service: svc.ID, Node: node, Version: rec.Version, State: state.Running, Healthy: true, StartedAt: now})
		}
	}
	b.ResetTimer()
	for b.Loop() {
		v := Build(in)
		plan := scheduler.Reconcile(v.Snapshot(), v.Services, now)
		if len(plan.Actions) != 0 {
			b.Fatalf("a settled cluster got %d actions: %+v", len(plan.Actions), plan.Actions[0])
		}
	}
}
