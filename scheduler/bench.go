package scheduler

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"
)

// BenchOptions shape a synthetic cluster for Bench.
type BenchOptions struct {
	// Nodes in the cluster, spread over racks of 40 in three zones.
	Nodes int
	// Placements is how many instances to place in total.
	Placements int
	// MaxBatch is the largest n of one Place call (calls place 1..MaxBatch);
	// 0 means 8.
	MaxBatch int
	// Seed makes the cluster and the call sequence reproducible.
	Seed uint64
}

// BenchResult is what Bench measured. A decision is one Place call.
type BenchResult struct {
	Nodes, Services, Placed, Unplaced, Decisions int
	Elapsed                                      time.Duration
	PlacementsPerSec                             float64
	P50, P99, Max                                time.Duration
}

// benchTemplates mix the constraint kinds people use.
var benchTemplates = []struct {
	name     string
	cons     [][]string
	cpus     float64
	mem      float64
	strategy Strategy
}{
	{"web", [][]string{{"zone", "GROUP_BY", "3"}}, 0.5, 512, Spread},
	{"api", [][]string{{"hostname", "UNIQUE"}, {"zone", "GROUP_BY"}}, 1, 1024, Spread},
	{"db", [][]string{{"disk", "IS", "ssd"}, {"rack", "GROUP_BY"}}, 2, 4096, Spread},
	{"batch", [][]string{{"type", "LIKE", "compute|general"}}, 1, 2048, Binpack},
	{"cache", [][]string{{"rack", "MAX_PER", "4"}, {"type", "UNLIKE", "gpu"}}, 0.25, 1024, Spread},
	{"edge", [][]string{{"zone", "CLUSTER", "z1"}, {"hostname", "MAX_PER", "2"}}, 0.25, 256, Spread},
}

// BenchCluster builds the synthetic nodes and services Bench uses: nodes
// with rack, zone, disk and type labels, and ten services per template.
func BenchCluster(nodes int, seed uint64) ([]Node, []ServiceReq) {
	rng := rand.New(rand.NewPCG(seed, 1))
	ns := make([]Node, nodes)
	types := []string{"general", "general", "compute", "gpu"}
	for i := range ns {
		rack := i / 40
		disk := "hdd"
		if rng.IntN(2) == 0 {
			disk = "ssd"
		}
		ns[i] = Node{
			Name: fmt.Sprintf("node-%05d", i),
			Labels: map[string]string{
				"rack": fmt.Sprintf("r%03d", rack), "zone": fmt.Sprintf("z%d", rack%3+1),
				"disk": disk, "type": types[rng.IntN(len(types))],
			},
			CPUs: 32, MemMiB: 128 * 1024, Ready: true,
		}
	}
	var svcs []ServiceReq
	for k := range 10 {
		for _, t := range benchTemplates {
			svc := ServiceReq{
				ID: fmt.Sprintf("/bench/%s-%d", t.name, k), Version: "1",
				CPUs: t.cpus, MemMiB: t.mem, Strategy: t.strategy,
				MinHealthCapacity: DefaultMinHealthCapacity, MaxOverCapacity: DefaultMaxOverCapacity,
			}
			for _, parts := range t.cons {
				c, err := ParseConstraint(parts)
				if err != nil {
					panic(err) // the templates are fixed; a bad one is a bug here
				}
				svc.Constraints = append(svc.Constraints, c)
			}
			svcs = append(svcs, svc)
		}
	}
	return ns, svcs
}

// Bench places opts.Placements instances on a synthetic cluster, one Place
// call of 1..MaxBatch instances of a random service at a time, committing
// each result, and times every call.
func Bench(opts BenchOptions) BenchResult {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 8
	}
	nodes, svcs := BenchCluster(opts.Nodes, opts.Seed)
	s := NewSnapshot(nodes, nil)
	// Building the cluster leaves garbage; collect it now rather than
	// inside a timed decision.
	runtime.GC()
	rng := rand.New(rand.NewPCG(opts.Seed, 2))
	res := BenchResult{Nodes: opts.Nodes, Services: len(svcs)}
	var lat []time.Duration
	for res.Placed+res.Unplaced < opts.Placements {
		svc := svcs[rng.IntN(len(svcs))]
		n := min(1+rng.IntN(opts.MaxBatch), opts.Placements-res.Placed-res.Unplaced)
		t0 := time.Now()
		ps, _ := Place(s, svc, n)
		for _, p := range ps {
			s.Assume(p)
		}
		d := time.Since(t0)
		lat = append(lat, d)
		res.Elapsed += d
		res.Placed += len(ps)
		res.Unplaced += n - len(ps)
	}
	res.Decisions = len(lat)
	if res.Elapsed > 0 {
		res.PlacementsPerSec = float64(res.Placed) / res.Elapsed.Seconds()
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		res.P50 = lat[len(lat)/2]
		res.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
		res.Max = lat[len(lat)-1]
	}
	return res
}
