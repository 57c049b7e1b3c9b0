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
	// Cordons and node statuses share the bucket under mark keys.
	return readAll(ctx, kv, "node", IsMarkKey, func(a, b Node) bool { return a.Name < b.Name })
}

// Instances reads every instance record, sorted by service then id.
func Instances(ctx context.Context, kv jetstream.KeyValue) ([]Instance, error) {
	return readAll(ctx, kv, "instance", nil, func(a, b Instance) bool {
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.ID < b.ID
	})
}

// readAll decodes every record of a bucket but those whose key skip
// says to leave (nil: none), sorted by less; what names a record in errors.
func readAll[T any](ctx context.Context, kv jetstream.KeyValue, what string, skip func(key string) bool, less func(a, b T) bool) ([]T, error) {
	var out []T
	if err := each(ctx, kv, func(key string, v []byte) error {
		if skip != nil && skip(key) {
			return nil
		}
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("state: %s %s: %w", what, key, err)
		}
		out = append(out, x)
		return nil
	}); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i], out[j]) })
	return out, nil
}

// each calls f with every key and value of kv.
func each(ctx context.Context, kv jetstream.KeyValue, f func(key string, value []byte) error) error {
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("state: list %s: %w", kv.Bucket(), err)
	}
	for key := range lister.Keys() {
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // removed between list and get
		}
		if err != nil {
			return fmt.Errorf("state: get %s in %s: %w", key, kv.Bucket(), err)
		}
		if err := f(key, e.Value()); err != nil {
			return err
		}
	}
	return nil
}
