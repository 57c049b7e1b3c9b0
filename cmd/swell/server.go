//go:build !swellnode

package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/swell-pipeline/swell/api"
	"github.com/swell-pipeline/swell/ingest"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/httpd"
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
			if err := httpd.CheckTokenConfig(httpAdr, token); err != nil {
				return err
			}
			hs, err := httpd.New(httpd.Options{Addr: httpAdr, Gatherer: reg, Logger: g.logger, Token: token})
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

// serverFlags are `swell server`'s own flags; `swell up` takes them too.
type serverFlags struct {
	name        string
	nodeTimeout time.Duration
	autoTick    time.Duration
	influx      ingest.InfluxOptions
	workers     int
	maxAge      time.Duration
	maxBytes    byteSize
	replicas    int
}

func (s *serverFlags) register(fs *pflag.FlagSet, withURL bool) {
	if withURL {
		fs.StringVar(&s.influx.URL, "influx-url", "http://127.0.0.1:8086", "InfluxDB to write to (1.8+, 2.x or 3.x)")
	}
	fs.StringVar(&s.influx.Database, "influx-db", "swell", "InfluxDB 1.x database")
	fs.StringVar(&s.influx.Token, "influx-token", "", "InfluxDB token (2.x/3.x), or user:password for 1.x with auth")
	fs.StringVar(&s.influx.Org, "influx-org", "", "InfluxDB 2.x organisation")
	fs.StringVar(&s.influx.Bucket, "influx-bucket", "", "InfluxDB 2.x/3.x bucket (default for 1.x: <influx-db>/autogen)")
	fs.IntVar(&s.workers, "ingest-workers", 2, "parallel ingest writers")
	fs.DurationVar(&s.maxAge, "stream-max-age", 72*time.Hour, "how long unwritten metrics wait in NATS before they are dropped")
	s.maxBytes = 10 << 30
	fs.Var(&s.maxBytes, "stream-max-bytes", "size cap of the metrics stream in NATS (e.g. 10GiB)")
	fs.IntVar(&s.replicas, "stream-replicas", 1, "JetStream replicas for swell's streams (3 in a NATS cluster)")
	fs.DurationVar(&s.nodeTimeout, "node-timeout", 10*time.Second, "a node silent this long is lost and its instances are replaced elsewhere")
	fs.DurationVar(&s.autoTick, "autoscale-tick", time.Second, "how often the autoscaler decides (100ms to 1m)")
	fs.StringVar(&s.name, "server-name", "", "this server's name in the leader election (default: hostname:pid)")
}

func (s *serverFlags) options() (server.Options, error) {
	if s.workers < 1 {
		return server.Options{}, fmt.Errorf("--ingest-workers %d: want at least 1", s.workers)
	}
	if s.replicas < 1 || s.replicas > 5 {
		return server.Options{}, fmt.Errorf("--stream-replicas %d: want 1 to 5", s.replicas)
	}
	return server.Options{
		Influx:        s.influx,
		IngestWorkers: s.workers,
		Limits:        bus.StreamLimits{MaxAge: s.maxAge, MaxBytes: int64(s.maxBytes), Replicas: s.replicas},
		Name:          s.name,
		NodeTimeout:   s.nodeTimeout,
		AutoscaleTick: s.autoTick,
	}, nil
}
