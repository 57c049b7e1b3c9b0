package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/swell-pipeline/swell/internal/testenv"
)

const benchContainers = 50

// countAcc counts points and keeps nothing, so the benchmark measures the
// input and not a test accumulator.
type countAcc struct {
	points atomic.Int64
	cpu    atomic.Int64
	errs   atomic.Int64
}

func (a *countAcc) AddFields(m string, _ map[string]any, tags map[string]string, _ time.Time) {
	a.points.Add(1)
	if m == measCPU && tags["cpu"] == "cpu-total" {
		a.cpu.Add(1)
	}
}

func (a *countAcc) AddError(error) { a.errs.Add(1) }

// BenchmarkGather50 compares one gather of this input with the Docker stats
// API path Telegraf's docker input takes, over 50 running containers:
//
//	go test -bench Gather50 -run '^$' -benchtime=5x ./collector/inputs/docker/
func BenchmarkGather50(b *testing.B) {
	cli := testenv.Docker(b)
	image := testenv.TestImage(b, cli)
	start := time.Now()
	testenv.RunContainers(b, cli, image, benchContainers, testenv.ContainerOptions{
		Args:   []string{"sleep"},
		Labels: map[string]string{LabelService: "/bench/gather50"},
	})
	b.Logf("started %d containers in %v", benchContainers, time.Since(start).Round(time.Millisecond))

	b.Run("cgroups", func(b *testing.B) {
		in, err := New(Options{Node: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		defer in.Close()
		// The first gather also inspects every container; later ones only
		// list. Both are reported.
		acc := &countAcc{}
		coldStart := time.Now()
		if err := in.Gather(b.Context(), acc); err != nil {
			b.Fatal(err)
		}
		cold := time.Since(coldStart)
		if acc.cpu.Load() < benchContainers {
			b.Fatalf("first gather read %d containers, want at least %d", acc.cpu.Load(), benchContainers)
		}

		b.ReportAllocs()
		var last *countAcc
		for b.Loop() {
			last = &countAcc{}
			if err := in.Gather(b.Context(), last); err != nil {
				b.Fatal(err)
			}
		}
		if last.cpu.Load() < benchContainers || last.errs.Load() > 0 {
			b.Fatalf("last gather: %d containers read, %d errors", last.cpu.Load(), last.errs.Load())
		}
		b.ReportMetric(float64(last.cpu.Load()), "containers")
		b.ReportMetric(float64(cold.Microseconds())/1000, "first-gather-ms")
	})

	b.Run("stats_api", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for b.Loop() {
			var err error
			if n, err = gatherViaStatsAPI(b.Context(), cli); err != nil {
				b.Fatal(err)
			}
		}
		if n < benchContainers {
			b.Fatalf("stats API path read %d containers, want at least %d", n, benchContainers)
		}
		b.ReportMetric(float64(n), "containers")
	})
}

// gatherViaStatsAPI does per gather what Telegraf's docker input does: read
// the engine info, list the running containers, then for each container,
// concurrently, fetch one stats sample (stream=false) and decode it, and
// inspect the container for its state.
func gatherViaStatsAPI(ctx context.Context, cli *client.Client) (int, error) {
	if _, err := cli.Info(ctx); err != nil {
		return 0, fmt.Errorf("info: %w", err)
	}
	list, err := cli.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("list: %w", err)
	}
	var (
		wg    sync.WaitGroup
		read  atomic.Int64
		mu    sync.Mutex
		first error
	)
	for _, c := range list {
		wg.Go(func() {
			err := statsOne(ctx, cli, c.ID)
			if err == nil {
				read.Add(1)
				return
			}
			if cerrdefs.IsNotFound(err) {
				return // another test's container went away
			}
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return int(read.Load()), first
}

func statsOne(ctx context.Context, cli *client.Client, id string) error {
	r, err := cli.ContainerStats(ctx, id, false)
	if err != nil {
		return fmt.Errorf("stats %.12s: %w", id, err)
	}
	defer r.Body.Close()
	var v container.StatsResponse
	if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
		return fmt.Errorf("decode stats %.12s: %w", id, err)
	}
	if _, err := cli.ContainerInspect(ctx, id); err != nil {
		return fmt.Errorf("inspect %.12s: %w", id, err)
	}
	return nil
}
