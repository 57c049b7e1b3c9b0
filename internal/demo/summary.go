package demo

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/swell-pipeline/swell/autoscaler"
	"github.com/swell-pipeline/swell/autoscaler/simplot"
)

// finish writes the plot and the summary (to the terminal and to
// summary.txt).
func (c *cluster) finish(res *Result) error {
	if err := writePlot(res.PlotPath, res.Samples); err != nil {
		return err
	}
	text := Summary(*res, c.t0)
	if err := os.WriteFile(res.SummaryPath, []byte(text), 0o644); err != nil {
		return fmt.Errorf("demo: write %s: %w", res.SummaryPath, err)
	}
	c.p.raw(text)
	return nil
}

// simResult turns the run's samples into the simulator's series, so the
// run is drawn like a simulation: demand (the routers' in flight), ready
// capacity, instances, ready ones, and the oracle's count for the demand.
func simResult(samples []Sample) autoscaler.SimResult {
	r := autoscaler.SimResult{Seconds: len(samples)}
	for _, s := range samples {
		o := planned(s.InFlight)
		r.Series = append(r.Series, autoscaler.SimPoint{
			T: int(s.T.Round(time.Second).Seconds()), Demand: s.InFlight,
			Ready: s.Healthy, Replicas: s.Existing, Desired: s.Desired, Oracle: o,
		})
		r.ReplicaSeconds += float64(s.Existing)
		r.OracleReplicaSeconds += float64(o)
		if s.InFlight > float64(s.Healthy*Target) {
			r.SLOViolationSeconds++
		}
	}
	return r
}

func writePlot(path string, samples []Sample) error {
	var buf bytes.Buffer
	title := fmt.Sprintf("swell demo: %s (target %d in flight per instance)", ServiceID, Target)
	if err := simplot.Write(&buf, title, simResult(samples), Target, 1000, 600); err != nil {
		return fmt.Errorf("demo: plot: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("demo: write plot: %w", err)
	}
	return nil
}

// Summary is the text printed at the end of a run; t0 is when the profile
// started (event times are shown from it).
func Summary(r Result, t0 time.Time) string {
	var b strings.Builder
	row := func(name, format string, args ...any) {
		fmt.Fprintf(&b, "  %-15s "+format+"\n", append([]any{name}, args...)...)
	}
	sub := func(format string, args ...any) {
		fmt.Fprintf(&b, "  %-15s   "+format+"\n", append([]any{""}, args...)...)
	}
	b.WriteString("\nsummary\n")
	phases := make([]Phase, len(r.Phases))
	for i, p := range r.Phases {
		phases[i] = p.Phase
	}
	row("run", "%s, profile %s, settled: %v", r.Elapsed.Round(time.Second), profileLine(phases), r.Settled)
	row("scale events", "%d", len(r.ScaleEvents))
	for _, e := range r.ScaleEvents {
		sub("%4ds  %s → %s  %s", int(e.Time.Sub(t0).Seconds()), e.From, e.To, e.Reason)
	}
	var nodes []string
	for _, n := range slices.Sorted(maps.Keys(r.PeakPerNode)) {
		nodes = append(nodes, fmt.Sprintf("%s %d", n, r.PeakPerNode[n]))
	}
	row("peak replicas", "%d desired, %d healthy (most per node: %s)", r.PeakDesired, r.PeakHealthy, strings.Join(nodes, ", "))
	row("requests", "%d, errors %d", r.Requests, r.Errors)
	for _, p := range r.Phases {
		res := p.Result
		sub("%-6s %4s × %2d  requests %6d errors %d  p50 %.0f ms  p99 %.0f ms", p.Name, p.Duration, p.Concurrency, res.Requests, res.Errors, res.P50Ms, res.P99Ms)
	}
	fired, resolved := 0, 0
	for _, n := range r.Notifications {
		if n.Status == "resolved" {
			resolved++
		} else {
			fired++
		}
	}
	row("alerts", "%s fired %d×, resolved %d× (%d notifications at the webhook sink)", AlertName, fired, resolved, len(r.Notifications))
	for _, n := range r.Notifications {
		sub("%4ds  %-8s %s", int(n.At.Sub(t0).Seconds()), n.Status, n.Summary)
	}
	row("plot", "%s", r.PlotPath)
	row("dashboards", "Grafana provisioning (datasource, dashboards) in %s", r.GrafanaDir)
	if r.LogPath != "" {
		row("log", "%s", r.LogPath)
	}
	row("summary", "%s", r.SummaryPath)
	return b.String()
}
