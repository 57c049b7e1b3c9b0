package controller

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/spec"
)

// startRollout writes what POST /v1/services/{id}/rollout writes.
func (c *cluster) startRollout(next spec.Service, strategy string, weight int, soak time.Duration) state.ServiceRecord {
	c.t.Helper()
	kv := c.kv[bus.BucketServices]
	rec, rev, err := state.GetService(c.t.Context(), kv, next.ID)
	if err != nil {
		c.t.Fatal(err)
	}
	ro := state.Rollout{Strategy: strategy, Phase: state.PhaseStarting, From: rec.Version, To: state.SpecVersion(next), FromSpec: rec.Spec,
		Weight: weight, Soak: spec.Duration(soak), StartedAt: time.Now()}
	traffic := map[string]int{ro.From: 1}
	if strategy == state.StrategyCanary {
		ro.Phase = state.PhaseCanary
		traffic = map[string]int{ro.From: 100 - weight, ro.To: weight}
	}
	out := state.ServiceRecord{Spec: next, Version: ro.To, CreatedAt: rec.CreatedAt, UpdatedAt: time.Now(), Traffic: &state.Traffic{Weights: traffic}, Rollout: &ro}
	if err := state.PutService(c.t.Context(), kv, out, rev); err != nil {
		c.t.Fatal(err)
	}
	return out
}

func (c *cluster) record(id string) state.ServiceRecord {
	c.t.Helper()
	rec, _, err := state.GetService(c.t.Context(), c.kv[bus.BucketServices], id)
	if err != nil {
		c.t.Fatal(err)
	}
	return rec
}

func TestBlueGreenSwitchesTrafficOnceAllNewAreHealthyThenStopsTheOldAfterTheSoak(t *testing.T) {
	c := newCluster(t)
	c.startDelay = 300 * time.Millisecond
	threeNodes(c)
	c.runController()
	v1 := webService(3)
	v1.Constraints = nil
	c.apply(v1)
	c.waitFor("3 healthy v1", 10*time.Second, func() bool { return c.sample(v1.ID).healthy == 3 })
	from := c.record(v1.ID).Version

	v2 := v1
	v2.Image = "web:2"
	rec := c.startRollout(v2, state.StrategyBlueGreen, 0, 2*time.Second)
	// Until the switch, the old three keep running beside the new ones.
	c.waitFor("3 healthy v2 beside 3 v1", 10*time.Second, func() bool {
		s := c.sample(v1.ID)
		return s.byVer[rec.Version] == 3 && s.byVer[from] == 3
	})
	c.waitFor("traffic switched", 10*time.Second, func() bool {
		r := c.record(v1.ID)
		return r.Rollout != nil && r.Rollout.Phase == state.PhaseSwitched && r.Traffic != nil && r.Traffic.Weights[rec.Version] == 1 && len(r.Traffic.Weights) == 1
	})
	switched := time.Now()
	if s := c.sample(v1.ID); s.byVer[from] != 3 {
		t.Errorf("old instances at the switch: %d, want 3 (they stay for the soak)", s.byVer[from])
	}
	c.waitFor("rollout over, only v2", 15*time.Second, func() bool {
		r := c.record(v1.ID)
		s := c.sample(v1.ID)
		return r.Rollout == nil && r.Traffic == nil && s.byVer[from] == 0 && s.byVer[rec.Version] == 3 && s.total == 3
	})
	if d := time.Since(switched); d < 2*time.Second {
		t.Errorf("old instances gone %s after the switch, before the 2s soak", d)
	}
}

func TestCanaryRunsItsShareUntilPromoted(t *testing.T) {
	c := newCluster(t)
	threeNodes(c)
	c.runController()
	v1 := webService(3)
	v1.Constraints = nil
	c.apply(v1)
	c.waitFor("3 healthy v1", 10*time.Second, func() bool { return c.sample(v1.ID).healthy == 3 })
	from := c.record(v1.ID).Version
	v2 := v1
	v2.Image = "web:2"
	rec := c.startRollout(v2, state.StrategyCanary, 10, 0)
	c.waitFor("1 canary beside 3 v1", 10*time.Second, func() bool {
		s := c.sample(v1.ID)
		return s.byVer[rec.Version] == 1 && s.byVer[from] == 3
	})
	// The canary stays as it is: several passes later, nothing moved.
	time.Sleep(time.Second)
	if s := c.sample(v1.ID); s.byVer[rec.Version] != 1 || s.byVer[from] != 3 || c.record(v1.ID).Rollout == nil {
		t.Fatalf("canary moved on its own: %+v", s)
	}
	// Promote: what POST /promote writes.
	r := c.record(v1.ID)
	r.Rollout, r.Traffic = nil, nil
	c.apply(r.Spec) // same spec: the record is rewritten without the rollout
	c.waitFor("3 v2, no v1", 15*time.Second, func() bool {
		s := c.sample(v1.ID)
		return s.byVer[rec.Version] == 3 && s.byVer[from] == 0 && s.total == 3
	})
}

func TestStopCarriesTheServicesCurrentKillGrace(t *testing.T) {
	c := newCluster(t)
	threeNodes(c)
	c.runController()
	s := webService(2)
	five := 5
	s.TaskKillGracePeriodSeconds = &five
	c.apply(s)
	c.waitFor("2 healthy", 10*time.Second, func() bool { return c.sample(s.ID).healthy == 2 })
	// Placements asked to stop are removed soon after: watch them go by.
	w, err := c.kv[bus.BucketPlacements].WatchAll(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Stop() }()
	one := 1
	s.TaskKillGracePeriodSeconds, s.Instances = &one, 0
	c.apply(s)
	stopped := map[string]bool{}
	deadline := time.After(10 * time.Second)
	for len(stopped) < 2 {
		select {
		case e := <-w.Updates():
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			var p state.Placement
			if err := json.Unmarshal(e.Value(), &p); err != nil {
				t.Fatal(err)
			}
			if p.Stop {
				if p.Spec == nil || p.Spec.TaskKillGracePeriodSeconds == nil || *p.Spec.TaskKillGracePeriodSeconds != 1 {
					t.Fatalf("placement %s stopped with grace %v, want the service's current 1s", p.ID, p.Spec.TaskKillGracePeriodSeconds)
				}
				stopped[p.ID] = true
			}
		case <-deadline:
			t.Fatalf("%d of 2 placements seen stopping within 10s", len(stopped))
		}
	}
}
