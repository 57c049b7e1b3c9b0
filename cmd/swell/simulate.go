//go:build !swellnode

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/swell-pipeline/swell/autoscaler"
	"github.com/swell-pipeline/swell/autoscaler/simplot"
	"github.com/swell-pipeline/swell/spec"
)

// simulateReport is the -o json answer: swell's figures at the top level,
// the anchors' emulations under baselines.
type simulateReport struct {
	Service    string  `json:"service"`
	Trace      string  `json:"trace"`
	StartDelay string  `json:"start_delay"`
	Tick       string  `json:"tick"`
	Target     float64 `json:"target"`
	autoscaler.SimResult
	Baselines map[string]autoscaler.SimResult `json:"baselines"`
}

func newSimulateCmd(g *globals) *cobra.Command {
	var (
		serviceFile, traceFile, id, output, plotFile string
		startDelay, tick                             time.Duration
	)
	cmd := &cobra.Command{
		Use:   "simulate --service FILE --trace CSV",
		Short: "Replay a demand trace through the autoscaler and compare it with KPA and HPA",
		Long: `simulate replays a demand trace through swell's autoscaler decision core,
with instances that take --start-delay to become ready, and reports:

  replica_seconds         instances that existed (starting or ready), summed per second
  oracle_replica_seconds  ceil(demand / (target × targetUtilization)) per second,
                          clamped to min and max: perfect foresight, instant start
  slo_violation_seconds   seconds in which demand exceeded ready instances × target
  flaps                   direction changes of the desired count

The same trace goes through emulations of Knative's KPA and the Kubernetes
HPA with their default algorithms (baselines). The trace is a CSV with the
header t,concurrency and one row per second: the concurrent requests offered
in that second. The service file is swell YAML; its autoscale block is the
policy (with --id when the file holds several services).`,
		Example: `  swell simulate --service web.yaml --trace autoscaler/testdata/traces/bursts.csv
  swell simulate --service web.yaml --trace load.csv --start-delay 10s -o json
  swell simulate --service web.yaml --trace load.csv --plot load.png`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if serviceFile == "" || traceFile == "" {
				return errUsage(cmd, "simulate needs --service FILE and --trace CSV")
			}
			if output != "table" && output != "json" {
				return fmt.Errorf("-o %q: want table or json", output)
			}
			svc, err := simulateService(serviceFile, id)
			if err != nil {
				return err
			}
			policy, err := autoscaler.PolicyFromSpec(svc.Autoscale, svc.Priority)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", serviceFile, svc.ID, err)
			}
			f, err := os.Open(traceFile)
			if err != nil {
				return fmt.Errorf("simulate: %w", err)
			}
			tr, err := autoscaler.ReadTrace(f, traceFile)
			f.Close()
			if err != nil {
				return err
			}
			o := autoscaler.SimOptions{Policy: policy, StartDelay: startDelay, Tick: tick}
			rep := simulateReport{
				Service: svc.ID, Trace: filepath.Base(traceFile), StartDelay: startDelay.String(), Tick: tick.String(),
				Target: policy.Metrics[0].Target, Baselines: map[string]autoscaler.SimResult{},
			}
			if rep.SimResult, err = autoscaler.Simulate(tr, o); err != nil {
				return err
			}
			for name, sim := range map[string]func(autoscaler.Trace, autoscaler.SimOptions) (autoscaler.SimResult, error){
				"kpa": autoscaler.SimulateKPA, "hpa": autoscaler.SimulateHPA,
			} {
				r, err := sim(tr, o)
				if err != nil {
					return err
				}
				rep.Baselines[name] = r
			}
			if plotFile != "" {
				var buf bytes.Buffer
				title := fmt.Sprintf("%s on %s (start %s)", svc.ID, rep.Trace, startDelay)
				if err := simplot.Write(&buf, title, rep.SimResult, rep.Target, 1200, 800); err != nil {
					return err
				}
				if err := os.WriteFile(plotFile, buf.Bytes(), 0o644); err != nil {
					return fmt.Errorf("simulate: --plot: %w", err)
				}
			}
			if output == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return simulateTable(g.stdout, rep)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&serviceFile, "service", "", "service YAML file whose autoscale block is the policy")
	fs.StringVar(&id, "id", "", "the service to use when the file holds several")
	fs.StringVar(&traceFile, "trace", "", "demand trace CSV (header t,concurrency; one row per second)")
	fs.DurationVar(&startDelay, "start-delay", 2*time.Second, "how long a new instance takes to become ready")
	fs.DurationVar(&tick, "tick", time.Second, "the autoscaler's tick (a multiple of 250ms)")
	fs.StringVarP(&output, "output", "o", "table", "output format: table or json")
	fs.StringVar(&plotFile, "plot", "", "also write a PNG of demand, capacity and instances to this file")
	return cmd
}

// simulateService returns the autoscaled service of the file (the one
// named by id when there are several).
func simulateService(file, id string) (*spec.Service, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	docs, err := spec.Load(file, data)
	if err != nil {
		return nil, err
	}
	var found []*spec.Service
	for _, d := range docs {
		if s := d.Service; s != nil && s.Autoscale != nil && (id == "" || s.ID == id) {
			found = append(found, s)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0 && id != "":
		return nil, fmt.Errorf("%s: no service %s with an autoscale block", file, id)
	case len(found) == 0:
		return nil, fmt.Errorf("%s: no service with an autoscale block", file)
	default:
		return nil, fmt.Errorf("%s: %d services with an autoscale block: choose one with --id", file, len(found))
	}
}

func simulateTable(w io.Writer, rep simulateReport) error {
	fmt.Fprintf(w, "%s on %s: %d s, start delay %s, tick %s\n\n", rep.Service, rep.Trace, rep.Seconds, rep.StartDelay, rep.Tick)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ALGORITHM\tREPLICA-SECONDS\tVS ORACLE\tUNDER CAPACITY\tFLAPS\tSCALE EVENTS")
	row := func(name string, r autoscaler.SimResult) {
		ratio := "-"
		if rep.OracleReplicaSeconds > 0 {
			ratio = fmt.Sprintf("%.3f×", r.ReplicaSeconds/rep.OracleReplicaSeconds)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%d s (%.1f%%)\t%d\t%d\n", name, r.ReplicaSeconds, ratio,
			r.SLOViolationSeconds, 100*float64(r.SLOViolationSeconds)/float64(max(r.Seconds, 1)), r.Flaps, r.ScaleEvents)
	}
	row("swell", rep.SimResult)
	row("kpa", rep.Baselines["kpa"])
	row("hpa", rep.Baselines["hpa"])
	fmt.Fprintf(tw, "oracle\t%.0f\t1.000×\t-\t-\t-\n", rep.OracleReplicaSeconds)
	return tw.Flush()
}
