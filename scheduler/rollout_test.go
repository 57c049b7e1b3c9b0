package scheduler

import (
	"fmt"
	"testing"
)

func TestLimits(t *testing.T) {
	tests := []struct {
		name         string
		instances    int
		mhc, moc     float64
		minH, maxCap int
	}{
		{"defaults double the capacity", 4, 1, 1, 4, 8},
		{"minimum health rounds up", 3, 0.5, 0, 2, 3},
		{"maximum capacity rounds down", 3, 0, 0.5, 0, 4},
		{"no float error at 10 × 0.3", 10, 0.3, 0.2, 3, 12},
		{"equal bounds allow one extra", 4, 1, 0, 4, 5},
		{"zero instances", 0, 1, 1, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Limits(tc.instances, tc.mhc, tc.moc)
			if got.MinHealthy != tc.minH || got.MaxCapacity != tc.maxCap {
				t.Errorf("Limits(%d, %v, %v) = %+v, want min %d max %d", tc.instances, tc.mhc, tc.moc, got, tc.minH, tc.maxCap)
			}
		})
	}
}

func TestStep(t *testing.T) {
	tests := []struct {
		name       string
		st         RolloutState
		start      int
		stopUnh    int
		stopHealth int
	}{
		// Marathon's documented cases, 4 healthy old instances.
		{"minimumHealthCapacity 0 kills all old at once", RolloutState{Instances: 4, MinHealthCapacity: 0, MaxOverCapacity: 0, OldActive: 4, OldHealthy: 4}, 4, 0, 4},
		{"minimumHealthCapacity 1 starts all new side by side", RolloutState{Instances: 4, MinHealthCapacity: 1, MaxOverCapacity: 1, OldActive: 4, OldHealthy: 4}, 4, 0, 0},
		{"0.5 and 1 stop half and start all new", RolloutState{Instances: 4, MinHealthCapacity: 0.5, MaxOverCapacity: 1, OldActive: 4, OldHealthy: 4}, 4, 0, 2},
		{"0.5 and 0 stop half and start half", RolloutState{Instances: 4, MinHealthCapacity: 0.5, MaxOverCapacity: 0, OldActive: 4, OldHealthy: 4}, 2, 0, 2},
		{"1 and 0 move one at a time", RolloutState{Instances: 4, MinHealthCapacity: 1, MaxOverCapacity: 0, OldActive: 4, OldHealthy: 4}, 1, 0, 0},
		{"old waits while the new one is unhealthy", RolloutState{Instances: 4, MinHealthCapacity: 1, MaxOverCapacity: 0, OldActive: 4, OldHealthy: 4, NewActive: 1}, 0, 0, 0},
		{"a healthy new one lets one old go and the next start", RolloutState{Instances: 4, MinHealthCapacity: 1, MaxOverCapacity: 0, OldActive: 4, OldHealthy: 4, NewActive: 1, NewHealthy: 1}, 1, 0, 1},
		{"unhealthy old ones stop at once and free their room", RolloutState{Instances: 4, MinHealthCapacity: 1, MaxOverCapacity: 0, OldActive: 4, OldHealthy: 2}, 3, 2, 0},
		{"maximumOverCapacity 0.2 of 10 starts 2", RolloutState{Instances: 10, MinHealthCapacity: 1, MaxOverCapacity: 0.2, OldActive: 10, OldHealthy: 10}, 2, 0, 0},
		{"the last old ones go when all new are healthy", RolloutState{Instances: 4, MinHealthCapacity: 1, MaxOverCapacity: 1, OldActive: 4, OldHealthy: 4, NewActive: 4, NewHealthy: 4}, 0, 0, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Step(tc.st)
			if got.Start != tc.start || got.StopUnhealthy != tc.stopUnh || got.StopHealthy != tc.stopHealth {
				t.Errorf("Step(%+v) = start %d, stop unhealthy %d, stop healthy %d; want %d, %d, %d",
					tc.st, got.Start, got.StopUnhealthy, got.StopHealthy, tc.start, tc.stopUnh, tc.stopHealth)
			}
		})
	}
}

// TestRolloutNeverBreaksItsBounds runs whole rollouts, new instances
// becoming healthy one step after they start, and checks Marathon's two
// bounds after every step.
func TestRolloutNeverBreaksItsBounds(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 7, 10} {
		for _, mhc := range []float64{0, 0.3, 0.5, 0.9, 1} {
			for _, moc := range []float64{0, 0.2, 0.5, 1} {
				t.Run(fmt.Sprintf("%d instances mhc %v moc %v", n, mhc, moc), func(t *testing.T) {
					st := RolloutState{Instances: n, MinHealthCapacity: mhc, MaxOverCapacity: moc, OldActive: n, OldHealthy: n}
					for round := 0; ; round++ {
						if round > 4*n+4 {
							t.Fatalf("no progress after %d rounds: %+v", round, st)
						}
						step := Step(st)
						if step.Done {
							if st.NewHealthy != n {
								t.Fatalf("done with %d healthy new, want %d", st.NewHealthy, n)
							}
							return
						}
						st.OldActive -= step.StopUnhealthy + step.StopHealthy
						st.OldHealthy -= step.StopHealthy
						if h := st.OldHealthy + st.NewHealthy; h < step.MinHealthy {
							t.Fatalf("round %d: %d healthy after stops, minimum %d", round, h, step.MinHealthy)
						}
						st.NewHealthy = st.NewActive // last round's starts pass their checks
						st.NewActive += step.Start
						if total := st.OldActive + st.NewActive; total > step.MaxCapacity {
							t.Fatalf("round %d: %d instances, maximum %d", round, total, step.MaxCapacity)
						}
					}
				})
			}
		}
	}
}
