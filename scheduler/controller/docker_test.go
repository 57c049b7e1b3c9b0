package controller

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/internal/agent"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/scheduler/runtime"
	"github.com/swell-pipeline/swell/spec"
)

// TestIntegrationThreeDockerNodes runs the scheduler with three real
// executors (internal/agent) on one Docker engine, each node with its own
// loopback address, through the life of a service: spread, rolling upgrade,
// drain, node loss, delete. (A node's return is covered with fake agents in
// TestReturningNodeCopiesStopOnlyWhileTheServiceStaysHealthy.)
func TestIntegrationThreeDockerNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs containers for about 15s")
	}
	cli := testenv.Docker(t)
	image := testenv.TestImage(t, cli)
	service := "/it/" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	t.Cleanup(func() {
		// Whatever a failure left behind.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), time.Minute)
		defer cancel()
		cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", runtime.LabelService+"="+service))})
		if err != nil {
			t.Logf("list containers: %v", err)
			return
		}
		for _, c := range cs {
			_ = cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
		}
	})

	c := newCluster(t)
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	cancels := map[string]context.CancelFunc{}
	startNode := func(i int) {
		name, addr := fmt.Sprintf("it%d", i), fmt.Sprintf("127.0.0.%d", i+1)
		nctx, cancel := context.WithCancel(ctx)
		cancels[name] = cancel
		// A client each: the Docker client negotiates its API version
		// lazily, which races when goroutines share one.
		rt, err := runtime.NewDocker(runtime.DockerOptions{Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rt.Close() })
		ex, err := agent.NewExecutor(agent.ExecutorOptions{
			Node: name, Addr: addr, JS: c.js, Runtime: rt, Logger: log, Registerer: prometheus.NewRegistry(),
			StopGrace: 2 * time.Second, SettleDelay: time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{}, 2)
		go func() { defer func() { done <- struct{}{} }(); _ = ex.Run(nctx) }()
		go func() {
			defer func() { done <- struct{}{} }()
			for nctx.Err() == nil {
				_ = state.PutNode(nctx, c.kv[bus.BucketNodes], state.Node{Name: name, Addr: addr, CPUs: 2, MemMiB: 2048, Docker: true, Heartbeat: time.Now()})
				select {
				case <-nctx.Done():
				case <-time.After(500 * time.Millisecond):
				}
			}
		}()
		t.Cleanup(func() { cancel(); <-done; <-done })
	}
	for i := 1; i <= 3; i++ {
		startNode(i)
	}
	ctl, err := New(Options{JS: c.js, Registerer: prometheus.NewRegistry(), NodeTimeout: 3 * time.Second, Tick: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cctx, stopCtl := context.WithCancel(ctx)
	ctlDone := make(chan error, 1)
	go func() { ctlDone <- ctl.Run(cctx) }()
	t.Cleanup(func() {
		stopCtl()
		if err := <-ctlDone; err != nil {
			t.Errorf("controller: %v", err)
		}
	})

	s := spec.NewService(service, image)
	s.Instances, s.Cpus, s.Mem = 6, 0.1, 32
	s.PortMappings = []spec.PortMapping{{ContainerPort: 8080, Protocol: "tcp"}}
	hc := spec.NewHealthCheck()
	hc.Path, hc.GracePeriodSeconds, hc.IntervalSeconds, hc.TimeoutSeconds = "/healthz", 5, 1, 1
	s.HealthChecks = []spec.HealthCheck{hc}
	s.UpgradeStrategy = spec.UpgradeStrategy{MinimumHealthCapacity: 0.5, MaximumOverCapacity: 0.2}
	s.Constraints = [][]string{{"hostname", "GROUP_BY"}}
	c.apply(s)
	spread := func(x sample) bool { return x.live["it1"] == 2 && x.live["it2"] == 2 && x.live["it3"] == 2 }
	c.waitFor("6 healthy containers, 2 per node", time.Minute, func() bool {
		x := c.sample(service)
		return x.healthy == 6 && x.total == 6 && spread(x)
	})

	s.Env = map[string]string{"RELEASE": "2"}
	v2 := state.SpecVersion(s)
	c.apply(s)
	c.waitFor("rolling upgrade", time.Minute, func() bool {
		x := c.sample(service)
		if x.total > 7 || x.healthy < 3 {
			t.Errorf("rollout out of bounds (at most 7 placed, at least 3 healthy): %+v", x)
		}
		return x.byVer[v2] == 6 && x.total == 6
	})

	if err := state.PutCordon(ctx, c.kv[bus.BucketNodes], state.Cordon{Node: "it2"}); err != nil {
		t.Fatal(err)
	}
	c.waitFor("it2 drained", time.Minute, func() bool {
		x := c.sample(service)
		return x.live["it2"] == 0 && x.healthy == 6 && x.total == 6
	})
	if _, err := state.DeleteCordon(ctx, c.kv[bus.BucketNodes], "it2"); err != nil {
		t.Fatal(err)
	}

	cancels["it3"]() // the agent dies; its containers keep running
	silent := time.Now()
	c.waitFor("6 healthy on it1 and it2", time.Minute, func() bool {
		x := c.sample(service)
		return x.live["it1"]+x.live["it2"] == 6 && x.healthy >= 6
	})
	if d := time.Since(silent); d > 15*time.Second {
		t.Errorf("replacement took %s after the node went silent, want at most 15s", d)
	} else {
		t.Logf("replaced %s after the node went silent (node timeout 3s)", d.Round(100*time.Millisecond))
	}

	if err := c.kv[bus.BucketServices].Delete(ctx, state.ServiceKey(service)); err != nil {
		t.Fatal(err)
	}
	c.waitFor("every placement gone", time.Minute, func() bool {
		ps, _ := state.Placements(ctx, c.kv[bus.BucketPlacements])
		return len(ps) == 0
	})
	// it3's agent is dead, so its containers stay until the cleanup.
	c.waitFor("every container of the live nodes removed", time.Minute, func() bool {
		for _, node := range []string{"it1", "it2"} {
			cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
				filters.Arg("label", runtime.LabelService+"="+service), filters.Arg("label", runtime.LabelNode+"="+node))})
			if err != nil || len(cs) > 0 {
				return false
			}
		}
		return true
	})
}
