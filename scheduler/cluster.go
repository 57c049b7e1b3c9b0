package scheduler

import (
	"slices"
	"strconv"
	"time"
)

// State is where an instance is in its life.
type State string

// Instance states, as agents report them.
const (
	StatePending  State = "pending"
	StateStarting State = "starting"
	StateRunning  State = "running"
	StateStopping State = "stopping"
	StateStopped  State = "stopped"
	StateFailed   State = "failed"
	StateLost     State = "lost"
)

// Active reports whether the instance counts toward its service's
// instances: it is wanted and not on its way out.
func (s State) Active() bool {
	return s == StatePending || s == StateStarting || s == StateRunning
}

// holdsResources reports whether the instance still occupies its node:
// a stopping container has not released its memory or ports yet.
func (s State) holdsResources() bool {
	return s.Active() || s == StateStopping
}

// Strategy is how a service's instances are packed onto nodes.
type Strategy string

// Placement strategies.
const (
	// Spread prefers the node with the fewest instances of the service and
	// the least allocated resources.
	Spread Strategy = "spread"
	// Binpack prefers the most allocated node that still fits, keeping
	// other nodes empty.
	Binpack Strategy = "binpack"
)

// KillSelection breaks ties between scale-down victims, as Marathon's
// killSelection does.
type KillSelection string

// Kill selections.
const (
	YoungestFirst KillSelection = "YOUNGEST_FIRST"
	OldestFirst   KillSelection = "OLDEST_FIRST"
)

// Upgrade strategy defaults, Marathon's.
const (
	DefaultMinHealthCapacity = 1.0
	DefaultMaxOverCapacity   = 1.0
)

// Node is one machine that can run instances.
type Node struct {
	Name   string
	Labels map[string]string
	CPUs   float64
	MemMiB float64
	Ready  bool
	// Draining nodes take nothing new and have their instances moved off.
	Draining bool
	// UsedPorts are host ports taken by something other than swell's
	// instances.
	UsedPorts []int
}

// Instance is one running (or wanted, or dead) copy of a service.
type Instance struct {
	ID        string
	Service   string
	Node      string
	Version   string
	State     State
	Healthy   bool
	StartedAt time.Time
	CPUs      float64
	MemMiB    float64
	HostPorts []int
	// DependsOn are the service's dependencies as the instance was
	// placed; they order the stops of deleted services.
	DependsOn []string
}

// ServiceReq is what the scheduler needs to know of a service. Zero
// MinHealthCapacity and MaxOverCapacity mean 0, not the defaults: the spec
// loader fills in DefaultMinHealthCapacity and DefaultMaxOverCapacity.
type ServiceReq struct {
	ID        string
	Version   string
	Instances int
	CPUs      float64
	MemMiB    float64
	// HostPorts are the fixed (non-zero) host ports each instance needs.
	HostPorts   []int
	Constraints []Constraint
	// Strategy is Spread when empty.
	Strategy Strategy
	// Priority: a higher value may take room from lower ones.
	Priority int
	// MinInstances is how far preemption may shrink the service
	// (autoscale.min); 0 means Instances.
	MinInstances int
	// KillSelection is YoungestFirst when empty.
	KillSelection     KillSelection
	MinHealthCapacity float64
	MaxOverCapacity   float64
	// Dependencies are service IDs that must be fully healthy before this
	// one is placed or upgraded.
	Dependencies []string
	// HealthGrace is how long a running instance may stay unhealthy before
	// it is replaced; zero means it is replaced as soon as it is reported
	// unhealthy (the agent already applies gracePeriodSeconds).
	HealthGrace time.Duration
	// AvoidNodes are nodes where the service's instances kept failing:
	// new instances go there only when no other node fits.
	AvoidNodes []string
	// KeepOld holds the instances of other versions (a blue/green or
	// canary rollout): they are neither stopped nor counted, and the
	// current version runs NewInstances of its own (Instances when 0).
	KeepOld      bool
	NewInstances int
}

func (s *ServiceReq) minInstances() int {
	if s.MinInstances > 0 && s.MinInstances < s.Instances {
		return s.MinInstances
	}
	return s.Instances
}

// nodeState is what the filter reads of a node, kept to one cache line
// so a scan over thousands of nodes stays in the CPU's caches; the rest of
// the node is in Snapshot.inv.
type nodeState struct {
	cpus, mem        float64
	usedCPU, usedMem float64
	ready, draining  bool
	ports            []int
}

