//go:build !swellnode

package main

import "github.com/spf13/cobra"

const rootLong = `swell collects host and container metrics, carries them over NATS into
InfluxDB, and scales and places containers from them.

Start everything on one machine with 'swell up'; split it across hosts with
'swell server' (control plane) and 'swell agent' (every node). Nodes can run
the node build ('make build-node'): the agent alone, in less memory.

Every flag can also be given as an environment variable: SWELL_ followed by
the flag name in upper case with '-' as '_' (--nats-url → SWELL_NATS_URL).
A flag on the command line wins over the environment.`

// buildSuffix follows the version; the full build has none.
const buildSuffix = ""

// buildCommands are the commands beyond agent, collect and version: the
// control plane, the client commands and the tools. The node build
// (-tags swellnode) leaves them out; see commands_node.go.
func buildCommands(g *globals) []*cobra.Command {
	return []*cobra.Command{
		newUpCmd(g),
		newServerCmd(g),
		newGetCmd(g),
		newImportCmd(g),
		newBenchCmd(g),
		newApplyCmd(g),
		newDeleteCmd(g),
		newScaleCmd(g),
		newDrainCmd(g),
		newUncordonCmd(g),
		newExplainCmd(g),
		newRolloutCmd(g),
		newAlertsCmd(g),
		newDashboardsCmd(g),
		newLoadCmd(g),
		newSimulateCmd(g),
		newDemoCmd(g),
	}
}
