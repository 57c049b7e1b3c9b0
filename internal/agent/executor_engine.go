package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/client"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/scheduler/runtime"
)

// engineRetry is how often the agent asks again for a Docker engine that
// did not answer.
const engineRetry = 10 * time.Second

// runContainers runs the executor once the Docker engine answers. Until
// then it says once that containers cannot run on this node, and keeps
// asking quietly.
func (a *Agent) runContainers(ctx context.Context, js jetstream.JetStream, metrics collector.Output, drain Drainer) {
	o := a.opts
	log := a.log.With("component", "executor")
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if o.DockerHost != "" {
		opts = append(opts, client.WithHost(o.DockerHost))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		log.Warn("containers cannot run on this node: no Docker client (check --docker-host / DOCKER_HOST)", "err", err)
		return
	}
	defer func() { _ = cli.Close() }()
	said := false
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := cli.Ping(pctx)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		if !said {
			log.Warn(fmt.Sprintf("containers cannot run on this node: the Docker engine at %s does not answer; "+
				"placements wait until it does (start dockerd, or set --docker-host); checking every %s", cli.DaemonHost(), a.engineRetry), "err", err)
			said = true
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(a.engineRetry):
		}
	}
	if said {
		log.Info("the Docker engine answers: running placements from now on", "docker", cli.DaemonHost())
	}
	rt, err := runtime.NewDocker(runtime.DockerOptions{Client: cli, Logger: o.Logger})
	if err != nil {
		log.Error("containers cannot run on this node", "err", err)
		return
	}
	ex, err := NewExecutor(ExecutorOptions{
		Node:       o.Node,
		Addr:       o.Addr,
		JS:         js,
		Runtime:    rt,
		Execer:     rt,
		Metrics:    metrics,
		Drain:      drain,
		Logger:     o.Logger,
		Clock:      o.Clock,
		Registerer: o.Registerer,
	})
	if err != nil {
		log.Error("containers cannot run on this node", "err", err)
		return
	}
	_ = ex.Run(ctx)
}
