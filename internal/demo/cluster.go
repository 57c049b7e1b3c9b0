package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/api"
	"github.com/swell-pipeline/swell/internal/agent"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/influxd"
	"github.com/swell-pipeline/swell/internal/server"
	"github.com/swell-pipeline/swell/internal/standalone"
	"github.com/swell-pipeline/swell/scheduler/runtime"
)

// prepared is what the preflight checks found.
type prepared struct {
	docker *runtime.Docker
}

func (p prepared) close() { _ = p.docker.Close() }

// preflight checks, before anything starts, what the demo needs, and says
// what to run when something is missing.
func preflight(ctx context.Context, o Options) (prepared, error) {
	copts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if o.DockerHost != "" {
		copts = append(copts, client.WithHost(o.DockerHost))
	}
	cli, err := client.NewClientWithOpts(copts...)
	if err != nil {
		return prepared{}, fmt.Errorf("demo: Docker client: %w; the demo runs containers, so it needs a Docker engine (set DOCKER_HOST or --docker-host)", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx); err != nil {
		_ = cli.Close()
		return prepared{}, fmt.Errorf("demo: no Docker engine answers at %s: %w; the demo runs containers: start Docker (or point DOCKER_HOST / --docker-host at one) and run make demo again", cli.DaemonHost(), err)
	}
	if _, err := cli.ImageInspect(pctx, o.Image); err != nil {
		_ = cli.Close()
		if cerrdefs.IsNotFound(err) {
			return prepared{}, fmt.Errorf("demo: image %s is not on this Docker engine: build it with `make demo-image` (or run `make demo`, which does)", o.Image)
		}
		return prepared{}, fmt.Errorf("demo: inspect image %s: %w", o.Image, err)
	}
	if o.InfluxdBinary != "" {
		if _, err := exec.LookPath(o.InfluxdBinary); err != nil {
			_ = cli.Close()
			return prepared{}, fmt.Errorf("demo: influxd %s: %w; %s", o.InfluxdBinary, err, influxd.InstallHint)
		}
	} else if _, err := exec.LookPath("./bin/influxd"); err != nil {
		if _, err := exec.LookPath("influxd"); err != nil {
			_ = cli.Close()
			return prepared{}, fmt.Errorf("demo: influxd is neither at ./bin/influxd nor on $PATH; %s", influxd.InstallHint)
		}
	}
	for _, a := range o.Addrs {
		ln, err := net.Listen("tcp", net.JoinHostPort(a, "0"))
		if err != nil {
			_ = cli.Close()
			return prepared{}, fmt.Errorf("demo: cannot listen on %s, the address of a demo node: %w (on macOS: sudo ifconfig lo0 alias %s up)", a, err, a)
		}
		_ = ln.Close()
	}
	rt, err := runtime.NewDocker(runtime.DockerOptions{Client: cli, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		_ = cli.Close()
		return prepared{}, fmt.Errorf("demo: %w", err)
	}
	return prepared{docker: rt}, nil
}

// cluster is what the demo started: swell up (node 1), the other agents,
// the sink, and the connections it watches through.
type cluster struct {
	o      Options
	log    *slog.Logger
	p      *printer
	docker *runtime.Docker

	upDone   chan error
	stopUp   context.CancelFunc
	agents   []*runningAgent
	sink     *sink
	api      *api.Client
	nc       *nats.Conn
	signals  *signals
	stopOnce sync.Once
	stopped  int
	stopErr  error

	httpURL, natsURL, influxURL, grafanaDir string
	servicePort                             int

	t0 time.Time
}

type runningAgent struct {
	node string
	stop context.CancelFunc
	done chan error
}

// agentOptions are node i's agent: the test app's requests are light, so
// each node offers 2 CPUs and 2 GiB whatever the host has, and collects
// every second so swell_concurrency (the alert's input) is fresh.
func (c *cluster) agentOptions(i int) agent.Options {
	inputs := []string{"cpu", "mem", "system"}
	ivs := map[string]time.Duration{"cpu": 5 * time.Second, "mem": 5 * time.Second, "system": 5 * time.Second}
	if i == 0 {
		// One engine serves every node: one docker input is enough.
		inputs = append(inputs, "docker")
		ivs["docker"] = 5 * time.Second
	}
	return agent.Options{
		Node:           c.o.Nodes[i],
		Addr:           c.o.Addrs[i],
		CPUs:           2,
		MemMiB:         2048,
		Interval:       time.Second,
		Inputs:         inputs,
		InputIntervals: ivs,
		DataDir:        filepath.Join(c.o.DataDir, "node-"+fmt.Sprint(i+1)),
		DockerHost:     c.o.DockerHost,
		DrainTimeout:   5 * time.Second,
		Logger:         c.log,
		Registerer:     prometheus.NewRegistry(),
	}
}

// start runs swell up, then the other agents, then the sink, and waits
// until every node is ready.
func (c *cluster) start(ctx context.Context) error {
	if err := c.removeContainers(ctx, "left by an earlier demo run"); err != nil {
		return err
	}
	port, err := freePortOn(c.o.Addrs)
	if err != nil {
		return err
	}
	c.servicePort = port
	if c.sink, err = startSink(c.p); err != nil {
		return err
	}

	up, err := standalone.New(standalone.Options{
		DataDir:       filepath.Join(c.o.DataDir, "up"),
		NATSHost:      "127.0.0.1",
		InfluxdBinary: c.o.InfluxdBinary,
		HTTPAddr:      "127.0.0.1:0",
		Agent:         c.agentOptions(0),
		Server:        server.Options{},
		Logger:        c.log,
		Registry:      prometheus.NewRegistry(),
		Out:           io.Discard, // the demo prints where things are itself
	})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	upCtx, stopUp := context.WithCancel(context.WithoutCancel(ctx))
	c.stopUp = stopUp
	c.upDone = make(chan error, 1)
	go func() { c.upDone <- up.Run(upCtx) }()
	select {
	case <-up.Ready():
	case err := <-c.upDone:
		c.upDone <- err // stop reads it again
		if err == nil {
			err = errors.New("it ended before it was up")
		}
		return fmt.Errorf("demo: swell up: %w", err)
	case <-ctx.Done():
		return fmt.Errorf("demo: waiting for swell up: %w", ctx.Err())
	case <-time.After(90 * time.Second):
		return errors.New("demo: swell up did not come up within 90s; see the log")
	}
	ep := up.Endpoints()
	c.httpURL, c.natsURL, c.influxURL, c.grafanaDir = ep.HTTP, ep.NATS, ep.InfluxDB, ep.GrafanaDir
	if c.api, err = apiClient(c.httpURL); err != nil {
		return err
	}

	for i := 1; i < len(c.o.Nodes); i++ {
		ao := c.agentOptions(i)
		ao.NATS = bus.ConnOptions{URL: c.natsURL, Name: "swell demo agent " + ao.Node}
		ag, err := agent.New(ao)
		if err != nil {
			return fmt.Errorf("demo: agent %s: %w", ao.Node, err)
		}
		actx, stop := context.WithCancel(context.WithoutCancel(ctx))
		ra := &runningAgent{node: ao.Node, stop: stop, done: make(chan error, 1)}
		c.agents = append(c.agents, ra)
		go func() { ra.done <- ag.Run(actx) }()
	}

	if c.nc, err = (bus.ConnOptions{URL: c.natsURL, Name: "swell demo"}).Connect(c.log); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if c.signals, err = watchSignals(c.nc, ServiceID); err != nil {
		return err
	}

	return waitUntil(ctx, 60*time.Second, "all three nodes ready", func() (bool, error) {
		nodes, err := c.api.Nodes(ctx)
		if err != nil {
			return false, nil //nolint:nilerr // the API may not answer yet; the deadline says so
		}
		ready := 0
		for _, n := range nodes {
			for _, want := range c.o.Nodes {
				if n.Name == want && n.Status == api.NodeReady {
					ready++
				}
			}
		}
		return ready == len(c.o.Nodes), nil
	})
}

func (c *cluster) nodesLine() string {
	parts := make([]string, len(c.o.Nodes))
	for i := range c.o.Nodes {
		parts[i] = c.o.Nodes[i] + "@" + c.o.Addrs[i]
	}
	return strings.Join(parts, " ")
}

// stop deletes the demo service so its containers drain and stop, stops the
// agents and swell up (which stops influxd by its PID and the embedded
// NATS), removes what an agent left behind, and closes the sink. It runs
// once; later calls return the first result.
func (c *cluster) stop(ctx context.Context) (int, error) {
	c.stopOnce.Do(func() { c.stopped, c.stopErr = c.doStop(ctx) })
	return c.stopped, c.stopErr
}

func (c *cluster) doStop(ctx context.Context) (int, error) {
	var errs []error
	if c.api != nil {
		c.p.line("stopping: deleting %s, its containers drain and stop", ServiceID)
		if err := c.api.DeleteService(ctx, ServiceID); err != nil && !strings.Contains(err.Error(), "not found") {
			c.log.Warn("demo: delete service", "err", err)
		}
		err := waitUntil(ctx, 45*time.Second, "the demo's instances to stop", func() (bool, error) {
			ins, err := c.api.Instances(ctx)
			if err != nil {
				return false, nil //nolint:nilerr // retried until the deadline
			}
			for _, in := range ins {
				if in.Service == ServiceID {
					return false, nil
				}
			}
			return true, nil
		})
		if err != nil {
			c.log.Warn("demo: instances did not stop; their containers are removed below", "err", err)
		}
	}
	if c.signals != nil {
		c.signals.close()
	}
	if c.nc != nil {
		c.nc.Close()
	}
	for _, a := range c.agents {
		a.stop()
	}
	for _, a := range c.agents {
		select {
		case err := <-a.done:
			if err != nil && !errors.Is(err, context.Canceled) {
				errs = append(errs, fmt.Errorf("agent %s: %w", a.node, err))
			}
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("agent %s did not stop: %w", a.node, ctx.Err()))
		}
	}
	if c.stopUp != nil {
		c.stopUp()
		select {
		case err := <-c.upDone:
			if err != nil && !errors.Is(err, context.Canceled) {
				errs = append(errs, fmt.Errorf("swell up: %w", err))
			}
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("swell up did not stop: %w", ctx.Err()))
		}
	}
	n, err := c.countAndRemove(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	if c.sink != nil {
		c.sink.close()
	}
	msg := fmt.Sprintf("stopped: %d agents, swell up (server, influxd, NATS), the webhook sink", len(c.o.Nodes))
	if n > 0 {
		msg += fmt.Sprintf("; removed %d container(s) an agent left", n)
	}
	c.p.line("%s", msg)
	return n, errors.Join(errs...)
}

// removeContainers removes the demo service's containers on the demo's
// nodes (in the clean-up, and before a start, after a killed run).
func (c *cluster) removeContainers(ctx context.Context, why string) error {
	n, err := c.countAndRemove(ctx)
	if n > 0 {
		c.p.line("removed %d container(s) %s", n, why)
	}
	return err
}

func (c *cluster) countAndRemove(ctx context.Context) (int, error) {
	n := 0
	var errs []error
	for _, node := range c.o.Nodes {
		cs, err := c.docker.List(ctx, node)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, ct := range cs {
			if ct.Service != ServiceID {
				continue
			}
			if err := c.docker.Remove(ctx, ct.ID); err != nil {
				errs = append(errs, err)
				continue
			}
			n++
		}
	}
	return n, errors.Join(errs...)
}

// freePortOn returns a port free on every address, so each node's router
// can serve the service port.
func freePortOn(addrs []string) (int, error) {
	for range 20 {
		ln, err := net.Listen("tcp", net.JoinHostPort(addrs[0], "0"))
		if err != nil {
			return 0, fmt.Errorf("demo: pick a service port: %w", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ok := true
		for _, a := range addrs[1:] {
			l2, err := net.Listen("tcp", net.JoinHostPort(a, fmt.Sprint(port)))
			if err != nil {
				ok = false
				break
			}
			_ = l2.Close()
		}
		_ = ln.Close()
		if ok {
			return port, nil
		}
	}
	return 0, errors.New("demo: no port free on every node address")
}

// waitUntil polls cond every 250 ms until it holds, fails, ctx ends or
// within passes.
func waitUntil(ctx context.Context, within time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(within)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: waited %s for %s", within, what)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: waiting for %s: %w", what, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}
