package controller

import (
	"fmt"
	"math"
	"time"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/scheduler"
	"github.com/swell-pipeline/swell/spec"
)

// Input is everything the control loop reads from KV for one decision.
type Input struct {
	Services   []state.ServiceRecord
	Nodes      []state.Node
	Cordons    map[string]state.Cordon
	Placements []state.Placement
	Instances  []state.Instance
	Now        time.Time
	// NodeTimeout is how long a node may be silent before it is lost.
	NodeTimeout time.Duration
}

// MoveAfterFailures is how many times in a row an instance may fail on
// its node (relaunched there with the service's backoff) before it is
// replaced on another node.
const MoveAfterFailures = 3

// View is the cluster as the scheduler core sees it, derived from an
// Input, with the housekeeping the records call for.
type View struct {
	Services []scheduler.ServiceReq
	// Records are the service records by id, schedulable or not.
	Records   map[string]state.ServiceRecord
	Nodes     []scheduler.Node
	Instances []scheduler.Instance
	// Invalid says, per service id, why its record cannot be scheduled.
	Invalid map[string]string

	// Placements and Reports are the records by instance key.
	Placements map[string]state.Placement
	Reports    map[string]state.Instance
	// Finished are placement keys whose instance has stopped: the
	// placement (and its report) can go.
	Finished []string
	// Exited are live placements whose instance stopped on its own: they
	// are marked Stop so the agent cleans up and a replacement is placed.
	Exited []string
	// Stale are report keys without a placement whose instance is over.
	Stale []string
	// Returned are placement keys of instances reported lost whose node is
	// ready again; they stop once their service is healthy without them.
	Returned []string
}

// Snapshot indexes the view for the scheduler core.
func (v *View) Snapshot() *scheduler.Snapshot {
	return scheduler.NewSnapshot(v.Nodes, v.Instances)
}

// Ready reports whether a node counts as ready: it heartbeat within the
// timeout and its container runtime answers.
func Ready(n state.Node, now time.Time, timeout time.Duration) bool {
	return n.Alive(now, timeout) && n.Docker
}

// Build derives the view. It is pure: the same input gives the same view.
func Build(in Input) *View {
	v := &View{
		Records:    make(map[string]state.ServiceRecord, len(in.Services)),
		Invalid:    map[string]string{},
		Placements: make(map[string]state.Placement, len(in.Placements)),
		Reports:    make(map[string]state.Instance, len(in.Instances)),
	}
	for _, rec := range in.Services {
		v.Records[rec.Spec.ID] = rec
		req, err := Requirement(rec)
		if err != nil {
			v.Invalid[rec.Spec.ID] = err.Error()
			continue
		}
		v.Services = append(v.Services, req)
	}
	ready := map[string]bool{}
	for _, n := range in.Nodes {
		_, cordoned := in.Cordons[n.Name]
		r := Ready(n, in.Now, in.NodeTimeout)
		ready[bus.Token(n.Name)] = r
		v.Nodes = append(v.Nodes, scheduler.Node{
			Name: n.Name, Labels: n.Labels, CPUs: n.CPUs, MemMiB: n.MemMiB,
			Ready: r, Draining: cordoned,
		})
	}
	known := map[string]bool{}
	for _, n := range in.Nodes {
		known[bus.Token(n.Name)] = true
	}
	for _, r := range in.Instances {
		v.Reports[r.Key()] = r
	}
	// avoid lists, per service, the nodes its instances kept failing on.
	avoid := map[string][]string{}
	for _, p := range in.Placements {
		key := p.Key()
		v.Placements[key] = p
		r, reported := v.Reports[key]
		nodeTok := bus.Token(p.Node)
		if p.Stop {
			// A stopped instance is over; so is one lost with its node:
			// should the node come back, its agent removes the container
			// as one nobody placed.
			if !reported || r.State == state.Stopped || r.State == state.Failed || r.State == state.Lost || !known[nodeTok] {
				v.Finished = append(v.Finished, key)
				continue
			}
			v.Instances = append(v.Instances, instance(p, r, reported, scheduler.StateStopping))
			continue
		}
		if _, wanted := v.Records[p.Service]; reported && r.State == state.Lost && (!known[nodeTok] || !wanted) {
			// Its node was deregistered, or its service deleted: nothing
			// is left to wait for.
			v.Finished = append(v.Finished, key)
			continue
		}
		st := scheduler.StatePending
		if reported {
			switch r.State {
			case state.Pending:
			case state.Starting:
				st = scheduler.StateStarting
			case state.Running:
				st = scheduler.StateRunning
			case state.Stopping:
				st = scheduler.StateStopping
			case state.Stopped:
				st = scheduler.StateStopped
				v.Exited = append(v.Exited, key)
			case state.Failed:
				// The agent relaunches a failed placement with Marathon's
				// backoff; replacing it here with a new instance at once
				// would bypass that backoff and turn a missing image into
				// a storm of launches. Once it has failed MoveAfterFailures
				// times in a row on this node, though, it is replaced on
				// another node: the node may be what is wrong.
				st = scheduler.StateStarting
				if r.Restarts >= MoveAfterFailures {
					st = scheduler.StateFailed
					v.Exited = append(v.Exited, key)
					avoid[p.Service] = append(avoid[p.Service], p.Node)
				}
			case state.Lost:
				st = scheduler.StateLost
				if ready[nodeTok] {
					v.Returned = append(v.Returned, key)
				}
			}
		}
		v.Instances = append(v.Instances, instance(p, r, reported, st))
	}
	for key, r := range v.Reports {
		if _, placed := v.Placements[key]; placed {
			continue
		}
		switch r.State {
		case state.Stopped, state.Failed, state.Lost:
			v.Stale = append(v.Stale, key)
		default:
			// A container nobody wants any more still holds its node's
			// memory and ports until its agent removes it.
			v.Instances = append(v.Instances, scheduler.Instance{
				ID: r.ID, Service: r.Service, Node: r.Node, Version: r.Version,
				State: scheduler.StateStopping, HostPorts: r.HostPorts,
			})
		}
	}
	for i := range v.Services {
		v.Services[i].AvoidNodes = avoid[v.Services[i].ID]
	}
	return v
}

