package scheduler

import "math"

// RolloutLimits are Marathon's bounds for replacing a service's instances.
type RolloutLimits struct {
	// MinHealthy is ceil(instances × minimumHealthCapacity): fewer healthy
	// instances than this are never left running.
	MinHealthy int
	// MaxCapacity is floor(instances × (1 + maximumOverCapacity)), plus one
	// when it equals MinHealthy, since otherwise nothing could move.
	MaxCapacity int
}

// Limits computes the rollout bounds for instances and an upgrade strategy.
func Limits(instances int, minHealthCapacity, maxOverCapacity float64) RolloutLimits {
	// The epsilon keeps 10 × 0.3 = 3.0000000000000004 from rounding to 4.
	const eps = 1e-9
	l := RolloutLimits{
		MinHealthy:  int(math.Ceil(float64(instances)*minHealthCapacity - eps)),
		MaxCapacity: int(math.Floor(float64(instances)*(1+maxOverCapacity) + eps)),
	}
	if l.MinHealthy == l.MaxCapacity {
		l.MaxCapacity++
	}
	return l
}

// RolloutState counts a service's instances in the middle of a rollout.
// Old instances are those to be replaced (an older version, or on a
// draining node); new ones are what they are replaced by.
type RolloutState struct {
	Instances             int
	MinHealthCapacity     float64
	MaxOverCapacity       float64
	OldActive, OldHealthy int
	NewActive, NewHealthy int
}

// RolloutStep is what to do now.
type RolloutStep struct {
	RolloutLimits
	// Start is how many new instances to start.
	Start int
	// StopUnhealthy and StopHealthy are how many old instances to stop;
	// unhealthy ones go first because they add nothing to capacity.
	StopUnhealthy, StopHealthy int
	// Done when no old instance is left and the new ones are all healthy,
	// which is when swell rollout status stops.
	Done bool
}

// Step computes one rolling-upgrade step. Old instances are stopped only
// while the healthy total stays at or above MinHealthy, so new instances
// must pass health checks before the old ones they replace stop; new
// instances start only while the total stays at or below MaxCapacity.
// Call it again whenever health changes.
func Step(st RolloutState) RolloutStep {
	l := Limits(st.Instances, st.MinHealthCapacity, st.MaxOverCapacity)
	out := RolloutStep{RolloutLimits: l}
	oldUnhealthy := max(0, st.OldActive-st.OldHealthy)
	out.StopUnhealthy = oldUnhealthy
	healthy := st.OldHealthy + st.NewHealthy
	out.StopHealthy = min(st.OldHealthy, max(0, healthy-l.MinHealthy))
	remaining := st.OldActive - out.StopUnhealthy - out.StopHealthy
	out.Start = max(0, min(st.Instances-st.NewActive, l.MaxCapacity-remaining-st.NewActive))
	out.Done = st.OldActive == 0 && st.NewHealthy >= st.Instances
	return out
}