func (n *nodeState) portFree(p int) bool {
	return !slices.Contains(n.ports, p)
}

// column holds the interned values of one field across all nodes, so
// constraints compare small integers instead of strings in the hot loop.
type column struct {
	vals  []int32 // per node; -1 when the node lacks the label
	names []string
	ids   map[string]int32
}

// svcAlloc is what one service has where.
type svcAlloc struct {
	perNode   []int32 // active instances per node index
	total     int
	instances []*Instance
	perField  map[string][]int32 // field → count per value id
}

// Snapshot is the cluster as the core sees it: nodes with their
// allocations, and each service's active instances counted per node and per
// value of every field a constraint asks about. Build one per decision with
// NewSnapshot; it is not safe for concurrent use.
type Snapshot struct {
	nodes    []nodeState
	inv      []Node
	index    map[string]int32
	columns  map[string]*column
	services map[string]*svcAlloc
	all      []*Instance
	byID     map[string]*Instance
	// scratch buffers reused across Place calls.
	cand    []int32
	assumed int
}

// NewSnapshot indexes nodes and instances. Instances on nodes it does not
// know are kept (they can be stopped) but occupy nothing.
func NewSnapshot(nodes []Node, instances []Instance) *Snapshot {
	s := &Snapshot{
		nodes:    make([]nodeState, len(nodes)),
		inv:      slices.Clone(nodes),
		index:    make(map[string]int32, len(nodes)),
		columns:  map[string]*column{},
		services: map[string]*svcAlloc{},
		byID:     make(map[string]*Instance, len(instances)),
	}
	for i, n := range nodes {
		s.nodes[i] = nodeState{cpus: n.CPUs, mem: n.MemMiB, ready: n.Ready, draining: n.Draining, ports: slices.Clone(n.UsedPorts)}
		s.index[n.Name] = int32(i)
	}
	s.all = make([]*Instance, 0, len(instances))
	for i := range instances {
		in := instances[i]
		s.add(&in)
	}
	return s
}

// Clone returns an independent copy, for planning on top of a snapshot
// without changing it.
func (s *Snapshot) Clone() *Snapshot {
	nodes := s.inv
	ins := make([]Instance, len(s.all))
	for i, in := range s.all {
		ins[i] = *in
	}
	return NewSnapshot(nodes, ins)
}

// Nodes returns the nodes in inventory order.
func (s *Snapshot) Nodes() []Node {
	return slices.Clone(s.inv)
}

// Node returns the named node.
func (s *Snapshot) Node(name string) (Node, bool) {
	i, ok := s.index[name]
	if !ok {
		return Node{}, false
	}
	return s.inv[i], true
}

// Instances returns the service's instances (all states), in the order
// they were added.
func (s *Snapshot) Instances(service string) []Instance {
	a := s.services[service]
	if a == nil {
		return nil
	}
	out := make([]Instance, len(a.instances))
	for i, in := range a.instances {
		out[i] = *in
	}
	return out
}

// AllInstances returns every instance in the snapshot.
func (s *Snapshot) AllInstances() []Instance {
	out := make([]Instance, len(s.all))
	for i, in := range s.all {
		out[i] = *in
	}
	return out
}

// Allocated returns the CPUs and MiB allocated on the named node.
func (s *Snapshot) Allocated(node string) (cpus, memMiB float64) {
	i, ok := s.index[node]
	if !ok {
		return 0, 0
	}
	return s.nodes[i].usedCPU, s.nodes[i].usedMem
}

// Count returns how many active instances of the service run on the node.
func (s *Snapshot) Count(service, node string) int {
	a, i := s.services[service], s.nodeIndex(node)
	if a == nil || i < 0 || a.perNode == nil {
		return 0
	}
	return int(a.perNode[i])
}

// Assume records a placement as a pending instance, so the next decision
// sees it.
// A placement without an InstanceID gets a name unique in this snapshot.
func (s *Snapshot) Assume(p Placement) {
	if p.InstanceID == "" {
		s.assumed++
		p.InstanceID = "assumed-" + strconv.Itoa(s.assumed)
	}
	s.add(&Instance{
		ID: p.InstanceID, Service: p.Service, Node: p.Node, Version: p.Version,
		State: StatePending, CPUs: p.CPUs, MemMiB: p.MemMiB, HostPorts: slices.Clone(p.HostPorts),
	})
}

