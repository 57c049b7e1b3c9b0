// Package inputs lists the collector's built-in inputs in one explicit map.
// Each input lives in its own folder below this one, with its README and
// tests; adding an input means adding a line to Builtin.
package inputs

import (
	"log/slog"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/collector/inputs/connections"
	"github.com/swell-pipeline/swell/collector/inputs/cpu"
	"github.com/swell-pipeline/swell/collector/inputs/disk"
	"github.com/swell-pipeline/swell/collector/inputs/diskio"
	"github.com/swell-pipeline/swell/collector/inputs/docker"
	"github.com/swell-pipeline/swell/collector/inputs/mem"
	"github.com/swell-pipeline/swell/collector/inputs/net"
	"github.com/swell-pipeline/swell/collector/inputs/processes"
	"github.com/swell-pipeline/swell/collector/inputs/system"
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
	return map[string]Spec{
		"cpu": {
			New: func(Env) (collector.Input, error) {
				in, err := cpu.New(cpu.DefaultConfig())
				if err != nil {
					return nil, err
				}
				return in, nil
			},
			Description: "host CPU usage in percent, per CPU and total (Telegraf's cpu)",
			Default:     true,
		},
		"mem": {
			New:         func(Env) (collector.Input, error) { return mem.New(), nil },
			Description: "host memory in bytes and percent (Telegraf's mem)",
			Default:     true,
		},
		"disk": {
			New: func(env Env) (collector.Input, error) {
				cfg := disk.DefaultConfig()
				cfg.Logger = env.Logger
				return disk.New(cfg), nil
			},
			Description: "space and inodes per mounted filesystem, pseudo filesystems skipped (Telegraf's disk)",
			Default:     true,
		},
		"diskio": {
			New: func(Env) (collector.Input, error) {
				in, err := diskio.New(diskio.Config{})
				if err != nil {
					return nil, err
				}
				return in, nil
			},
			Description: "I/O counters per block device (Telegraf's diskio)",
			Default:     true,
		},
		"net": {
			New: func(Env) (collector.Input, error) {
				in, err := net.New(net.Config{})
				if err != nil {
					return nil, err
				}
				return in, nil
			},
			Description: "traffic, error and drop counters per network interface that is up, loopback skipped (Telegraf's net)",
			Default:     true,
		},
		"system": {
			New:         func(env Env) (collector.Input, error) { return system.New(env.Logger), nil },
			Description: "load averages, CPU count, logged-in users and uptime (Telegraf's system)",
			Default:     true,
		},
		"processes": {
			New: func(Env) (collector.Input, error) {
				in, err := processes.New(processes.DefaultConfig())
				if err != nil {
					return nil, err
				}
				return in, nil
			},
			Description: "number of processes by state and of threads (Telegraf's processes)",
			Default:     true,
		},
		"connections": {
			New: func(env Env) (collector.Input, error) {
				return connections.NewInput(connections.Options{Node: env.Node, Logger: env.Logger, DockerHost: env.DockerHost})
			},
			Description: "established TCP connections per container port of the node's swell containers (swell_concurrency,source=connections)",
			Default:     true,
		},
		"docker": {
			New: func(env Env) (collector.Input, error) {
				in, err := docker.New(docker.Options{Node: env.Node, Logger: env.Logger, DockerHost: env.DockerHost, CgroupRoot: env.CgroupRoot})
				if err != nil {
					return nil, err // not a typed nil inside the interface
				}
				return in, nil
			},
			Description: "containers: Telegraf's docker_container_* from cgroups (cAdvisor), metadata from the Docker API",
			Default:     true,
		},
	}
}
