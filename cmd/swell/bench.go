//go:build !swellnode

package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/swell-pipeline/swell/scheduler"
)

func newBenchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure swell's deciding cores on synthetic input",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newBenchSchedulerCmd(g))
	return cmd
}

func newBenchSchedulerCmd(g *globals) *cobra.Command {
	var (
		nodes      []int
		placements int
		batch      int
		seed       uint64
	)
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Time placement decisions on a synthetic cluster",
		Long: `bench scheduler builds a synthetic cluster (nodes in racks of 40 across
three zones, labelled rack, zone, disk and type) and sixty services with
constraints (GROUP_BY, UNIQUE, IS, LIKE, UNLIKE, MAX_PER, CLUSTER; spread and
binpack), then places instances one Place call at a time (1 to --batch
instances per call), committing each result. A decision is one Place call.
It prints a table and, last, the figures for the last --nodes value.`,
		Example: `  swell bench scheduler --nodes 5000 --placements 20000
  swell bench scheduler --nodes 1000,5000,10000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if placements <= 0 {
				return errUsage(cmd, "--placements must be at least 1")
			}
			for _, n := range nodes {
				if n <= 0 {
					return errUsage(cmd, "--nodes values must be at least 1")
				}
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "nodes\tplacements\tunplaced\tdecisions\tplacements/s\tp50 µs\tp99 µs\tmax µs\t")
			var last scheduler.BenchResult
			for _, n := range nodes {
				last = scheduler.Bench(scheduler.BenchOptions{Nodes: n, Placements: placements, MaxBatch: batch, Seed: seed})
				fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%.0f\t%d\t%d\t%d\t\n", last.Nodes, last.Placed, last.Unplaced, last.Decisions,
					last.PlacementsPerSec, last.P50.Microseconds(), last.P99.Microseconds(), last.Max.Microseconds())
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			_, err := fmt.Fprintf(g.stdout, "result: placements_per_sec=%.0f p99_decision_us=%d\n", last.PlacementsPerSec, last.P99.Microseconds())
			return err
		},
	}
	f := cmd.Flags()
	f.IntSliceVar(&nodes, "nodes", []int{5000}, "cluster sizes to measure, comma separated")
	f.IntVar(&placements, "placements", 10000, "instances to place per cluster size")
	f.IntVar(&batch, "batch", 8, "most instances one Place call asks for")
	f.Uint64Var(&seed, "seed", 1, "seed of the synthetic cluster and call sequence")
	return cmd
}
