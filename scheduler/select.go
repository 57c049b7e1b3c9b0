package scheduler

import (
	"cmp"
	"slices"
)

// Placement is one instance to start on a node.
type Placement struct {
	// InstanceID is empty from Place; Reconcile names the instance.
	InstanceID string
	Service    string
	Node       string
	Version    string
	CPUs       float64
	MemMiB     float64
	HostPorts  []int
}

// Place chooses nodes for n more instances of svc in one pass. Each
// instance goes to the least loaded primary GROUP_BY domain that has a
// fitting node, then to the lowest-cost node there, so N instances over
// domains known from the inventory spread exactly evenly (6 over 3 hosts
// is 2/2/2, 7 over 3 racks 3/2/2). Fewer than n placements come back when
// nodes run out; the Explanation says why. The snapshot is left as it was
// (Place writes to it while it works, so one call at a time): commit the
// placements with Assume.
func Place(s *Snapshot, svc ServiceReq, n int) ([]Placement, Explanation) {
	c := s.compile(&svc)
	e := Explanation{Wanted: n, Nodes: len(s.nodes)}
	if n <= 0 {
		return nil, e
	}
	out := make([]Placement, 0, n)
	chosen := make([]int32, 0, n)
	// Every check except GROUP_BY balance only gets stricter as instances
	// are added, so a node that fails once is dropped for the whole pass.
	cand := s.cand[:0]
	for i := range s.nodes {
		if s.check(c, int32(i)) == fits {
			cand = append(cand, int32(i))
		}
	}
	for round := 0; len(out) < n; round++ {
		best, bestDomain, bestCost, bestAvoided := int32(-1), int32(0), 0.0, false
		kept := cand[:0]
		for _, ni := range cand {
			// The first round's candidates were just checked.
			if round > 0 && s.check(c, ni) != fits {
				continue
			}
			kept = append(kept, ni)
			d, k, av := c.domainCount(ni), s.cost(c, ni), c.avoided(ni)
			// A node the service keeps failing on is taken only when no
			// other fits; then spread, then cost decide.
			if best < 0 || (bestAvoided && !av) ||
				(av == bestAvoided && (d < bestDomain || (d == bestDomain && k < bestCost))) {
				best, bestDomain, bestCost, bestAvoided = ni, d, k, av
			}
		}
		cand = kept
		if best < 0 {
			break
		}
		s.take(c, best, 1)
		chosen = append(chosen, best)
		out = append(out, Placement{
			Service: svc.ID, Node: s.inv[best].Name, Version: svc.Version,
			CPUs: svc.CPUs, MemMiB: svc.MemMiB, HostPorts: c.ports,
		})
	}
	s.cand = cand[:0]
	e.Placed = len(out)
	if len(out) < n {
		ex := s.explain(c)
		e.Fit, e.Rejected = ex.Fit, ex.Rejected
	} else {
		e.Fit = len(cand)
	}
	for _, ni := range chosen {
		s.take(c, ni, -1)
	}
	return out, e
}

// take adds (sign 1) or removes (sign -1) one tentative instance of c on
// node ni.
func (s *Snapshot) take(c *compiled, ni int32, sign int32) {
	n := &s.nodes[ni]
	f := float64(sign)
	n.usedCPU += f * c.svc.CPUs
	n.usedMem += f * c.svc.MemMiB
	for _, p := range c.ports {
		if sign > 0 {
			n.ports = append(n.ports, p)
		} else if j := slices.Index(n.ports, p); j >= 0 {
			n.ports = slices.Delete(n.ports, j, j+1)
		}
	}
	s.bump(c.a, ni, sign)
	for i := range c.cons {
		cc := &c.cons[i]
		if cc.Operator == Cluster && cc.Value == "" {
			cc.cluster = clusterAny
			for id, k := range cc.counts {
				if k > 0 {
					cc.cluster = int32(id)
					break
				}
			}
		}
	}
}

// Victims chooses n active instances of svc to stop, in order: not yet
// running first, then unhealthy, then those on nodes that break the
// service's constraints or hold more than their share (restoring spread),
// then by KillSelection (youngest first unless OldestFirst).
func Victims(s *Snapshot, svc ServiceReq, n int) []Instance {
	a := s.services[svc.ID]
	if a == nil || n <= 0 {
		return nil
	}
	c := s.compile(&svc)
	var pool []*Instance
	for _, in := range a.instances {
		if in.State.Active() {
			pool = append(pool, in)
		}
	}
	var out []Instance
	for len(out) < n && len(pool) > 0 {
		bestIdx := -1
		var bestKey victimKey
		for i, in := range pool {
			k := s.victimKey(c, in)
			if bestIdx < 0 || k.before(bestKey, svc.KillSelection) {
				bestIdx, bestKey = i, k
			}
		}
		in := pool[bestIdx]
		out = append(out, *in)
		pool = slices.Delete(pool, bestIdx, bestIdx+1)
		// Later choices must see the spread without this one.
		if ni := s.nodeIndex(in.Node); ni >= 0 {
			s.bump(c.a, ni, -1)
			defer s.bump(c.a, ni, 1)
		}
	}
	return out
}

type victimKey struct {
	tier      int // 0 not running, 1 unhealthy, 2 healthy
	violates  bool
	crowd     int32 // instances sharing its node and domains
	startedAt int64
}

func (s *Snapshot) victimKey(c *compiled, in *Instance) victimKey {
	k := victimKey{tier: 2, startedAt: in.StartedAt.UnixNano()}
	switch {
	case in.State != StateRunning:
		k.tier = 0
	case !in.Healthy:
		k.tier = 1
	}
	ni := s.nodeIndex(in.Node)
	if ni < 0 {
		k.violates = true
		return k
	}
	k.crowd = c.a.perNode[ni]
	for i := range c.cons {
		cc := &c.cons[i]
		v := cc.col.vals[ni]
		switch cc.Operator {
		case GroupBy:
			if v >= 0 {
				k.crowd += cc.counts[v]
			}
		case Unique:
			k.violates = k.violates || v < 0 || cc.counts[v] > 1
		case MaxPer:
			k.violates = k.violates || v < 0 || int(cc.counts[v]) > cc.N
		case Like, Is:
			k.violates = k.violates || v < 0 || !cc.allowed[v]
		case Unlike:
			k.violates = k.violates || (v >= 0 && !cc.allowed[v])
		case Cluster:
			k.violates = k.violates || v < 0 || (cc.Value != "" && cc.cluster != v)
		}
	}
	if !s.nodes[ni].ready || s.nodes[ni].draining {
		k.violates = true
	}
	return k
}

// before reports whether k should be stopped before o.
func (k victimKey) before(o victimKey, sel KillSelection) bool {
	if k.tier != o.tier {
		return k.tier < o.tier
	}
	if k.violates != o.violates {
		return k.violates
	}
	if k.crowd != o.crowd {
		return k.crowd > o.crowd
	}
	if sel == OldestFirst {
		return cmp.Less(k.startedAt, o.startedAt)
	}
	return k.startedAt > o.startedAt
}
