package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// Services reads every service record, sorted by id.
func Services(ctx context.Context, kv jetstream.KeyValue) ([]ServiceRecord, error) {
	return readAll(ctx, kv, "service", nil, func(a, b ServiceRecord) bool { return a.Spec.ID < b.Spec.ID })
}

// GetService reads one service record and its revision, for a
// compare-and-set update. A missing service is ErrNotFound.
func GetService(ctx context.Context, kv jetstream.KeyValue, id string) (ServiceRecord, uint64, error) {
	e, err := kv.Get(ctx, ServiceKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return ServiceRecord{}, 0, fmt.Errorf("service %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return ServiceRecord{}, 0, fmt.Errorf("state: get service %s: %w", id, err)
	}
	var r ServiceRecord
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return ServiceRecord{}, 0, fmt.Errorf("state: service %s: %w", id, err)
	}
	return r, e.Revision(), nil
}

// PutService writes a service record. With rev 0 the service must not
// exist yet; otherwise rev must be the stored revision, so two writers
// cannot overwrite each other unseen.
func PutService(ctx context.Context, kv jetstream.KeyValue, r ServiceRecord, rev uint64) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("state: encode service %s: %w", r.Spec.ID, err)
	}
	if rev == 0 {
		_, err = kv.Create(ctx, ServiceKey(r.Spec.ID), b)
	} else {
		_, err = kv.Update(ctx, ServiceKey(r.Spec.ID), b, rev)
	}
	if err != nil {
		return fmt.Errorf("state: put service %s in %s: %w", r.Spec.ID, kv.Bucket(), err)
	}
	return nil
}

// Placements reads every placement, sorted by service then id.
func Placements(ctx context.Context, kv jetstream.KeyValue) ([]Placement, error) {
	return readAll(ctx, kv, "placement", nil, func(a, b Placement) bool {
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.ID < b.ID
	})
}
