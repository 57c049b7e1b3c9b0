package agent

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/shirou/gopsutil/v4/mem"

	"github.com/swell-pipeline/swell/collector/inputs/docker"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/state"
)

// HeartbeatInterval is how often the agent refreshes its node record; the
// scheduler declares a node lost after --node-timeout without one.
const HeartbeatInterval = 2 * time.Second

// dockerCheckEvery is how many heartbeats pass between checks of whether
// the Docker engine answers.
const dockerCheckEvery = 15

// nodeRecord is this node's registration, capacity measured once.
func (a *Agent) nodeRecord(ctx context.Context) (state.Node, error) {
	o := a.opts
	n := state.Node{
		Name:      o.Node,
		Addr:      o.Addr,
		Labels:    o.Labels,
		CPUs:      o.CPUs,
		MemMiB:    o.MemMiB,
		Version:   o.Version,
		StartedAt: o.Clock.Now().UTC(),
	}
	if n.CPUs == 0 {
		n.CPUs = float64(runtime.NumCPU())
	}
	if n.MemMiB == 0 {
		vm, err := mem.VirtualMemoryWithContext(ctx)
		if err != nil {
			return state.Node{}, fmt.Errorf("agent: read host memory (give --mem): %w", err)
		}
		n.MemMiB = float64(vm.Total) / (1 << 20)
	}
	return n, nil
}

// register keeps this node's record in swell_nodes fresh until ctx ends.
// NATS being away only delays it: each heartbeat tries again, and the
// failure is logged when it starts and when it ends.
func (a *Agent) register(ctx context.Context, js jetstream.JetStream, n state.Node) {
	dopts := docker.Options{Node: a.opts.Node, DockerHost: a.opts.DockerHost, CgroupRoot: a.opts.CgroupRoot}
	var (
		kv      jetstream.KeyValue
		lastErr string
		beats   int
	)
	beat := func() {
		if beats%dockerCheckEvery == 0 {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			n.Docker = docker.Available(cctx, dopts) == nil
			cancel()
		}
		beats++
		n.Heartbeat = a.opts.Clock.Now().UTC()
		err := a.putNode(ctx, js, &kv, n)
		switch {
		case err != nil && err.Error() != lastErr && ctx.Err() == nil:
			a.log.Warn("cannot register the node; will keep trying", "err", err)
			lastErr = err.Error()
		case err == nil && lastErr != "":
			a.log.Info("node registered again")
			lastErr = ""
		}
	}
	beat()
	t := a.opts.Clock.NewTicker(HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			beat()
		}
	}
}

func (a *Agent) putNode(ctx context.Context, js jetstream.JetStream, kv *jetstream.KeyValue, n state.Node) error {
	pctx, cancel := context.WithTimeout(ctx, HeartbeatInterval)
	defer cancel()
	if *kv == nil {
		b, err := js.KeyValue(pctx, bus.BucketNodes)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			// The agent came up before any server made the buckets.
			if err := bus.EnsureKV(pctx, js, 0); err != nil {
				return err
			}
			b, err = js.KeyValue(pctx, bus.BucketNodes)
		}
		if err != nil {
			return fmt.Errorf("open KV bucket %s: %w", bus.BucketNodes, err)
		}
		*kv = b
	}
	return state.PutNode(pctx, *kv, n)
}
