package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// Services reads every service record, sorted by id.
func Services(ctx context.Context, kv jetstream.KeyValue) ([]ServiceRecord, error) {
	var out []ServiceRecord
	if err := each(ctx, kv, func(key string, v []byte) error {
		var r ServiceRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("state: service %s: %w", key, err)
		}
		out = append(out, r)
		return nil
	}); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec.ID < out[j].Spec.ID })
	return out, nil
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
	var out []Placement
	if err := each(ctx, kv, func(key string, v []byte) error {
		var p Placement
		if err := json.Unmarshal(v, &p); err != nil {
			return fmt.Errorf("state: placement %s: %w", key, err)
		}
		out = append(out, p)
		return nil
	}); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
