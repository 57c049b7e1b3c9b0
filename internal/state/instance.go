package state

import (
	"fmt"
	"strings"
	"time"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/spec"
)

// InstanceState is where an instance is in its life.
type InstanceState string

// The states an instance goes through. pending: placed, not yet created;
// starting: created, not yet running or not yet past its health grace
// period; stopping: asked to stop; lost: its node stopped heartbeating.
const (
	Pending  InstanceState = "pending"
	Starting InstanceState = "starting"
	Running  InstanceState = "running"
	Stopping InstanceState = "stopping"
	Stopped  InstanceState = "stopped"
	Failed   InstanceState = "failed"
	Lost     InstanceState = "lost"
)

// Valid tells whether s is one of the states above.
func (s InstanceState) Valid() bool {
	switch s {
	case Pending, Starting, Running, Stopping, Stopped, Failed, Lost:
		return true
	}
	return false
}

// Placement is a desired instance in swell_placements, written by the
// scheduler; the agent of Node makes it real.
type Placement struct {
	ID      string `json:"id"`
	Service string `json:"service"`
	Node    string `json:"node"`
	// Version identifies the service spec the instance runs; a rollout
	// places instances of the new version beside the old.
	Version string `json:"version"`
	// Stop asks the agent to drain and stop the instance (scale-down,
	// upgrade, drain); the placement is deleted once it has stopped.
	Stop bool `json:"stop,omitempty"`
	// Reason is why the scheduler placed or stopped it (also an event).
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
	// Spec is the service spec of Version, so the agent runs exactly what
	// was placed even while a newer version is being applied.
	Spec *spec.Service `json:"spec,omitempty"`
}

// Key is the placement's key: <node>.<instance>, so an agent watches
// <its node>.>.
func (p Placement) Key() string { return InstanceKey(p.Node, p.ID) }

// Instance is an instance's actual status in swell_instances, reported by
// the agent that runs it. Its JSON is what `swell get instances -o json`
// prints.
type Instance struct {
	ID          string        `json:"id"`
	Service     string        `json:"service"`
	Node        string        `json:"node"`
	Version     string        `json:"version"`
	State       InstanceState `json:"state"`
	Healthy     bool          `json:"healthy"`
	Image       string        `json:"image"`
	ContainerID string        `json:"containerId"`
	// HostPorts are the published ports, in portMappings order.
	HostPorts []int     `json:"hostPorts"`
	StartedAt time.Time `json:"startedAt"`
	// Reason explains a failed or lost state (image missing, exit code …).
	Reason string `json:"reason,omitempty"`
	// Restarts counts the failures in a row of this instance on its node
	// (launch errors, exits, failed health checks); a healthy run resets
	// it. The scheduler moves an instance that keeps failing.
	Restarts  int       `json:"restarts,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Key is the instance's key: <node>.<instance>.
func (i Instance) Key() string { return InstanceKey(i.Node, i.ID) }

// InstanceKey is the key of an instance of a node in swell_placements and
// swell_instances.
func InstanceKey(node, instance string) string {
	return bus.Token(node) + "." + bus.Token(instance)
}

// ParseInstanceKey splits a key made by InstanceKey.
func ParseInstanceKey(key string) (node, instance string, err error) {
	node, instance, ok := strings.Cut(key, ".")
	if !ok || node == "" || instance == "" || strings.Contains(instance, ".") {
		return "", "", fmt.Errorf("state: %q is not a <node>.<instance> key", key)
	}
	return node, instance, nil
}
