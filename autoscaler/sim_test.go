package autoscaler

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/spec"
)

func loadPolicy(t *testing.T, path string) Policy {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := spec.Load(filepath.Base(path), data)
	if err != nil {
		t.Fatal(err)
	}
	s := docs[0].Service
	p, err := PolicyFromSpec(s.Autoscale, s.Priority)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func loadTrace(t *testing.T, path string) Trace {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := ReadTrace(f, filepath.Base(path))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestShippedTraces holds swell's default algorithm to the bounds
// on every shipped trace, and to doing no worse than the KPA emulation.
func TestShippedTraces(t *testing.T) {
	o := SimOptions{Policy: loadPolicy(t, "testdata/service.yaml")}
	paths, err := filepath.Glob("testdata/traces/*.csv")
	if err != nil || len(paths) < 5 {
		t.Fatalf("want the five shipped traces, got %v (%v)", paths, err)
	}
	for _, path := range paths {
		tr := loadTrace(t, path)
		t.Run(tr.Name, func(t *testing.T) {
			r, err := Simulate(tr, o)
			if err != nil {
				t.Fatal(err)
			}
			k, err := SimulateKPA(tr, o)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("swell: %.0f replica-s (oracle %.0f, %.3f×), %d s under capacity, %d flaps; KPA: %.0f replica-s, %d s, %d flaps",
				r.ReplicaSeconds, r.OracleReplicaSeconds, r.ReplicaSeconds/r.OracleReplicaSeconds, r.SLOViolationSeconds, r.Flaps,
				k.ReplicaSeconds, k.SLOViolationSeconds, k.Flaps)
			if r.ReplicaSeconds > 1.25*r.OracleReplicaSeconds {
				t.Errorf("replica-seconds %.0f > 1.25 × oracle %.0f", r.ReplicaSeconds, r.OracleReplicaSeconds)
			}
			if limit := 0.035 * float64(r.Seconds); float64(r.SLOViolationSeconds) > limit {
				t.Errorf("%d s under capacity > 3.5%% of %d s", r.SLOViolationSeconds, r.Seconds)
			}
			if strings.HasPrefix(tr.Name, "noisy-steady") && r.Flaps != 0 {
				t.Errorf("%d flaps on steady noisy load, want 0", r.Flaps)
			}
			if r.ReplicaSeconds > k.ReplicaSeconds {
				t.Errorf("replica-seconds %.0f > KPA's %.0f", r.ReplicaSeconds, k.ReplicaSeconds)
			}
			if r.SLOViolationSeconds > k.SLOViolationSeconds {
				t.Errorf("under capacity %d s > KPA's %d s", r.SLOViolationSeconds, k.SLOViolationSeconds)
			}
		})
	}
}

// step is 10 for 400 s (warm), then 60.
func step(n int) Trace {
	tr := Trace{Name: "step"}
	for i := range n {
		d := 10.0
		if i >= 20 {
			d = 60
		}
		tr.Demand = append(tr.Demand, d)
	}
	return tr
}

func firstChange(r SimResult) SimPoint {
	for _, p := range r.Series {
		if p.Desired != r.Series[0].Desired {
			return p
		}
	}
	return SimPoint{T: -1}
}

func TestSimulatorTimeline(t *testing.T) {
	o := SimOptions{Policy: DefaultPolicy(10, 1, 100), StartDelay: 3 * time.Second}
	tr := step(120)
	r, err := Simulate(tr, o)
	if err != nil {
		t.Fatal(err)
	}
	// The step begins at second 20; the tick at the end of second 20 sees
	// it, so second 21 starts with 9 ordered and ready 3 s later.
	if p := firstChange(r); p.T != 21 || p.Desired != 9 || p.Ready != 2 {
		t.Fatalf("first change %+v, want second 21: desired 9, ready 2", p)
	}
	if p := r.Series[24]; p.Ready != 9 {
		t.Fatalf("second 24: %+v, want 9 ready", p)
	}
	// Under capacity: seconds 20 to 23 (60 > 2 × 10).
	if r.SLOViolationSeconds != 4 {
		t.Errorf("under capacity %d s, want 4", r.SLOViolationSeconds)
	}
	if r.Flaps != 0 || r.ScaleEvents != 1 {
		t.Errorf("flaps %d, events %d; want 0 and 1", r.Flaps, r.ScaleEvents)
	}
	wantOracle := 20*2 + 100*9
	if r.OracleReplicaSeconds != float64(wantOracle) {
		t.Errorf("oracle %.0f, want %d", r.OracleReplicaSeconds, wantOracle)
	}

	k, err := SimulateKPA(tr, o)
	if err != nil {
		t.Fatal(err)
	}
	// KPA ticks every 2 s on a 6 s panic window: later, and in steps.
	if p := firstChange(k); p.T <= 21 || p.T%2 != 0 {
		t.Errorf("KPA first change %+v, want an even second after 21", p)
	}
	h, err := SimulateHPA(tr, o)
	if err != nil {
		t.Fatal(err)
	}
	// HPA syncs every 15 s and adds at most max(100 %, 4 pods) per sync.
	if p := firstChange(h); p.T%15 != 0 || p.Desired != 6 {
		t.Errorf("HPA first change %+v, want a multiple of 15 s and 2 → 6", p)
	}
}

func TestReadTrace(t *testing.T) {
	tests := []struct {
		name, in, err string
		want          []float64
	}{
		{"valid", "t,concurrency\n0,1.5\n1,2\n", "", []float64{1.5, 2}},
		{"header", "time,load\n0,1\n", `x.csv:1: header "time,load": want t,concurrency`, nil},
		{"gap", "t,concurrency\n0,1\n2,1\n", `x.csv:3: t "2": want 1`, nil},
		{"negative", "t,concurrency\n0,-1\n", `x.csv:2: concurrency "-1": want a number ≥ 0`, nil},
		{"empty", "", "x.csv: empty", nil},
		{"no rows", "t,concurrency\n", "x.csv: no rows", nil},
		{"fields", "t,concurrency\n0,1,2\n", "wrong number of fields", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := ReadTrace(strings.NewReader(tc.in), "x.csv")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.Demand) != len(tc.want) || tr.Demand[0] != tc.want[0] || tr.Demand[1] != tc.want[1] {
				t.Fatalf("%v, want %v", tr.Demand, tc.want)
			}
		})
	}
}

