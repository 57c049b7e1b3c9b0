package autoscaler

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkDecide10kServices measures one tick of the core over 10,000
// services, each with 5 ready instances and full windows, its load moving
// so that decisions are made (make bench quotes ns/op as the time per
// tick).
func BenchmarkDecide10kServices(b *testing.B) {
	const services = 10_000
	c, err := NewCore(Options{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	p := DefaultPolicy(10, 1, 100)
	names := make([]string, services)
	insts := make([][]Instance, services)
	for i := range services {
		names[i] = fmt.Sprintf("/bench/svc-%05d", i)
		if err := c.SetPolicy(names[i], p, 5, now); err != nil {
			b.Fatal(err)
		}
		for j := range 5 {
			insts[i] = append(insts[i], Instance{ID: fmt.Sprintf("%s-%d", names[i], j), State: Ready, Since: now})
		}
	}
	feed := func(sec int) {
		for i, name := range names {
			load := 35 + float64((i+sec)%20) // each service's load wanders
			sig := Signal{Service: name, Node: "n1", PeriodMS: 1000, Time: now}
			for _, in := range insts[i] {
				sig.Instances = append(sig.Instances, InstanceSignal{ID: in.ID, InFlight: load / 5})
			}
			c.ObserveSignal(sig, now)
			c.SetInstances(name, insts[i], now)
		}
	}
	for sec := range 61 {
		now = now.Add(time.Second)
		feed(sec)
		c.Tick(now)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		now = now.Add(time.Second)
		feed(61 + i)
		b.StartTimer()
		c.Tick(now)
	}
}
