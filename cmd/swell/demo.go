//go:build !swellnode

package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/swell-pipeline/swell/internal/demo"
)

func newDemoCmd(g *globals) *cobra.Command {
	var (
		o       demo.Options
		profile string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show the whole loop on this machine: three nodes, a load profile, autoscaling and an alert",
		Long: `demo starts swell up in --data-dir with three nodes (agents on 127.0.0.1,
127.0.0.2 and 127.0.0.3), applies a demo service with an autoscale policy, an
alert rule and a webhook receiver whose sink runs inside the demo, then sends
load to the service port: quiet, a step up, a burst, quiet again.

While it runs it prints, every second, the load, the requests in flight
against the target, the desired and healthy counts and the instances per
node, and as they happen every scale event with its reason and every alert
notification the sink receives. At the end it prints a summary, writes a PNG
plot of the run (demand, capacity, instances) and stops everything it started.
The parts' logs go to demo.log in --data-dir.

It needs a Docker engine, the demo image (make demo-image) and influxd
(make deps); 'make demo' builds and runs it all.`,
		Example: `  make demo
  swell demo --data-dir /tmp/swell-demo
  swell demo --profile quiet=10s@2,step=30s@15,quiet=30s@2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if profile != "" {
				ps, err := demo.ParseProfile(profile)
				if err != nil {
					return fmt.Errorf("--profile: %w", err)
				}
				o.Profile = ps
			}
			created := false
			if o.DataDir == "" {
				created = true
				dir, err := os.MkdirTemp("", "swell-demo-")
				if err != nil {
					return fmt.Errorf("demo: temporary data dir: %w", err)
				}
				o.DataDir = dir
			}
			o.Out = g.stdout
			d, err := demo.New(o)
			if err != nil {
				return err
			}
			if _, err = d.Run(cmd.Context()); err != nil && created {
				// Only removes the dir when nothing was started in it.
				_ = os.Remove(o.DataDir)
			}
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.DataDir, "data-dir", "", "where the run keeps its data, log, plot and summary (default: a new temporary dir)")
	fs.StringVar(&o.Image, "image", demo.DefaultImage, "the demo app's image (make demo-image builds it)")
	fs.StringVar(&o.InfluxdBinary, "influxd", "", "influxd binary (default ./bin/influxd, then $PATH)")
	fs.StringVar(&o.DockerHost, "docker-host", "", "Docker Engine endpoint (default: DOCKER_HOST or the local socket)")
	fs.StringVar(&profile, "profile", "", "load profile as name=duration@concurrency,… (default quiet=20s@2,step=40s@15,burst=20s@30,quiet=30s@2)")
	fs.StringVar(&o.PlotPath, "plot", "", "PNG plot of the run (default <data-dir>/demo.png)")
	fs.DurationVar(&o.Settle, "settle", 2*time.Minute, "longest wait after the load for the service to be back at its minimum")
	return cmd
}
