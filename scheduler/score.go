package scheduler

// Weights of the cost terms. Instances of the service on the node dominate
// under Spread, then the balance of secondary GROUP_BY domains, then how
// full the node is; each term stays far below the next one's unit.
const (
	weightSameService = 1e6
	weightDomain      = 1e3
	weightAllocated   = 100
)

// cost ranks a fitting node for one more instance of c; lower is better.
// Balance over the primary GROUP_BY domain is not here: select compares
// domain counts before cost, so the spread is exact rather than weighted.
func (s *Snapshot) cost(c *compiled, ni int32) float64 {
	n := &s.nodes[ni]
	used := allocatedShare(n, c.svc.CPUs, c.svc.MemMiB)
	var domains float64
	for i := range c.cons {
		if i == c.groupBy || c.cons[i].Operator != GroupBy {
			continue
		}
		if v := c.cons[i].col.vals[ni]; v >= 0 {
			domains += float64(c.cons[i].counts[v])
		}
	}
	if c.svc.Strategy == Binpack {
		// The fullest node that still fits wins; domains still balance.
		return domains*weightDomain - used*weightAllocated
	}
	return float64(c.a.perNode[ni])*weightSameService + domains*weightDomain + used*weightAllocated
}

// allocatedShare is the mean of CPU and memory allocation on n after adding
// cpus and mem, in [0, 1] for a node that fits.
func allocatedShare(n *nodeState, cpus, mem float64) float64 {
	var share float64
	if n.cpus > 0 {
		share += (n.usedCPU + cpus) / n.cpus
	}
	if n.mem > 0 {
		share += (n.usedMem + mem) / n.mem
	}
	return share / 2
}

// domainCount is the service's count in node ni's primary GROUP_BY domain
// (0 without GROUP_BY).
func (c *compiled) domainCount(ni int32) int32 {
	if c.groupBy < 0 {
		return 0
	}
	g := &c.cons[c.groupBy]
	return g.counts[g.col.vals[ni]]
}
