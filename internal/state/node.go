package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/internal/bus"
)

// Node is a node's registration in swell_nodes, refreshed by its agent at
// every heartbeat.
type Node struct {
	Name string `json:"name"`
	// Addr is the node's address (--addr): published ports bind to it.
	Addr   string            `json:"addr"`
	Labels map[string]string `json:"labels,omitempty"`
	// CPUs and MemMiB are the capacity the scheduler may allocate.
	CPUs   float64 `json:"cpus"`
	MemMiB float64 `json:"memMiB"`
	// Docker says whether the node's container runtime answers.
	Docker bool `json:"docker"`
	// Version is the agent's swell version.
	Version   string    `json:"version,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	Heartbeat time.Time `json:"heartbeat"`
}

// Key is the node's key in swell_nodes.
func (n Node) Key() string { return bus.Token(n.Name) }

// Alive tells whether the node heartbeat within timeout of now.
func (n Node) Alive(now time.Time, timeout time.Duration) bool {
	return now.Sub(n.Heartbeat) <= timeout
}

// PutNode writes a node record.
func PutNode(ctx context.Context, kv jetstream.KeyValue, n Node) error {
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("state: encode node %s: %w", n.Name, err)
	}
	if _, err := kv.Put(ctx, n.Key(), b); err != nil {
		return fmt.Errorf("state: put node %s in %s: %w", n.Name, bus.BucketNodes, err)
	}
	return nil
}

// Nodes reads every node record, sorted by name.
func Nodes(ctx context.Context, kv jetstream.KeyValue) ([]Node, error) {
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("state: list %s: %w", bus.BucketNodes, err)
	}
	var out []Node
	for key := range lister.Keys() {
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // removed between list and get
		}
		if err != nil {
			return nil, fmt.Errorf("state: get node %s: %w", key, err)
		}
		var n Node
		if err := json.Unmarshal(e.Value(), &n); err != nil {
			return nil, fmt.Errorf("state: node %s: %w", key, err)
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
