package scheduler

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// reason is why a node cannot take an instance; values from
// reasonConstraint on name the constraint at index reason-reasonConstraint.
type reason uint16

const (
	fits reason = iota
	reasonNotReady
	reasonDraining
	reasonCPU
	reasonMemory
	reasonPort
	reasonConstraint
)

// Sentinels of compiledConstraint.cluster.
const (
	clusterAny  int32 = -1 // CLUSTER without value and nothing placed yet
	clusterNone int32 = -2 // CLUSTER value that no node carries
)

// compiledConstraint is a constraint resolved against one snapshot: the
// field is interned, patterns are evaluated once per distinct value, and the
// service's counts per value are at hand.
type compiledConstraint struct {
	Constraint
	col     *column
	counts  []int32 // the service's active instances per value id
	allowed []bool  // LIKE, UNLIKE, IS: per value id
	cluster int32   // CLUSTER: the value id every instance must share
}

// compiled is a service prepared for one Place or Explain call.
type compiled struct {
	svc     *ServiceReq
	a       *svcAlloc
	cons    []compiledConstraint
	groupBy int // index in cons of the GROUP_BY that decides domains; -1 if none
	ports   []int
	// avoid marks, by node index, the nodes of svc.AvoidNodes; nil when
	// there are none.
	avoid []bool
}

func (c *compiled) avoided(ni int32) bool { return c.avoid != nil && c.avoid[ni] }

func (s *Snapshot) compile(svc *ServiceReq) *compiled {
	a := s.alloc(svc.ID)
	if a.perNode == nil {
		a.perNode = make([]int32, len(s.nodes))
	}
	c := &compiled{svc: svc, a: a, groupBy: -1, cons: make([]compiledConstraint, len(svc.Constraints))}
	for _, p := range svc.HostPorts {
		if p != 0 {
			c.ports = append(c.ports, p)
		}
	}
	if len(svc.AvoidNodes) > 0 {
		c.avoid = make([]bool, len(s.nodes))
		for _, name := range svc.AvoidNodes {
			if ni := s.nodeIndex(name); ni >= 0 {
				c.avoid[ni] = true
			}
		}
	}
	for i, con := range svc.Constraints {
		cc := compiledConstraint{Constraint: con, col: s.column(con.Field)}
		cc.counts = s.fieldCounts(a, con.Field)
		switch con.Operator {
		case Like, Unlike, Is:
			cc.allowed = make([]bool, len(cc.col.names))
			for id, v := range cc.col.names {
				switch con.Operator {
				case Like:
					cc.allowed[id] = con.Re != nil && con.Re.MatchString(v)
				case Unlike:
					cc.allowed[id] = con.Re == nil || !con.Re.MatchString(v)
				case Is:
					cc.allowed[id] = v == con.Value
				}
			}
		case Cluster:
			cc.cluster = clusterAny
			if con.Value != "" {
				cc.cluster = clusterNone
				if id, ok := cc.col.ids[con.Value]; ok {
					cc.cluster = id
				}
			} else {
				for id, k := range cc.counts {
					if k > 0 {
						cc.cluster = int32(id)
						break
					}
				}
			}
		case GroupBy:
			if c.groupBy < 0 {
				c.groupBy = i
			}
		}
		c.cons[i] = cc
	}
	return c
}