// Remove forgets an instance (it was stopped), releasing what it held.
func (s *Snapshot) Remove(id string) bool {
	in := s.byID[id]
	if in == nil {
		return false
	}
	s.release(in)
	delete(s.byID, id)
	s.all = slices.DeleteFunc(s.all, func(x *Instance) bool { return x == in })
	a := s.services[in.Service]
	a.instances = slices.DeleteFunc(a.instances, func(x *Instance) bool { return x == in })
	return true
}

// SetState changes an instance's state, moving its allocation accordingly.
func (s *Snapshot) SetState(id string, st State) bool {
	in := s.byID[id]
	if in == nil {
		return false
	}
	s.release(in)
	in.State = st
	s.occupy(in)
	return true
}

func (s *Snapshot) nodeIndex(name string) int32 {
	if i, ok := s.index[name]; ok {
		return i
	}
	return -1
}

func (s *Snapshot) alloc(service string) *svcAlloc {
	a := s.services[service]
	if a == nil {
		a = &svcAlloc{}
		s.services[service] = a
	}
	return a
}

func (s *Snapshot) add(in *Instance) {
	if old := s.byID[in.ID]; old != nil {
		// The same ID twice is a stale report; the later one wins.
		s.Remove(in.ID)
	}
	s.byID[in.ID] = in
	s.all = append(s.all, in)
	a := s.alloc(in.Service)
	a.instances = append(a.instances, in)
	s.occupy(in)
}

// occupy and release keep the per-node and per-field counters in step with
// one instance's state.
func (s *Snapshot) occupy(in *Instance)  { s.account(in, 1) }
func (s *Snapshot) release(in *Instance) { s.account(in, -1) }

func (s *Snapshot) account(in *Instance, sign int32) {
	ni := s.nodeIndex(in.Node)
	if ni < 0 {
		return
	}
	n := &s.nodes[ni]
	if in.State.holdsResources() {
		f := float64(sign)
		n.usedCPU += f * in.CPUs
		n.usedMem += f * in.MemMiB
		for _, p := range in.HostPorts {
			if p == 0 {
				continue
			}
			if sign > 0 {
				n.ports = append(n.ports, p)
			} else if j := slices.Index(n.ports, p); j >= 0 {
				n.ports = slices.Delete(n.ports, j, j+1)
			}
		}
	}
	if !in.State.Active() {
		return
	}
	a := s.alloc(in.Service)
	s.bump(a, ni, sign)
}

// bump moves a service's counters on node ni by sign.
func (s *Snapshot) bump(a *svcAlloc, ni int32, sign int32) {
	if a.perNode == nil {
		a.perNode = make([]int32, len(s.nodes))
	}
	a.perNode[ni] += sign
	a.total += int(sign)
	for field, counts := range a.perField {
		if v := s.columns[field].vals[ni]; v >= 0 {
			counts[v] += sign
		}
	}
}

// column returns the interned values of field, building it on first use.
// The hostname column is the node index itself.
func (s *Snapshot) column(field string) *column {
	if c := s.columns[field]; c != nil {
		return c
	}
	c := &column{vals: make([]int32, len(s.nodes)), ids: map[string]int32{}}
	for i := range s.nodes {
		var v string
		var ok bool
		if field == FieldHostname {
			v, ok = s.inv[i].Name, true
		} else {
			v, ok = s.inv[i].Labels[field]
		}
		if !ok {
			c.vals[i] = -1
			continue
		}
		id, seen := c.ids[v]
		if !seen {
			id = int32(len(c.names))
			c.ids[v] = id
			c.names = append(c.names, v)
		}
		c.vals[i] = id
	}
	s.columns[field] = c
	return c
}

// fieldCounts returns the service's active instances per value of field,
// building the counter on first use.
func (s *Snapshot) fieldCounts(a *svcAlloc, field string) []int32 {
	if counts, ok := a.perField[field]; ok {
		return counts
	}
	c := s.column(field)
	counts := make([]int32, len(c.names))
	if a.perNode != nil {
		for ni, k := range a.perNode {
			if k != 0 {
				if v := c.vals[ni]; v >= 0 {
					counts[v] += k
				}
			}
		}
	}
	if a.perField == nil {
		a.perField = map[string][]int32{}
	}
	a.perField[field] = counts
	return counts
}
