package runtime

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	dockerinput "github.com/swell-pipeline/swell/collector/inputs/docker"
)

// Labels every container this package creates carries. Service and
// instance are the collector's, so container metrics get the same tags.
const (
	LabelService  = dockerinput.LabelService
	LabelInstance = dockerinput.LabelInstance
	LabelNode     = "swell.node"
	LabelVersion  = "swell.version"
	// LabelPorts records the spec's port mappings ("8080/tcp,53/udp") so
	// List can report host ports in portMappings order.
	LabelPorts = "swell.ports"
)

// Runtime is what an agent needs from a container engine. The agent owns
// the interface; Docker is the implementation.
type Runtime interface {
	// Create makes a container for spec without starting it.
	Create(ctx context.Context, spec Spec) (Container, error)
	// Start starts a created container.
	Start(ctx context.Context, id string) error
	// Stop sends SIGTERM and kills the container after grace.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Remove removes the container, running or not; removing one that is
	// already gone succeeds.
	Remove(ctx context.Context, id string) error
	// Inspect returns the container's current state.
	Inspect(ctx context.Context, id string) (Container, error)
	// List returns the containers labelled with node, in any state.
	List(ctx context.Context, node string) ([]Container, error)
}

// Errors callers tell apart with errors.Is. Each one is wrapped together
// with the engine's own error.
var (
	// ErrImageNotFound: the image is not on the node's engine and pulling
	// is off (or the pull failed). Retrying soon will not help.
	ErrImageNotFound = errors.New("image not found")
	// ErrContainerNotFound: no container with that ID on the engine.
	ErrContainerNotFound = errors.New("container not found")
	// ErrNameConflict: a container with the instance's name already exists
	// (a leftover that List did not attribute to this node, or a race).
	ErrNameConflict = errors.New("container name already in use")
)

// Spec describes one instance's container.
type Spec struct {
	Service  string
	Instance string
	Node     string
	// Version identifies the service spec the instance was created from,
	// so a rollout can tell old instances from new ones.
	Version string
	Image   string
	// Entrypoint replaces the image's ENTRYPOINT when not nil (a service's
	// cmd does; its args only replace CMD).
	Entrypoint []string
	// Cmd is Docker's CMD: it replaces the image's CMD and is passed to the
	// image's ENTRYPOINT when it has one. Nil keeps the image's.
	Cmd []string
	Env map[string]string
	// CPUs is a CPU limit in cores (0.25 = a quarter core); 0 means none.
	CPUs float64
	// MemMiB is a memory limit in MiB; 0 means none.
	MemMiB float64
	Ports  []PortMapping
	// BindIP is the node's address (agent --addr): published ports bind to
	// it only. Empty binds all of the host's addresses.
	BindIP string
	// Labels are added to the container; the swell.* labels above win over
	// any of the same name.
	Labels map[string]string
}

// PortMapping publishes a container port on the node.
type PortMapping struct {
	ContainerPort int
	// HostPort 0 lets Docker pick a free port; Container.HostPorts tells
	// which once the container runs.
	HostPort int
	// Protocol is tcp (the default) or udp.
	Protocol string
}

// State is Docker's container state.
type State string

// The states Docker reports.
const (
	StateCreated    State = "created"
	StateRunning    State = "running"
	StatePaused     State = "paused"
	StateRestarting State = "restarting"
	StateRemoving   State = "removing"
	StateExited     State = "exited"
	StateDead       State = "dead"
)

// Container is a container's identity, as recorded in its labels, and its
// current state.
type Container struct {
	ID       string
	Name     string
	Service  string
	Instance string
	Node     string
	Version  string
	Image    string
	State    State
	// ExitCode is meaningful once State is exited.
	ExitCode int
	// StartedAt is zero for a container never started.
	StartedAt time.Time
	// HostPorts are the published ports in the spec's portMappings order;
	// 0 where a port is not (or no longer) published, e.g. after exit.
	HostPorts []int
}

// ContainerName is the engine-wide unique name of an instance's container.
// The node is part of it because several agents can share one engine.
// Characters Docker does not allow in names become '-'.
func ContainerName(node, instance string) string {
	var b strings.Builder
	b.WriteString("swell.")
	for _, s := range []string{node, ".", instance} {
		for _, r := range s {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
				b.WriteRune(r)
			default:
				b.WriteByte('-')
			}
		}
	}
	return b.String()
}

// Orphans returns the listed containers to remove given the instance IDs
// the node should run: containers of instances not desired, containers
// without an instance label, and all but one container of an instance
// that has several (the one kept is running if any is, then the most
// recently started). Adopting the rest is the caller's business.
func Orphans(listed []Container, desired map[string]struct{}) []Container {
	keep := make(map[string]int) // instance → index in listed
	var orphans []Container
	for i, c := range listed {
		if _, ok := desired[c.Instance]; !ok || c.Instance == "" {
			orphans = append(orphans, c)
			continue
		}
		j, seen := keep[c.Instance]
		if !seen {
			keep[c.Instance] = i
			continue
		}
		if better(c, listed[j]) {
			keep[c.Instance] = i
			orphans = append(orphans, listed[j])
		} else {
			orphans = append(orphans, c)
		}
	}
	// Deterministic order for callers that log or test the result.
	sort.SliceStable(orphans, func(a, b int) bool { return orphans[a].ID < orphans[b].ID })
	return orphans
}

// better reports whether a is the container to keep over b.
func better(a, b Container) bool {
	ar, br := a.State == StateRunning, b.State == StateRunning
	if ar != br {
		return ar
	}
	if !a.StartedAt.Equal(b.StartedAt) {
		return a.StartedAt.After(b.StartedAt)
	}
	return a.ID < b.ID
}
