//go:build !swellnode

package main

import (
	"github.com/spf13/cobra"

	"github.com/swell-pipeline/swell/internal/standalone"
)

func newUpCmd(g *globals) *cobra.Command {
	var (
		nf natsFlags
		af agentFlags
		sf serverFlags
		o  standalone.Options
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the whole pipeline on this machine: embedded NATS, managed InfluxDB, server and agent",
		Long: `swell up runs everything in one process: an embedded NATS server with
JetStream stored under --data-dir, an InfluxDB 1.8 child process (from
./bin/influxd, installed by 'make deps'), the server parts (ingest, and on
the elected leader the scheduler, the autoscaler and the alert rules), a local agent, the API, and /healthz and /metrics on --http. It prints where everything is and
runs until Ctrl-C, which stops every part and child cleanly. Restarting on the
same --data-dir loses nothing that was acknowledged.

--nats-url and --influx-url use existing servers instead of starting them.
Every 'swell agent' flag configures the local agent.`,
		Example: `  swell up --data-dir ./data
  swell up --influx-url http://influx.local:8086 --no-agent`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ao, err := af.options()
			if err != nil {
				return err
			}
			so, err := sf.options()
			if err != nil {
				return err
			}
			o.Agent, o.Server, o.NATS = ao, so, nf.o
			o.InfluxURL = sf.influx.URL
			o.Logger = g.logger
			o.Registry = newRegistry()
			o.Out = g.stdout
			up, err := standalone.New(o)
			if err != nil {
				return err
			}
			return up.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.DataDir, "data-dir", "./data", "where NATS, InfluxDB, the spool and Grafana provisioning keep their files")
	fs.StringVar(&o.HTTPAddr, "http", "127.0.0.1:7070", "address for /healthz, /metrics and the API")
	fs.StringVar(&o.APIToken, "api-token", "", "bearer token the API requires (required when --http is not loopback; prefer SWELL_API_TOKEN)")
	fs.StringVar(&o.NATSHost, "nats-host", "127.0.0.1", "embedded NATS listen host")
	fs.IntVar(&o.NATSPort, "nats-port", 4222, "embedded NATS port")
	fs.StringVar(&sf.influx.URL, "influx-url", "", "use this InfluxDB instead of starting influxd")
	fs.IntVar(&o.InfluxPort, "influx-port", 8086, "port of the managed influxd")
	fs.StringVar(&o.InfluxdBinary, "influxd", "", "influxd binary (default ./bin/influxd, then $PATH)")
	fs.BoolVar(&o.NoAgent, "no-agent", false, "run without the local agent")
	nf.register(fs, "", "use this NATS instead of the embedded server")
	af.register(fs)
	sf.register(fs, false)
	return cmd
}
