package memlimit

import (
	"context"
	"runtime/debug"
	"testing"
	"time"
)

func TestLimitFollowsLiveHeapAboveTheFloor(t *testing.T) {
	tests := []struct {
		name        string
		floor, live int64
		want        int64
	}{
		{"small heap keeps the floor", 12 << 20, 3 << 20, 12 << 20},
		{"heap at a third of the floor keeps the floor", 12 << 20, 4 << 20, 12 << 20},
		{"large heap lifts the limit to three times the heap", 12 << 20, 40 << 20, 120 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Limit(tc.floor, tc.live); got != tc.want {
				t.Errorf("Limit(%d, %d) = %d, want %d", tc.floor, tc.live, got, tc.want)
			}
		})
	}
}

func TestRunSetsAndRestoresTheRuntimeLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetMemoryLimit(-1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		Run(ctx, Options{Floor: 1 << 40, Every: 10 * time.Millisecond})
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for debug.SetMemoryLimit(-1) != 1<<40 {
		if time.Now().After(deadline) {
			t.Fatal("limit not set")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit after Run = %d, want the previous %d", got, before)
	}
}

func TestRunLeavesAnOperatorsGOMEMLIMITAlone(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "100MiB")
	before := debug.SetMemoryLimit(-1)
	Run(t.Context(), Options{Floor: 1 << 20})
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit changed to %d", got)
	}
}