func instance(p state.Placement, r state.Instance, reported bool, st scheduler.State) scheduler.Instance {
	in := scheduler.Instance{
		ID: p.ID, Service: p.Service, Node: p.Node, Version: p.Version,
		State: st, StartedAt: p.At,
	}
	if p.Spec != nil {
		in.CPUs, in.MemMiB = p.Spec.Cpus, p.Spec.Mem
		in.HostPorts = fixedPorts(*p.Spec)
		in.DependsOn = p.Spec.Dependencies
	}
	if reported {
		// A service without health checks is healthy while it runs, as
		// in Marathon.
		in.Healthy = st == scheduler.StateRunning && (r.Healthy || (p.Spec != nil && len(p.Spec.HealthChecks) == 0))
		if !r.StartedAt.IsZero() {
			in.StartedAt = r.StartedAt
		}
		if len(r.HostPorts) > 0 {
			in.HostPorts = r.HostPorts
		}
	}
	return in
}

func fixedPorts(s spec.Service) []int {
	var out []int
	for _, pm := range s.PortMappings {
		if pm.HostPort != 0 {
			out = append(out, pm.HostPort)
		}
	}
	return out
}

// never stands for "no deadline" in HealthGrace.
const never = time.Duration(math.MaxInt64)

// Requirement converts a stored service into what the scheduler core
// needs.
func Requirement(rec state.ServiceRecord) (scheduler.ServiceReq, error) {
	s := rec.Spec
	cons, err := s.Placement()
	if err != nil {
		return scheduler.ServiceReq{}, err
	}
	req := scheduler.ServiceReq{
		ID:                s.ID,
		Version:           rec.Version,
		Instances:         s.Instances,
		CPUs:              s.Cpus,
		MemMiB:            s.Mem,
		HostPorts:         fixedPorts(s),
		Constraints:       cons,
		Strategy:          scheduler.Strategy(s.Strategy),
		Priority:          s.Priority,
		KillSelection:     scheduler.KillSelection(s.KillSelection),
		MinHealthCapacity: s.UpgradeStrategy.MinimumHealthCapacity,
		MaxOverCapacity:   s.UpgradeStrategy.MaximumOverCapacity,
		Dependencies:      s.Dependencies,
		HealthGrace:       healthGrace(s),
	}
	if s.Autoscale != nil {
		req.MinInstances = s.Autoscale.Min
	}
	if ro := rec.Rollout; ro != nil {
		req.KeepOld = true
		if ro.Strategy == state.StrategyCanary {
			req.NewInstances = state.CanaryInstances(s.Instances, ro.Weight)
		}
	}
	if req.Version == "" {
		req.Version = state.SpecVersion(s)
	}
	if req.Instances < 0 {
		return scheduler.ServiceReq{}, fmt.Errorf("service %s: instances %d is negative", s.ID, req.Instances)
	}
	return req, nil
}

// healthGrace leaves health kills to the agent: it sees every probe,
// counts maxConsecutiveFailures (Marathon never kills when that is 0) and
// reports the instance failed, and a failed placement is relaunched with
// backoff. Healthy goes false at the first counted failure, so a deadline
// here would kill long-running instances before the agent's count ran out.
func healthGrace(s spec.Service) time.Duration {
	if len(s.HealthChecks) == 0 {
		return 0
	}
	return never
}
