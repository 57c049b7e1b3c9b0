package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/internal/bus"
)

// Marks are what the control plane notes about a node beside the agent's
// own record in swell_nodes: a cordon (swell drain) and the status the
// scheduler last saw. Their keys start with "_", which no node token does
// (bus.Token never yields a leading underscore from a real hostname), so
// Nodes skips them.
const (
	cordonPrefix = "_cordon."
	statusPrefix = "_status."
)

// IsMarkKey tells whether a swell_nodes key holds a mark, not a node.
func IsMarkKey(key string) bool { return strings.HasPrefix(key, "_") }

// CordonKey is the key of a node's cordon in swell_nodes.
func CordonKey(node string) string { return cordonPrefix + bus.Token(node) }

// StatusKey is the key of a node's last seen status in swell_nodes.
func StatusKey(node string) string { return statusPrefix + bus.Token(node) }

// Cordon says a node takes nothing new and has its instances moved off.
type Cordon struct {
	Node   string    `json:"node"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// NodeStatus is the status the scheduler last saw of a node, so a
// ready→lost change is told once even across leader changes.
type NodeStatus struct {
	Node   string    `json:"node"`
	Status string    `json:"status"`
	Since  time.Time `json:"since"`
}

// PutCordon cordons a node.
func PutCordon(ctx context.Context, kv jetstream.KeyValue, c Cordon) error {
	return putJSON(ctx, kv, CordonKey(c.Node), c, "cordon of node "+c.Node)
}

// DeleteCordon uncordons a node; it reports whether the node was cordoned.
func DeleteCordon(ctx context.Context, kv jetstream.KeyValue, node string) (bool, error) {
	if _, err := kv.Get(ctx, CordonKey(node)); errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("state: read cordon of node %s: %w", node, err)
	}
	if err := kv.Delete(ctx, CordonKey(node)); err != nil {
		return false, fmt.Errorf("state: delete cordon of node %s: %w", node, err)
	}
	return true, nil
}

// Cordons reads every cordon, by node name.
func Cordons(ctx context.Context, kv jetstream.KeyValue) (map[string]Cordon, error) {
	out := map[string]Cordon{}
	err := each(ctx, kv, func(key string, v []byte) error {
		if !strings.HasPrefix(key, cordonPrefix) {
			return nil
		}
		var c Cordon
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("state: cordon %s: %w", key, err)
		}
		out[c.Node] = c
		return nil
	})
	return out, err
}

// PutNodeStatus records the status the scheduler saw.
func PutNodeStatus(ctx context.Context, kv jetstream.KeyValue, s NodeStatus) error {
	return putJSON(ctx, kv, StatusKey(s.Node), s, "status of node "+s.Node)
}

func putJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any, what string) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("state: encode %s: %w", what, err)
	}
	if _, err := kv.Put(ctx, key, b); err != nil {
		return fmt.Errorf("state: put %s in %s: %w", what, kv.Bucket(), err)
	}
	return nil
}
