// Command gen writes the simulator's shipped traces. Run it from the
// repository root: go run ./autoscaler/testdata/traces/gen
//
// Each trace is offered concurrency per second. Noise models a real
// router's per-second average of in-flight requests: Poisson arrivals with
// a mean of 100 ms per request, so a second's average of a steady load L
// varies by about sqrt(L/10) (the count of requests seen), plus a slower
// wander of a few percent.
package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

func main() {
	dir := filepath.Join("autoscaler", "testdata", "traces")
	rng := rand.New(rand.NewPCG(5, 2026))
	noisy := func(level float64, wander *float64) float64 {
		*wander = 0.98**wander + 0.006*rng.NormFloat64() // about 3 %, over tens of seconds
		l := level * (1 + *wander)
		return math.Max(0, l+rng.NormFloat64()*math.Sqrt(l/10))
	}
	write := func(name string, n int, level func(t int) float64) {
		var w float64
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			panic(err)
		}
		defer f.Close()
		fmt.Fprintln(f, "t,concurrency")
		for t := range n {
			fmt.Fprintf(f, "%d,%.2f\n", t, noisy(level(t), &w))
		}
	}
	write("step.csv", 900, func(t int) float64 {
		switch {
		case t < 120:
			return 15
		case t < 420:
			return 80
		case t < 600:
			return 160
		case t < 780:
			return 40
		}
		return 15
	})
	type burst struct {
		at, dur int
		to      float64
	}
	bursts := []burst{{100, 90, 120}, {330, 60, 70}, {520, 150, 200}, {800, 45, 90}, {980, 120, 150}}
	write("bursts.csv", 1200, func(t int) float64 {
		for _, b := range bursts {
			if t >= b.at && t < b.at+b.dur {
				return b.to
			}
		}
		return 20
	})
	write("diurnal.csv", 1800, func(t int) float64 {
		return 60 - 50*math.Cos(2*math.Pi*float64(t)/1800)
	})
	write("noisy-steady.csv", 900, func(int) float64 { return 50 })
	write("slow-ramp.csv", 1500, func(t int) float64 {
		switch {
		case t < 100:
			return 10
		case t < 1000:
			return 10 + 140*float64(t-100)/900
		case t < 1200:
			return 150
		}
		return 150 - 140*float64(t-1200)/300
	})
}
