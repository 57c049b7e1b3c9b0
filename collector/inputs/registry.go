// Package inputs lists the collector's built-in inputs in one explicit map.
// Each input lives in its own folder below this one, with its README and
// tests; adding an input means adding a line to Builtin.
package inputs

import (
	"log/slog"

	"github.com/swell-pipeline/swell/collector"
)

// Env is what an input may need from the agent that runs it.
type Env struct {
	// Node is the agent's node name.
	Node string
	// Logger is the input's logger.
	Logger *slog.Logger
	// DockerHost is the Docker Engine endpoint; empty means DOCKER_HOST or
	// the default socket.
	DockerHost string
	// CgroupRoot is where the cgroup filesystem is mounted (default
	// /sys/fs/cgroup); agents running in a container mount the host's.
	CgroupRoot string
}

// Factory builds an input. It validates but does not connect: connecting
// happens on the first Gather.
type Factory func(env Env) (collector.Input, error)

// Spec describes a built-in input.
type Spec struct {
	New         Factory
	Description string
	// Default inputs run when the agent is not told which to run.
	Default bool
}

// Builtin returns the built-in inputs by name.
func Builtin() map[string]Spec {
	return map[string]Spec{}
}
