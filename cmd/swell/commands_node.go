//go:build swellnode

package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

const rootLong = `swell collects host and container metrics, carries them over NATS into
InfluxDB, and scales and places containers from them.

This is swell's node build: it runs 'swell agent' (collector, container
executor and router) and 'swell collect --once', and leaves the control
plane, the client commands and the tools out, so that every node keeps a
smaller resident set. Build it with 'make build-node'; the full build
('make build') has every command.

Every flag can also be given as an environment variable: SWELL_ followed by
the flag name in upper case with '-' as '_' (--nats-url → SWELL_NATS_URL).
A flag on the command line wins over the environment.`

const buildSuffix = " (node build)"

// fullOnly are the full build's other commands. The node build answers
// them with an error that says where they are, instead of cobra's
// "unknown command".
var fullOnly = []string{
	"up", "server", "get", "import", "bench", "apply", "delete", "scale", "drain",
	"uncordon", "explain", "rollout", "alerts", "dashboards", "load", "simulate", "demo",
}

func buildCommands(*globals) []*cobra.Command {
	cmds := make([]*cobra.Command, 0, len(fullOnly))
	for _, name := range fullOnly {
		cmds = append(cmds, &cobra.Command{
			Use:                name,
			Hidden:             true,
			DisableFlagParsing: true,
			RunE: func(*cobra.Command, []string) error {
				return fmt.Errorf("'swell %s' is not in the node build, which has agent, collect and version; use the full build ('make build')", name)
			},
		})
	}
	return cmds
}
