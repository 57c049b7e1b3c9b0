package main

import (
	"github.com/spf13/cobra"

	"github.com/swell-pipeline/swell/api"
	"github.com/swell-pipeline/swell/internal/server"
)

func newServerCmd(g *globals) *cobra.Command {
	var (
		nf      natsFlags
		sf      serverFlags
		httpAdr string
		token   string
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: ingest into InfluxDB, the scheduler on the elected leader, and the HTTP API",
		Long: `The server reads the metrics stream (SWELL_METRICS) with a durable consumer
that several servers may share, writes the points to InfluxDB, and
acknowledges a batch only after InfluxDB accepted it. Lines that cannot be
written go, with the reason, to swell.deadletter.metrics.

Servers elect a leader through the KV bucket swell_leader (--server-name is
this one's name); the leader runs the scheduler, which places services on the
nodes, replaces instances of nodes silent for --node-timeout, and carries out
rolling upgrades and drains; the autoscaler, which turns the routers'
in-flight counts into instance counts every --autoscale-tick; and the alert
rules applied with 'swell apply' (plus the built-in ones), which read the metrics stream as it arrives and
notify the receivers. A standby takes over within one lease (4.5 s) of the
leader's crash. The API (/v1/…) answers on every server.`,
		Example: `  swell server --nats-url nats://10.0.0.5:4222 --influx-url http://10.0.0.6:8086
  swell server --influx-url https://influx.example --influx-token $TOKEN --influx-org ops --influx-bucket swell`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := sf.options()
			if err != nil {
				return err
			}
			o.NATS = nf.o
			o.Logger = g.logger
			reg := newRegistry()
			o.Registerer = reg
			srv, err := server.New(o)
			if err != nil {
				return err
			}
			if err := api.CheckTokenConfig(httpAdr, token); err != nil {
				return err
			}
			hs, err := api.New(api.Options{Addr: httpAdr, Gatherer: reg, Logger: g.logger, Token: token})
			if err != nil {
				return err
			}
			for name, c := range srv.Checks() {
				hs.AddCheck(name, c)
			}
			api.RegisterRead(hs, srv.Reader(), api.ReadOptions{NodeTimeout: srv.NodeTimeout()})
			api.RegisterServices(hs, api.ServicesOptions{JS: srv.JetStream, NodeTimeout: srv.NodeTimeout()})
			api.RegisterAlerts(hs, api.ServicesOptions{JS: srv.JetStream})
			return runAll(cmd.Context(), map[string]func(ctxT) error{"server": srv.Run, "http": hs.Run})
		},
	}
	fs := cmd.Flags()
	nf.register(fs, "nats://127.0.0.1:4222", "NATS server(s), comma-separated")
	sf.register(fs, true)
	fs.StringVar(&httpAdr, "http", "127.0.0.1:7070", "address for /healthz, /metrics and the API")
	fs.StringVar(&token, "api-token", "", "bearer token the API requires (required when --http is not loopback; prefer SWELL_API_TOKEN)")
	return cmd
}
