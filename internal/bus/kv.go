package bus

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// JetStream KV buckets holding swell's desired and actual state. Every
// component reads and writes state through these, level-triggered, so a
// restart or a partition loses nothing.
const (
	// BucketServices holds service specs, key: the service id as a token.
	BucketServices = "swell_services"
	// BucketNodes holds node registrations and heartbeats, key: node token.
	BucketNodes = "swell_nodes"
	// BucketPlacements holds desired instances, key: <node>.<instance>;
	// agents watch <their node>.>.
	BucketPlacements = "swell_placements"
	// BucketInstances holds the actual status agents report, key: <node>.<instance>.
	BucketInstances = "swell_instances"
	// BucketAlerts holds alert state, notification log and silences.
	BucketAlerts = "swell_alerts"
	// BucketLeader holds the leader lease; its TTL is the lease (see
	// internal/leader, which creates it).
	BucketLeader = "swell_leader"
)

// StateBuckets are the buckets EnsureKV creates.
var StateBuckets = []string{BucketServices, BucketNodes, BucketPlacements, BucketInstances, BucketAlerts}

// EnsureKV creates or updates the state buckets (file storage, one value
// per key kept). replicas is the JetStream replication factor (0: 1).
func EnsureKV(ctx context.Context, js jetstream.JetStream, replicas int) error {
	if replicas <= 0 {
		replicas = 1
	}
	for _, b := range StateBuckets {
		_, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      b,
			Description: "swell state: " + b,
			History:     1,
			Storage:     jetstream.FileStorage,
			Replicas:    replicas,
		})
		if err != nil {
			return fmt.Errorf("nats: create or update KV bucket %s: %w", b, err)
		}
	}
	return nil
}
