package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/scheduler"
)

// opTimeout bounds one KV write or event publish, so a slow NATS delays a
// pass instead of hanging it.
const opTimeout = 5 * time.Second

// applier carries one pass's decisions into KV. Each write is checked
// against the revision the pass read, so a record changed meanwhile is
// left for the next pass instead of being overwritten.
type applier struct {
	c    *Controller
	b    *buckets
	v    *View
	now  time.Time
	errs []error
}

func (a *applier) fail(err error) { a.errs = append(a.errs, err) }

func (a *applier) publish(ctx context.Context, e events.Event) {
	pctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	e.Time = a.now
	if _, err := a.c.pub.Publish(pctx, e); err != nil {
		a.c.log.Warn("event not published", "type", e.Type, "service", e.Service, "node", e.Node, "err", err)
	}
}

// nodeStatus tells once when a node turns lost or ready again. The status
// last told is kept in swell_nodes, so a new leader does not repeat it.
func (a *applier) nodeStatus(ctx context.Context, nodes []state.Node) {
	for _, n := range nodes {
		status := "lost"
		if Ready(n, a.now, a.c.o.NodeTimeout) {
			status = "ready"
		}
		var prev state.NodeStatus
		e, ok := a.b.nodes.get(state.StatusKey(n.Name))
		if ok {
			_ = json.Unmarshal(e.val, &prev)
		}
		if prev.Status == status {
			continue
		}
		b, _ := json.Marshal(state.NodeStatus{Node: n.Name, Status: status, Since: a.now})
		wctx, cancel := context.WithTimeout(ctx, opTimeout)
		err := a.b.nodes.put(wctx, state.StatusKey(n.Name), b, false, 0)
		cancel()
		if err != nil {
			a.fail(fmt.Errorf("node %s status: %w", n.Name, err))
			continue
		}
		var why string
		switch {
		case status == "lost" && !n.Alive(a.now, a.c.o.NodeTimeout):
			why = fmt.Sprintf("no heartbeat for %s (node timeout %s); its instances are replaced elsewhere",
				a.now.Sub(n.Heartbeat).Round(time.Second), a.c.o.NodeTimeout)
		case status == "lost":
			why = "its container runtime does not answer; its instances are replaced elsewhere"
		case prev.Status == "":
			why = "node registered"
		default:
			why = "heartbeat is back"
		}
		a.c.log.Info("node status", "node", n.Name, "from", prev.Status, "to", status, "reason", why)
		a.publish(ctx, events.Event{
			ID: fmt.Sprintf("node:%s:%s:%d", state.StatusKey(n.Name), status, a.now.UnixNano()), Type: events.Node,
			Node: n.Name, From: prev.Status, To: status, Reason: why,
		})
	}
}

// housekeeping removes what is over: placements whose instance stopped,
// reports nobody placed, and it marks exited instances for cleanup.
func (a *applier) housekeeping(ctx context.Context) {
	for _, key := range a.v.Finished {
		wctx, cancel := context.WithTimeout(ctx, opTimeout)
		err := a.b.placements.delete(wctx, key)
		if err == nil {
			if _, ok := a.v.Reports[key]; ok {
				err = a.b.instances.delete(wctx, key)
			}
		}
		cancel()
		if err != nil {
			a.fail(err)
			continue
		}
		a.c.actions.WithLabelValues("delete").Inc()
	}
	for _, key := range a.v.Stale {
		wctx, cancel := context.WithTimeout(ctx, opTimeout)
		if err := a.b.instances.delete(wctx, key); err != nil {
			a.fail(err)
		}
		cancel()
	}
	for _, key := range a.v.Exited {
		r := a.v.Reports[key]
		why := "the instance stopped on its own"
		if r.Reason != "" {
			why += ": " + r.Reason
		}
		if a.stop(ctx, key, why) {
			p := a.v.Placements[key]
			a.publish(ctx, events.Event{
				ID: "exited:" + key, Type: events.Instance, Service: p.Service, Node: p.Node,
				From: string(state.Running), To: string(state.Stopped), Reason: fmt.Sprintf("instance %s: %s; it is replaced", p.ID, why),
			})
		}
	}
}

// stop marks a placement Stop; it reports whether it did.
func (a *applier) stop(ctx context.Context, key, why string) bool {
	e, ok := a.b.placements.get(key)
	if !ok {
		return false
	}
	var p state.Placement
	if err := json.Unmarshal(e.val, &p); err != nil {
		a.fail(fmt.Errorf("placement %s: %w", key, err))
		return false
	}
	if p.Stop {
		return false
	}
	p.Stop, p.Reason, p.At = true, why, a.now
	if rec, ok := a.v.Records[p.Service]; ok && p.Spec != nil {
		// The stop grace is read when the instance stops: the service's
		// current one, not the one it was placed with.
		sp := *p.Spec
		sp.TaskKillGracePeriodSeconds = rec.Spec.TaskKillGracePeriodSeconds
		p.Spec = &sp
	}
	b, err := json.Marshal(p)
	if err != nil {
		a.fail(fmt.Errorf("encode placement %s: %w", key, err))
		return false
	}
	wctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if err := a.b.placements.put(wctx, key, b, false, e.rev); err != nil {
		a.fail(err)
		return false
	}
	a.c.actions.WithLabelValues("stop").Inc()
	return true
}