// TestNoFlapsOnSteadyNoisyLoad sweeps steady load levels with the shipped
// traces' noise (per-second router noise and a slow wander): the default
// policy must not flap at any level, and must never be under capacity
// longer than the KPA emulation.
func TestNoFlapsOnSteadyNoisyLoad(t *testing.T) {
	o := SimOptions{Policy: DefaultPolicy(10, 1, 100)}
	kpaFlapped := 0
	runs := 0
	for seed := uint64(1); seed <= 4; seed++ {
		for level := 10.0; level <= 120; level += 7.3 {
			rng := rand.New(rand.NewPCG(seed, 7))
			tr := Trace{Name: fmt.Sprintf("steady %.1f seed %d", level, seed)}
			var wander float64
			for range 600 {
				wander = 0.98*wander + 0.006*rng.NormFloat64()
				l := level * (1 + wander)
				tr.Demand = append(tr.Demand, math.Max(0, l+rng.NormFloat64()*math.Sqrt(l/10)))
			}
			r, err := Simulate(tr, o)
			if err != nil {
				t.Fatal(err)
			}
			k, err := SimulateKPA(tr, o)
			if err != nil {
				t.Fatal(err)
			}
			runs++
			if k.Flaps > 0 {
				kpaFlapped++
			}
			if r.Flaps > 0 {
				t.Errorf("%s: %d flaps", tr.Name, r.Flaps)
			}
			if r.SLOViolationSeconds > k.SLOViolationSeconds {
				t.Errorf("%s: %d s under capacity, KPA %d", tr.Name, r.SLOViolationSeconds, k.SLOViolationSeconds)
			}
		}
	}
	t.Logf("KPA flapped in %d of %d runs", kpaFlapped, runs)
}