// check says whether node ni can take one more instance, ignoring GROUP_BY
// balance (which select weighs across domains, since it depends on which
// other nodes fit).
func (s *Snapshot) check(c *compiled, ni int32) reason {
	n := &s.nodes[ni]
	if !n.ready {
		return reasonNotReady
	}
	if n.draining {
		return reasonDraining
	}
	if n.usedCPU+c.svc.CPUs > n.cpus+1e-9 {
		return reasonCPU
	}
	if n.usedMem+c.svc.MemMiB > n.mem+1e-9 {
		return reasonMemory
	}
	for _, p := range c.ports {
		if !n.portFree(p) {
			return reasonPort
		}
	}
	for i := range c.cons {
		cc := &c.cons[i]
		v := cc.col.vals[ni]
		ok := true
		switch cc.Operator {
		case Unique:
			ok = v >= 0 && cc.counts[v] == 0
		case MaxPer:
			ok = v >= 0 && int(cc.counts[v]) < cc.N
		case Cluster:
			ok = v >= 0 && (cc.cluster == clusterAny || cc.cluster == v)
		case GroupBy:
			ok = v >= 0
		case Like, Is:
			ok = v >= 0 && cc.allowed[v]
		case Unlike:
			ok = v < 0 || cc.allowed[v]
		}
		if !ok {
			return reasonConstraint + reason(i)
		}
	}
	return fits
}

// text renders a reason the way swell explain prints it.
func (c *compiled) text(r reason) string {
	switch r {
	case reasonNotReady:
		return "node not ready"
	case reasonDraining:
		return "node draining"
	case reasonCPU:
		return "insufficient cpu"
	case reasonMemory:
		return "insufficient memory"
	case reasonPort:
		return "host port in use"
	}
	if i := int(r - reasonConstraint); i >= 0 && i < len(c.cons) {
		return "constraint " + c.cons[i].String()
	}
	return "fits"
}

// Explanation says how a placement went and, when instances were left
// unplaced, why nodes refused them.
type Explanation struct {
	Wanted, Placed int
	// Nodes is the inventory size. Fit is how many nodes could take one
	// more instance when placement stopped short, or how many could take
	// the last instance placed.
	Nodes, Fit int
	// Rejected counts nodes per reason ("insufficient memory",
	// "constraint hostname UNIQUE", …).
	Rejected map[string]int
}

// String renders e.g. "0/3 nodes fit: 2 insufficient memory, 1 constraint
// hostname UNIQUE", the most common reason first.
func (e Explanation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d nodes fit", e.Fit, e.Nodes)
	type kv struct {
		r string
		n int
	}
	rs := make([]kv, 0, len(e.Rejected))
	for r, n := range e.Rejected {
		rs = append(rs, kv{r, n})
	}
	slices.SortFunc(rs, func(x, y kv) int {
		if c := cmp.Compare(y.n, x.n); c != 0 {
			return c
		}
		return strings.Compare(x.r, y.r)
	})
	for i, r := range rs {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d %s", r.n, r.r)
	}
	return b.String()
}

// explain scans every node for one more instance of c and counts reasons.
// Nodes in a GROUP_BY domain already ahead of the least loaded domain that
// has a fitting node are refused by that constraint, as placement would.
func (s *Snapshot) explain(c *compiled) Explanation {
	e := Explanation{Nodes: len(s.nodes), Rejected: map[string]int{}}
	minDomain := int32(-1)
	if c.groupBy >= 0 {
		g := &c.cons[c.groupBy]
		for i := range s.nodes {
			if s.check(c, int32(i)) == fits {
				if k := g.counts[g.col.vals[i]]; minDomain < 0 || k < minDomain {
					minDomain = k
				}
			}
		}
	}
	// Counted per reason code and named once at the end: formatting a
	// reason per node would cost more than the scan itself.
	counts := make([]int, int(reasonConstraint)+len(c.cons))
	for i := range s.nodes {
		r := s.check(c, int32(i))
		if r == fits && c.groupBy >= 0 {
			g := &c.cons[c.groupBy]
			if g.counts[g.col.vals[i]] > minDomain {
				r = reasonConstraint + reason(c.groupBy)
			}
		}
		if r == fits {
			e.Fit++
			continue
		}
		counts[r]++
	}
	for r, n := range counts {
		if n > 0 {
			e.Rejected[c.text(reason(r))] += n
		}
	}
	return e
}

// Explain says whether and why the nodes can or cannot take one more
// instance of svc, for swell explain.
func Explain(s *Snapshot, svc ServiceReq) string {
	return s.explain(s.compile(&svc)).String()
}