func (a *applier) action(ctx context.Context, act scheduler.Action) {
	key := state.InstanceKey(act.Node, act.Instance)
	switch act.Kind {
	case scheduler.ActionStart:
		rec, ok := a.v.Records[act.Service]
		if !ok {
			return
		}
		sp := rec.Spec
		p := state.Placement{
			ID: bus.Token(act.Instance), Service: act.Service, Node: act.Node, Version: act.Version,
			Reason: act.Reason, At: a.now, Spec: &sp,
		}
		b, err := json.Marshal(p)
		if err != nil {
			a.fail(fmt.Errorf("encode placement %s: %w", key, err))
			return
		}
		wctx, cancel := context.WithTimeout(ctx, opTimeout)
		err = a.b.placements.put(wctx, p.Key(), b, true, 0)
		cancel()
		if err != nil {
			a.fail(err)
			return
		}
		a.c.actions.WithLabelValues("start").Inc()
		a.c.log.Info("start", "service", act.Service, "instance", p.ID, "node", act.Node, "version", act.Version, "reason", act.Reason)
		a.publish(ctx, events.Event{
			ID: "start:" + p.Key(), Type: events.Deploy, Service: act.Service, Node: act.Node,
			To: string(state.Pending), Reason: fmt.Sprintf("start instance %s (version %s): %s", p.ID, act.Version, act.Reason),
		})
	case scheduler.ActionStop:
		from := "pending"
		if r, ok := a.v.Reports[key]; ok {
			from = string(r.State)
		}
		if !a.stop(ctx, key, act.Reason) {
			return
		}
		a.c.log.Info("stop", "service", act.Service, "instance", act.Instance, "node", act.Node, "reason", act.Reason)
		a.publish(ctx, events.Event{
			ID: "stop:" + key, Type: events.Deploy, Service: act.Service, Node: act.Node,
			From: from, To: string(state.Stopping), Reason: fmt.Sprintf("stop instance %s: %s", act.Instance, act.Reason),
		})
	case scheduler.ActionLost:
		a.lost(ctx, key, act)
	}
}

// lost marks an instance's report lost, so the next pass does not tell it
// again; a placement nothing was reported for is simply withdrawn.
func (a *applier) lost(ctx context.Context, key string, act scheduler.Action) {
	wctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	e, ok := a.b.instances.get(key)
	if !ok {
		if err := a.b.placements.delete(wctx, key); err != nil {
			a.fail(err)
		}
		return
	}
	var r state.Instance
	if err := json.Unmarshal(e.val, &r); err != nil {
		a.fail(fmt.Errorf("instance %s: %w", key, err))
		return
	}
	from := r.State
	r.State, r.Healthy, r.Reason, r.UpdatedAt = state.Lost, false, act.Reason, a.now
	b, err := json.Marshal(r)
	if err != nil {
		a.fail(fmt.Errorf("encode instance %s: %w", key, err))
		return
	}
	if err := a.b.instances.put(wctx, key, b, false, e.rev); err != nil {
		a.fail(err)
		return
	}
	a.c.actions.WithLabelValues("lost").Inc()
	a.c.log.Warn("instance lost", "service", act.Service, "instance", act.Instance, "node", act.Node, "reason", act.Reason)
	a.publish(ctx, events.Event{
		ID: fmt.Sprintf("lost:%s:%d", key, e.rev), Type: events.Instance, Service: act.Service, Node: act.Node,
		From: string(from), To: string(state.Lost), Reason: fmt.Sprintf("instance %s: %s", act.Instance, act.Reason),
	})
}

// returned stops the copies on a node that came back once their service
// is fully healthy without them; until then they are left alone, since
// they may be all that still serves.
func (a *applier) returned(ctx context.Context) {
	healthy := map[string]int{}
	for _, in := range a.v.Instances {
		rec, ok := a.v.Records[in.Service]
		if ok && in.State == scheduler.StateRunning && in.Healthy && in.Version == rec.Version {
			healthy[in.Service]++
		}
	}
	for _, key := range a.v.Returned {
		p := a.v.Placements[key]
		rec, ok := a.v.Records[p.Service]
		why := fmt.Sprintf("node %s is back, and %s has %d healthy instances without this one", p.Node, p.Service, healthy[p.Service])
		switch {
		case !ok:
			why = fmt.Sprintf("node %s is back, and service %s was deleted", p.Node, p.Service)
		case healthy[p.Service] < rec.Spec.Instances:
			continue
		}
		if a.stop(ctx, key, why) {
			a.publish(ctx, events.Event{
				ID: "stop:" + key, Type: events.Deploy, Service: p.Service, Node: p.Node,
				From: string(state.Lost), To: string(state.Stopping), Reason: fmt.Sprintf("stop instance %s: %s", p.ID, why),
			})
		}
	}
}
