package runner

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/internal/agent"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/loadgen"
	"github.com/swell-pipeline/swell/scheduler/controller"
	"github.com/swell-pipeline/swell/scheduler/runtime"
	"github.com/swell-pipeline/swell/spec"
)

// loop is the whole autoscaling loop on this host: embedded NATS, the
// leader's scheduler and autoscaler, and three full agents (collector,
// Docker executor, router) on 127.0.0.1, .2 and .3.
type loop struct {
	svc     spec.Service
	port    int
	rt      *runtime.Docker
	nodes   []string
	records func() state.ServiceRecord
	healthy func() int
	scales  func() []events.Event
}

func startLoop(tb testing.TB) *loop {
	tb.Helper()
	cli := testenv.Docker(tb)
	img := testenv.TestImage(tb, cli)
	ns := testenv.NATS(tb)
	nc, js := testenv.Connect(tb, ns.ClientURL())
	ctx := tb.Context()
	if err := bus.EnsureKV(ctx, js, 1); err != nil {
		tb.Fatal(err)
	}
	if err := bus.EnsureStreams(ctx, js, bus.StreamLimits{}); err != nil {
		tb.Fatal(err)
	}
	rt, err := runtime.NewDocker(runtime.DockerOptions{Client: cli, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	runCtx, stop := context.WithCancel(context.Background())
	l := &loop{rt: rt}
	tb.Cleanup(func() {
		stop()
		wg.Wait()
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, n := range l.nodes {
			cs, _ := rt.List(cctx, n)
			for _, c := range cs {
				_ = rt.Remove(cctx, c.ID)
			}
		}
	})
	run := func(name string, f func(context.Context) error) {
		wg.Go(func() {
			if err := f(runCtx); err != nil {
				tb.Errorf("%s: %v", name, err)
			}
		})
	}
	ctl, err := controller.New(controller.Options{JS: js, Registerer: prometheus.NewRegistry(), NodeTimeout: 5 * time.Second, Tick: 200 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	run("scheduler", ctl.Run)
	as, err := New(Options{Conn: nc, JS: js, Events: events.NewPublisher(js, nil)})
	if err != nil {
		tb.Fatal(err)
	}
	run("autoscaler", as.Run)
	suffix := strconv.FormatUint(rand.Uint64()%1e6, 36)
	for i, addr := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		name := fmt.Sprintf("as%d-%s", i+1, suffix)
		l.nodes = append(l.nodes, name)
		ag, err := agent.New(agent.Options{
			NATS: bus.ConnOptions{URL: ns.ClientURL()}, Node: name, Addr: addr, CPUs: 2, MemMiB: 2048,
			Inputs: []string{"mem"}, Interval: time.Second, DataDir: tb.TempDir(), DrainTimeout: 10 * time.Second,
		})
		if err != nil {
			tb.Fatal(err)
		}
		run("agent "+name, ag.Run)
	}

	l.port = freePort(tb)
	s := spec.NewService("/it/autoscaled", img)
	s.PortMappings = []spec.PortMapping{{ContainerPort: 8080, ServicePort: l.port, Protocol: "tcp"}}
	hc := spec.NewHealthCheck()
	hc.Path, hc.GracePeriodSeconds, hc.IntervalSeconds, hc.TimeoutSeconds, hc.MaxConsecutiveFailures = "/healthz", 0, 1, 1, 2
	s.HealthChecks = []spec.HealthCheck{hc}
	s.Labels = map[string]string{testenv.LabelTest: tb.Name()}
	s.Cpus, s.Mem, s.Instances = 0.1, 32, 1
	// The policy's defaults but for shorter windows: target 5 at 70 %
	// plans 3.5 requests per instance, so 30 concurrent want 9.
	s.Autoscale = &spec.Autoscale{Metric: spec.MetricConcurrency, Target: 5, TargetUtilization: 0.7, Min: 1, Max: 10,
		StableWindow: spec.Duration(20 * time.Second), PanicWindow: spec.Duration(4 * time.Second), PanicThreshold: 2, Tolerance: 0.1,
		ScaleUp: spec.ScaleRule{MaxRate: 1000}, ScaleDown: spec.ScaleRule{MaxRate: 2, Stabilization: spec.Duration(10 * time.Second)}}
	l.svc = s
	svcKV, _ := js.KeyValue(ctx, bus.BucketServices)
	instKV, _ := js.KeyValue(ctx, bus.BucketInstances)
	if err := state.PutService(ctx, svcKV, state.ServiceRecord{Spec: s, Version: state.SpecVersion(s), CreatedAt: time.Now()}, 0); err != nil {
		tb.Fatal(err)
	}
	l.records = func() state.ServiceRecord {
		rec, _, err := state.GetService(context.Background(), svcKV, s.ID)
		if err != nil {
			tb.Fatal(err)
		}
		return rec
	}
	l.healthy = func() int {
		ins, err := state.Instances(context.Background(), instKV)
		if err != nil {
			tb.Fatal(err)
		}
		n := 0
		for _, in := range ins {
			if in.Service == s.ID && in.State == state.Running && in.Healthy {
				n++
			}
		}
		return n
	}
	l.scales = func() []events.Event {
		evs, err := events.List(context.Background(), js, events.Filter{Type: events.Scale, Service: s.ID, Limit: 1000})
		if err != nil {
			tb.Fatal(err)
		}
		return evs
	}
	waitLoop(tb, "one healthy instance", 90*time.Second, func() bool { return l.healthy() >= 1 })
	return l
}

func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitLoop(tb testing.TB, what string, within time.Duration, ok func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// step offers 30 concurrent requests of 200 ms each to the servicePort for
// d, in the background; it returns when the load starts and a channel with
// the result.
func (l *loop) step(tb testing.TB, d time.Duration) (time.Time, <-chan loadgen.Result) {
	out := make(chan loadgen.Result, 1)
	start := time.Now()
	go func() {
		res, err := loadgen.Run(context.Background(), loadgen.Options{
			URL: fmt.Sprintf("http://127.0.0.1:%d/?ms=200", l.port), Concurrency: 30, Duration: d,
		})
		if err != nil {
			tb.Errorf("load: %v", err)
		}
		out <- res
	}()
	return start, out
}

// TestIntegrationStepLoadScalesUpOnceAndBackToMin: the demo service behind
// the routers, min 1 and target 5, takes a step to 30 concurrent
// requests: it scales up to 6 healthy instances without changing
// direction while the load holds, answers every request, and goes back
// to its minimum once the load ends and the windows pass. How fast is
// measured by BenchmarkStepToScaleEvent (make bench), not asserted here.
func TestIntegrationStepLoadScalesUpOnceAndBackToMin(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: Docker, three agents (-short)")
	}
	l := startLoop(t)
	stepAt, done := l.step(t, 40*time.Second)
	waitLoop(t, "a scale event after the step", 30*time.Second, func() bool { return len(l.scales()) > 0 })
	first := l.scales()[0]
	t.Logf("first scale event %s after the step: %s", first.Time.Sub(stepAt).Round(time.Millisecond), first.Reason)
	waitLoop(t, "6 healthy instances", 60*time.Second, func() bool { return l.healthy() >= 6 })
	t.Logf("6 healthy instances %s after the step", time.Since(stepAt).Round(time.Millisecond))
	res := <-done
	t.Logf("load: %s", res.Line())
	if res.Errors != 0 || res.Requests == 0 {
		t.Errorf("load %s: want every request answered", res.Line())
	}
	// While the load held, the count only went up.
	for _, e := range l.scales() {
		t.Logf("%s %s→%s %s", e.Time.Sub(stepAt).Round(time.Millisecond), e.From, e.To, e.Reason)
		if e.Time.After(stepAt.Add(40 * time.Second)) {
			break
		}
		from, _ := strconv.Atoi(e.From)
		to, _ := strconv.Atoi(e.To)
		if to < from {
			t.Errorf("scaled down from %d to %d while the load held: %s", from, to, e.Reason)
		}
	}
	waitLoop(t, "back to min after the load", 120*time.Second, func() bool {
		return l.records().Spec.Instances == l.svc.Autoscale.Min && l.healthy() == l.svc.Autoscale.Min
	})
}

// BenchmarkStepToScaleEvent measures, on the same loop, the time from a
// step to 30 concurrent requests to the first scale event and to 6
// healthy instances (DESIGN target: event ≤ 1 s; the bound 2 s,
// 6 healthy ≤ 15 s). Run with -benchtime 1x: one step per loop.
func BenchmarkStepToScaleEvent(b *testing.B) {
	for range b.N {
		l := startLoop(b)
		stepAt, done := l.step(b, 20*time.Second)
		waitLoop(b, "a scale event", 30*time.Second, func() bool { return len(l.scales()) > 0 })
		ev := l.scales()[0].Time.Sub(stepAt)
		waitLoop(b, "6 healthy instances", 60*time.Second, func() bool { return l.healthy() >= 6 })
		six := time.Since(stepAt)
		<-done
		b.ReportMetric(ev.Seconds(), "first_event_s")
		b.ReportMetric(six.Seconds(), "six_healthy_s")
	}
}
