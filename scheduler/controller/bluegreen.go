package controller

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/scheduler"
)

// advanceRollouts moves blue/green rollouts on: once every new instance is
// healthy, all traffic switches to the new version at once; once the soak
// has passed, the rollout ends and the old instances stop (drained by the
// routers first). Canaries move only when a person promotes or aborts.
func (a *applier) advanceRollouts(ctx context.Context) {
	for id, rec := range a.v.Records {
		ro := rec.Rollout
		if ro == nil || ro.Strategy != state.StrategyBlueGreen {
			continue
		}
		healthy := 0
		for _, in := range a.v.Instances {
			if in.Service == id && in.Version == rec.Version && in.State == scheduler.StateRunning && in.Healthy {
				healthy++
			}
		}
		next := rec
		r := *ro
		next.Rollout = &r
		var why string
		switch {
		case ro.Phase == state.PhaseStarting && healthy >= rec.Spec.Instances:
			r.Phase, r.SwitchedAt = state.PhaseSwitched, a.now.UTC()
			next.Traffic = &state.Traffic{Weights: map[string]int{ro.To: 1}}
			why = fmt.Sprintf("blue/green: all %d instances of version %s healthy; traffic switched to them (the old ones stop after a %s soak)", healthy, ro.To, ro.Soak)
		case ro.Phase == state.PhaseSwitched && !a.now.Before(ro.SwitchedAt.Add(ro.Soak.D())):
			next.Rollout, next.Traffic = nil, nil
			why = fmt.Sprintf("blue/green: soak of %s over; the instances of version %s stop", ro.Soak, ro.From)
		default:
			continue
		}
		if err := a.putService(ctx, next); err != nil {
			a.fail(fmt.Errorf("rollout of %s: %w", id, err))
			continue
		}
		a.c.log.Info("rollout", "service", id, "reason", why)
		a.publish(ctx, events.Event{
			ID: fmt.Sprintf("rollout:%s:%s:%d", state.ServiceKey(id), r.Phase, a.now.UnixNano()), Type: events.Deploy,
			Service: id, From: ro.From, To: ro.To, Reason: why,
		})
	}
}

// putService writes a service record with a revision check against the
// one the pass read.
func (a *applier) putService(ctx context.Context, rec state.ServiceRecord) error {
	key := state.ServiceKey(rec.Spec.ID)
	e, ok := a.b.services.get(key)
	if !ok {
		return fmt.Errorf("service %s is gone", rec.Spec.ID)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	return a.b.services.put(wctx, key, b, false, e.rev)
}
