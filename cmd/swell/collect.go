package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/collector/inputs"
	"github.com/swell-pipeline/swell/internal/agent"
)

func newCollectCmd(g *globals) *cobra.Command {
	var (
		once       bool
		names      []string
		node       string
		tags       string
		dockerHost string
		cgroupRoot string
		timeout    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "collect --once",
		Short: "Gather metrics once and print them as line protocol (like telegraf --test)",
		Long: `collect gathers every input once and prints the points as line protocol,
sorted, on standard output, like 'telegraf --test'. It exits 0 when the
default inputs ran, even if one of them could not (it says which on
standard error); inputs named with --inputs must all succeed.`,
		Example: `  swell collect --once
  swell collect --once --inputs cpu,mem,docker`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !once {
				return errUsage(cmd, "collect needs --once (continuous collection is 'swell agent')")
			}
			tg, err := collector.ParseTags(tags)
			if err != nil {
				return err
			}
			ins, err := agent.BuildInputs(names, nil, inputs.Env{Node: node, Logger: g.logger, DockerHost: dockerHost, CgroupRoot: cgroupRoot})
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			// The same host and node tags the agent adds.
			if tg == nil {
				tg = map[string]string{}
			}
			for _, k := range []string{"host", "node"} {
				if _, ok := tg[k]; !ok {
					tg[k] = node
				}
			}
			err = collector.GatherOnce(ctx, ins, tg, g.stdout)
			if err != nil && len(names) == 0 {
				// With the default inputs, one that cannot run here (no
				// Docker engine) is worth a warning, not a failure: the
				// rest was printed. Inputs asked for by name must work.
				g.logger.Warn("some inputs failed; their points are missing", "err", err)
				return nil
			}
			return err
		},
	}
	host := hostname()
	fs := cmd.Flags()
	fs.BoolVar(&once, "once", false, "gather once, print, and exit")
	fs.StringSliceVar(&names, "inputs", nil, "inputs to run, comma-separated (default: "+defaultInputs()+")")
	fs.StringVar(&node, "node", host, "node name for the host/node tags")
	fs.StringVar(&tags, "tags", "", "tags added to every point, k=v,k=v")
	fs.StringVar(&dockerHost, "docker-host", "", "Docker Engine endpoint (default: DOCKER_HOST or the local socket)")
	fs.StringVar(&cgroupRoot, "cgroup-root", "/sys/fs/cgroup", "where the cgroup filesystem is mounted")
	fs.DurationVar(&timeout, "timeout", 10*time.Second, "give up on inputs slower than this")
	return cmd
}
