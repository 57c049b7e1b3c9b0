package main

import (
	"github.com/spf13/cobra"

	"github.com/swell-pipeline/swell/collector/inputs"
	"github.com/swell-pipeline/swell/internal/agent"
	"github.com/swell-pipeline/swell/internal/httpd"
	"github.com/swell-pipeline/swell/internal/memlimit"
)

func inputsBuiltin() map[string]inputs.Spec { return inputs.Builtin() }

func newAgentCmd(g *globals) *cobra.Command {
	var (
		nf      natsFlags
		af      agentFlags
		dataDir string
		httpAdr string
		memLim  = byteSize(12 << 20)
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the node agent: collect host and container metrics and publish them to NATS",
		Long: `The agent runs on every node. It gathers host metrics (cpu, mem, disk,
diskio, net, system, processes) and container metrics read directly from
cgroups, and publishes them as line protocol to NATS (swell.metrics.<node>).
While NATS is unreachable, batches go to a bounded spool on disk and are
replayed in order when it returns.`,
		Example: `  swell agent --nats-url nats://10.0.0.5:4222 --node web-1 --labels rack=r1,zone=a
  SWELL_NATS_CREDS=/etc/swell/agent.creds swell agent --nats-url tls://nats.example:4222`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := af.options()
			if err != nil {
				return err
			}
			o.NATS = nf.o
			o.DataDir = dataDir
			o.Logger = g.logger
			reg := newRegistry()
			o.Registerer = reg
			ag, err := agent.New(o)
			if err != nil {
				return err
			}
			hs, err := httpd.New(httpd.Options{Addr: httpAdr, Gatherer: reg, Logger: g.logger})
			if err != nil {
				return err
			}
			hs.AddCheck("agent", ag.Check)
			return runAll(cmd.Context(), map[string]func(ctxT) error{
				"agent": ag.Run,
				"http":  hs.Run,
				"memory-limit": func(ctx ctxT) error {
					memlimit.Run(ctx, memlimit.Options{Floor: int64(memLim), Logger: g.logger})
					return nil
				},
			})
		},
	}
	fs := cmd.Flags()
	nf.register(fs, "nats://127.0.0.1:4222", "NATS server(s), comma-separated")
	af.register(fs)
	fs.StringVar(&dataDir, "data-dir", "/var/lib/swell", "where the agent keeps its spool")
	fs.StringVar(&httpAdr, "http", "127.0.0.1:7071", "address for /healthz and /metrics")
	fs.Var(&memLim, "memory-limit", "soft memory limit: freed memory goes back to the OS promptly; rises with the live heap, never forces extra GC (0 disables; GOMEMLIMIT wins)")
	return cmd
}
