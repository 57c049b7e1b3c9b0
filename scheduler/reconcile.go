package scheduler

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ActionKind is what an Action does.
type ActionKind string

// Action kinds.
const (
	// ActionStart starts a new instance on a node.
	ActionStart ActionKind = "start"
	// ActionStop stops an instance (grace period, then kill) and removes it.
	ActionStop ActionKind = "stop"
	// ActionLost records that an instance is gone with its node; nothing
	// can be sent to that node.
	ActionLost ActionKind = "lost"
)

// Action is one change the plan asks for. Reason is written for people: it
// becomes the event's reason.
type Action struct {
	Kind      ActionKind
	Service   string
	Instance  string
	Node      string
	Version   string
	CPUs      float64
	MemMiB    float64
	HostPorts []int
	Reason    string
}

// Plan is what Reconcile decided, in the order to carry it out.
type Plan struct {
	Actions []Action
	// Pending says, per service, why instances could not be placed (the
	// text of swell explain).
	Pending map[string]string
	// Waiting says, per service, why a change was held back (dependencies
	// not healthy, surplus waiting for replacements).
	Waiting map[string]string
}

// Reconcile compares the wanted services with the snapshot and returns the
// actions that move one toward the other. It is level-triggered and pure:
// the snapshot is not changed, and the same inputs give the same plan, so
// call it on every change and on a timer. Services are handled by priority
// (highest first), so a higher-priority service places first and may
// preempt lower ones.
func Reconcile(s *Snapshot, services []ServiceReq, now time.Time) Plan {
	r := &reconciler{
		w:    s.Clone(),
		now:  now,
		byID: make(map[string]*ServiceReq, len(services)),
		plan: Plan{Pending: map[string]string{}, Waiting: map[string]string{}},
		why:  map[string][]string{},
	}
	order := make([]*ServiceReq, len(services))
	for i := range services {
		order[i] = &services[i]
		r.byID[services[i].ID] = &services[i]
	}
	slices.SortStableFunc(order, func(a, b *ServiceReq) int {
		if c := cmp.Compare(b.Priority, a.Priority); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	r.orphans()
	r.lost()
	for _, svc := range order {
		r.service(svc)
	}
	return r.plan
}

type reconciler struct {
	w    *Snapshot
	now  time.Time
	byID map[string]*ServiceReq
	plan Plan
	seq  int
	// why holds, per service, reasons for replacements to come, in order.
	why map[string][]string
}

func (r *reconciler) act(a Action) { r.plan.Actions = append(r.plan.Actions, a) }

func (r *reconciler) stop(in *Instance, reason string) {
	r.act(Action{Kind: ActionStop, Service: in.Service, Instance: in.ID, Node: in.Node, Version: in.Version, Reason: reason})
	r.w.SetState(in.ID, StateStopping)
}

// orphans stops instances of services that are no longer wanted, in
// reverse dependency order: while a deleted service that depends on
// another deleted one still has instances, the other one's wait.
func (r *reconciler) orphans() {
	deps := map[string][]string{}
	for _, in := range r.w.all {
		if _, ok := r.byID[in.Service]; !ok && in.State.holdsResources() {
			deps[in.Service] = in.DependsOn
		}
	}
	heldBy := map[string]string{}
	for svc, ds := range deps {
		for _, d := range ds {
			if _, deleted := deps[d]; deleted && d != svc {
				heldBy[d] = svc
			}
		}
	}
	for _, in := range slices.Clone(r.w.all) {
		if _, ok := r.byID[in.Service]; ok || !in.State.Active() {
			continue
		}
		if by, held := heldBy[in.Service]; held {
			r.plan.Waiting[in.Service] = fmt.Sprintf("service %s was deleted; it stops once %s, which depends on it, has stopped", in.Service, by)
			continue
		}
		r.stop(in, fmt.Sprintf("service %s was deleted", in.Service))
	}
}

// lost marks active instances on nodes that are not ready (or unknown) as
// lost, so they stop counting and are replaced elsewhere. When the node
// comes back its copies count again, and surplus handling stops them only
// once enough instances are healthy.
func (r *reconciler) lost() {
	for _, in := range slices.Clone(r.w.all) {
		if !in.State.Active() {
			if in.State == StateLost || in.State == StateFailed {
				r.why[in.Service] = append(r.why[in.Service], fmt.Sprintf("replace %s instance %s on node %s", in.State, in.ID, in.Node))
			}
			continue
		}
		ni := r.w.nodeIndex(in.Node)
		var why string
		switch {
		case ni < 0:
			why = fmt.Sprintf("node %s is unknown", in.Node)
		case !r.w.nodes[ni].ready:
			why = fmt.Sprintf("node %s is not ready", in.Node)
		default:
			continue
		}
		r.act(Action{Kind: ActionLost, Service: in.Service, Instance: in.ID, Node: in.Node, Version: in.Version, Reason: why})
		r.w.SetState(in.ID, StateLost)
		r.why[in.Service] = append(r.why[in.Service], fmt.Sprintf("replace instance %s lost with %s", in.ID, why))
	}
}

func (r *reconciler) service(svc *ServiceReq) {
	a := r.w.services[svc.ID]
	var cur, old []*Instance
	if a != nil {
		for _, in := range slices.Clone(a.instances) {
			if !in.State.Active() {
				continue
			}
			if in.State == StateRunning && !in.Healthy && r.now.Sub(in.StartedAt) >= svc.HealthGrace {
				r.stop(in, fmt.Sprintf("unhealthy for longer than its %s grace", svc.HealthGrace))
				r.why[svc.ID] = append(r.why[svc.ID], fmt.Sprintf("replace unhealthy instance %s", in.ID))
				continue
			}
			if r.w.retireReason(svc, in) != "" {
				old = append(old, in)
			} else {
				cur = append(cur, in)
			}
		}
	}
	want := svc.Instances
	if svc.KeepOld {
		// Blue/green or canary: the old version runs on beside the new
		// until the switch or the promotion; only the new one is placed.
		if svc.NewInstances > 0 {
			want = svc.NewInstances
		}
		if len(old) > 0 {
			r.plan.Waiting[svc.ID] = fmt.Sprintf("%d instances of the old version run beside %d of the new until the rollout switches, is promoted or is aborted", len(old), len(cur))
		}
		for range want - len(cur) {
			r.why[svc.ID] = append(r.why[svc.ID], fmt.Sprintf("start version %s beside the old one (blue/green or canary)", svc.Version))
		}
	} else if len(old) > 0 {
		r.rollout(svc, old, cur)
		return
	}
	switch missing := want - len(cur); {
	case missing > 0:
		if why := r.blockedBy(svc); why != "" {
			r.plan.Waiting[svc.ID] = why
			return
		}
		r.place(svc, missing)
	case missing < 0:
		// Surplus often means a lost node came back while its replacements
		// were starting: its copies must outlive them until they are
		// healthy, so nothing is stopped while any instance is in flight.
		if svc.KeepOld {
			// A canary made smaller: the youngest new instances go; the
			// old version is not touched.
			slices.SortStableFunc(cur, func(x, y *Instance) int { return y.StartedAt.Compare(x.StartedAt) })
			for _, in := range cur[:-missing] {
				r.stop(in, fmt.Sprintf("canary down to %d instances", want))
			}
			return
		}
		healthy, inFlight := countHealthy(cur), 0
		for _, in := range cur {
			if in.State != StateRunning {
				inFlight++
			}
		}
		if healthy < want || inFlight > 0 {
			r.plan.Waiting[svc.ID] = fmt.Sprintf("%d surplus instances wait until %d are healthy and none is starting (%d healthy, %d starting)",
				-missing, want, healthy, inFlight)
			return
		}
		for _, v := range Victims(r.w, *svc, -missing) {
			r.stop(r.w.instance(v.ID), fmt.Sprintf("scale down to %d instances", want))
		}
	}
}

// rollout replaces old instances (another version, or on a draining node)
// by Step's arithmetic.
func (r *reconciler) rollout(svc *ServiceReq, old, cur []*Instance) {
	if why := r.blockedBy(svc); why != "" {
		r.plan.Waiting[svc.ID] = why
		return
	}
	step := Step(RolloutState{
		Instances: svc.Instances, MinHealthCapacity: svc.MinHealthCapacity, MaxOverCapacity: svc.MaxOverCapacity,
		OldActive: len(old), OldHealthy: countHealthy(old),
		NewActive: len(cur), NewHealthy: countHealthy(cur),
	})
	// Unhealthy old ones first, then by kill selection.
	slices.SortStableFunc(old, func(x, y *Instance) int {
		hx, hy := x.State == StateRunning && x.Healthy, y.State == StateRunning && y.Healthy
		if hx != hy {
			if hy {
				return -1
			}
			return 1
		}
		if svc.KillSelection == OldestFirst {
			return x.StartedAt.Compare(y.StartedAt)
		}
		return y.StartedAt.Compare(x.StartedAt)
	})
	healthy := countHealthy(old) + countHealthy(cur)
	for _, in := range old[:step.StopUnhealthy+step.StopHealthy] {
		why := r.w.retireReason(svc, in)
		if in.State == StateRunning && in.Healthy {
			healthy--
			why = fmt.Sprintf("%s: %d healthy stay, at least %d required", why, healthy, step.MinHealthy)
		}
		r.stop(in, why)
	}
	for range step.Start {
		r.why[svc.ID] = append(r.why[svc.ID], fmt.Sprintf("%s (at most %d instances during the rollout)", r.w.retireReason(svc, old[0]), step.MaxCapacity))
	}
	if step.Start > 0 {
		r.place(svc, step.Start)
	}
}

// blockedBy says which dependency is not yet fully healthy, or "".
func (r *reconciler) blockedBy(svc *ServiceReq) string {
	for _, d := range svc.Dependencies {
		dep, ok := r.byID[d]
		if !ok {
			return fmt.Sprintf("waiting for dependency %s, which is not defined", d)
		}
		healthy := 0
		if a := r.w.services[d]; a != nil {
			for _, in := range a.instances {
				if in.State == StateRunning && in.Healthy && in.Version == dep.Version {
					healthy++
				}
			}
		}
		if healthy < dep.Instances {
			return fmt.Sprintf("waiting for dependency %s: %d of %d instances healthy", d, healthy, dep.Instances)
		}
	}
	return ""
}

// place starts n instances of svc, preempting lower-priority services when
// the cluster is full.
func (r *reconciler) place(svc *ServiceReq, n int) {
	ps, _ := Place(r.w, *svc, n)
	for _, p := range ps {
		r.start(svc, p, "")
	}
	left := n - len(ps)
	for ; left > 0; left-- {
		note, ok := r.preempt(svc)
		if !ok {
			break
		}
		ps, _ = Place(r.w, *svc, 1)
		if len(ps) == 0 {
			break
		}
		r.start(svc, ps[0], note)
	}
	if left > 0 {
		_, e := Place(r.w, *svc, left)
		r.plan.Pending[svc.ID] = fmt.Sprintf("%d of %d instances not placed: %s", left, n, e)
	}
}

func (r *reconciler) start(svc *ServiceReq, p Placement, note string) {
	r.seq++
	p.InstanceID = fmt.Sprintf("%s.%s.%d", strings.ReplaceAll(strings.Trim(svc.ID, "/"), "/", "_"),
		strconv.FormatInt(r.now.UnixNano(), 36), r.seq)
	r.w.Assume(p)
	why := fmt.Sprintf("scale up to %d instances", svc.Instances)
	if q := r.why[svc.ID]; len(q) > 0 {
		why, r.why[svc.ID] = q[0], q[1:]
	}
	if note != "" {
		why += "; " + note
	}
	r.act(Action{Kind: ActionStart, Service: svc.ID, Instance: p.InstanceID, Node: p.Node, Version: p.Version,
		CPUs: p.CPUs, MemMiB: p.MemMiB, HostPorts: p.HostPorts, Reason: why})
}

// preempt frees room for one instance of svc on the node where the fewest
// lower-priority instances must stop, taking only from services above
// their minimum. It stops those instances and returns a note for the start.
func (r *reconciler) preempt(svc *ServiceReq) (string, bool) {
	c := r.w.compile(svc)
	spare := map[string]int{}
	onNode := make([][]*Instance, len(r.w.nodes))
	for _, in := range r.w.all {
		o, ok := r.byID[in.Service]
		ni := r.w.nodeIndex(in.Node)
		if !ok || ni < 0 || !in.State.Active() || o.Priority >= svc.Priority {
			continue
		}
		if _, seen := spare[o.ID]; !seen {
			spare[o.ID] = r.w.services[o.ID].total - o.minInstances()
		}
		onNode[ni] = append(onNode[ni], in)
	}
	bestNode, bestN := -1, 0
	for ni, ins := range onNode {
		if len(ins) == 0 {
			continue
		}
		slices.SortStableFunc(ins, func(x, y *Instance) int {
			return cmp.Compare(r.byID[x.Service].Priority, r.byID[y.Service].Priority)
		})
		used := map[string]int{}
		var freed []*Instance
		for _, in := range ins {
			if r.w.check(c, int32(ni)) == fits {
				break
			}
			if used[in.Service] >= spare[in.Service] {
				continue
			}
			used[in.Service]++
			r.w.release(in)
			freed = append(freed, in)
		}
		ok := r.w.check(c, int32(ni)) == fits
		for _, in := range freed {
			r.w.occupy(in)
		}
		if ok && len(freed) > 0 && (bestNode < 0 || len(freed) < bestN) {
			bestNode, bestN = ni, len(freed)
		}
	}
	if bestNode < 0 {
		return "", false
	}
	var names []string
	used := map[string]int{}
	for _, in := range onNode[bestNode] {
		if r.w.check(c, int32(bestNode)) == fits {
			break
		}
		if used[in.Service] >= spare[in.Service] {
			continue
		}
		used[in.Service]++
		o := r.byID[in.Service]
		r.act(Action{Kind: ActionStop, Service: in.Service, Instance: in.ID, Node: in.Node, Version: in.Version,
			Reason: fmt.Sprintf("preempted to make room for %s (priority %d > %d)", svc.ID, svc.Priority, o.Priority)})
		r.w.Remove(in.ID)
		names = append(names, in.ID)
	}
	return fmt.Sprintf("preempted %s of lower priority", strings.Join(names, ", ")), true
}

func countHealthy(ins []*Instance) int {
	n := 0
	for _, in := range ins {
		if in.State == StateRunning && in.Healthy {
			n++
		}
	}
	return n
}

func (s *Snapshot) instance(id string) *Instance { return s.byID[id] }
