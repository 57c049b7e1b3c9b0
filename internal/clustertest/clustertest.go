// Package clustertest starts a whole swell cluster on this host for
// integration tests: embedded NATS with swell's streams and buckets, the
// leader's scheduler, and full agents (collector, Docker executor, router)
// on their own loopback addresses, as separate nodes. Tests add what else
// they need (the autoscaler, the API) on the same connection.
package clustertest

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/internal/agent"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/scheduler/controller"
	"github.com/swell-pipeline/swell/scheduler/runtime"
	"github.com/swell-pipeline/swell/spec"
)

// Cluster is a running test cluster.
type Cluster struct {
	URL   string
	NC    *nats.Conn
	JS    jetstream.JetStream
	Image string
	// Nodes are the agents' node names, on 127.0.0.1, .2, .3 …
	Nodes []string

	tb     testing.TB
	ctx    context.Context
	wg     *sync.WaitGroup
	svcKV  jetstream.KeyValue
	instKV jetstream.KeyValue
}

// Start runs NATS, the scheduler and n agents until the test ends, and
// removes the agents' containers afterwards. It needs Docker (the test
// skips loudly without it, or fails under SWELL_REQUIRE_DOCKER=1).
func Start(tb testing.TB, n int) *Cluster {
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
	runCtx, stop := context.WithCancel(context.Background())
	c := &Cluster{URL: ns.ClientURL(), NC: nc, JS: js, Image: img, tb: tb, ctx: runCtx, wg: &sync.WaitGroup{}}
	tb.Cleanup(func() {
		stop()
		c.wg.Wait()
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, name := range c.Nodes {
			cs, _ := rt.List(cctx, name)
			for _, ct := range cs {
				_ = rt.Remove(cctx, ct.ID)
			}
		}
	})
	ctl, err := controller.New(controller.Options{JS: js, Registerer: prometheus.NewRegistry(), NodeTimeout: 5 * time.Second, Tick: 200 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	c.Run("scheduler", ctl.Run)
	suffix := strconv.FormatUint(rand.Uint64()%1e6, 36)
	for i := range n {
		name := fmt.Sprintf("ct%d-%s", i+1, suffix)
		c.Nodes = append(c.Nodes, name)
		ag, err := agent.New(agent.Options{
			NATS: bus.ConnOptions{URL: ns.ClientURL()}, Node: name, Addr: fmt.Sprintf("127.0.0.%d", i+1), CPUs: 2, MemMiB: 2048,
			Inputs: []string{"mem"}, Interval: time.Second, DataDir: tb.TempDir(), DrainTimeout: 10 * time.Second,
		})
		if err != nil {
			tb.Fatal(err)
		}
		c.Run("agent "+name, ag.Run)
	}
	if c.svcKV, err = js.KeyValue(ctx, bus.BucketServices); err != nil {
		tb.Fatal(err)
	}
	if c.instKV, err = js.KeyValue(ctx, bus.BucketInstances); err != nil {
		tb.Fatal(err)
	}
	return c
}

// Run runs a component until the test ends; an error it returns fails
// the test.
func (c *Cluster) Run(name string, run func(context.Context) error) {
	c.wg.Go(func() {
		if err := run(c.ctx); err != nil {
			c.tb.Errorf("%s: %v", name, err)
		}
	})
}

// Service is the test app as a service: servicePort port, health checked
// on /healthz every second, VERSION=version in its environment (the app
// answers /version with it).
func (c *Cluster) Service(id string, port int, version string) spec.Service {
	s := spec.NewService(id, c.Image)
	s.PortMappings = []spec.PortMapping{{ContainerPort: 8080, ServicePort: port, Protocol: "tcp"}}
	hc := spec.NewHealthCheck()
	hc.Path, hc.GracePeriodSeconds, hc.IntervalSeconds, hc.TimeoutSeconds, hc.MaxConsecutiveFailures = "/healthz", 0, 1, 1, 2
	s.HealthChecks = []spec.HealthCheck{hc}
	s.Labels = map[string]string{testenv.LabelTest: c.tb.Name()}
	s.Env = map[string]string{"VERSION": version}
	s.Cpus, s.Mem = 0.1, 32
	return s
}

// Record reads a service's record.
func (c *Cluster) Record(id string) state.ServiceRecord {
	c.tb.Helper()
	rec, _, err := state.GetService(context.Background(), c.svcKV, id)
	if err != nil {
		c.tb.Fatal(err)
	}
	return rec
}

// Put stores a service's record as swell apply would create it.
func (c *Cluster) Put(s spec.Service) {
	c.tb.Helper()
	if err := state.PutService(context.Background(), c.svcKV, state.ServiceRecord{Spec: s, Version: state.SpecVersion(s), CreatedAt: time.Now()}, 0); err != nil {
		c.tb.Fatal(err)
	}
}

// Healthy counts a service's running, healthy instances of version ("" for
// any).
func (c *Cluster) Healthy(id, version string) int {
	c.tb.Helper()
	ins, err := state.Instances(context.Background(), c.instKV)
	if err != nil {
		c.tb.Fatal(err)
	}
	n := 0
	for _, in := range ins {
		if in.Service == id && in.State == state.Running && in.Healthy && (version == "" || in.Version == version) {
			n++
		}
	}
	return n
}

// Wait polls ok until it holds, failing the test after within.
func Wait(tb testing.TB, what string, within time.Duration, ok func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
