package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/alerts"
	"github.com/swell-pipeline/swell/internal/bus"
)

// PutSilence stores a silence in KV; a running runner picks it up at once.
func PutSilence(ctx context.Context, kv jetstream.KeyValue, s alerts.Silence) error {
	if s.ID == "" || len(s.Matchers) == 0 || !s.EndsAt.After(s.StartsAt) {
		return fmt.Errorf("alerts: silence %q: want an id, at least one matcher and an end after the start", s.ID)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("alerts: silence %s: %w", s.ID, err)
	}
	if _, err := kv.Put(ctx, SilenceKey(s.ID), b); err != nil {
		return fmt.Errorf("alerts: store silence %s in %s: %w", s.ID, bus.BucketAlerts, err)
	}
	return nil
}

// ExpireSilence ends a silence at now (it stays listed as expired).
func ExpireSilence(ctx context.Context, kv jetstream.KeyValue, id string, now time.Time) error {
	e, err := kv.Get(ctx, SilenceKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("alerts: no silence %s", id)
	}
	if err != nil {
		return fmt.Errorf("alerts: read silence %s: %w", id, err)
	}
	var s alerts.Silence
	if err := json.Unmarshal(e.Value(), &s); err != nil {
		return fmt.Errorf("alerts: silence %s: %w", id, err)
	}
	if s.EndsAt.After(now) {
		s.EndsAt = now
		if s.StartsAt.After(now) {
			s.StartsAt = now.Add(-time.Nanosecond)
		}
	}
	return PutSilence(ctx, kv, s)
}

// Silences lists the stored silences, by id.
func Silences(ctx context.Context, kv jetstream.KeyValue) ([]alerts.Silence, error) {
	keys, err := kv.ListKeys(ctx, jetstream.MetaOnly())
	if err != nil {
		return nil, fmt.Errorf("alerts: list %s: %w", bus.BucketAlerts, err)
	}
	var out []alerts.Silence
	for k := range keys.Keys() {
		if !strings.HasPrefix(k, keySilencePrefix) {
			continue
		}
		e, err := kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("alerts: read %s: %w", k, err)
		}
		var s alerts.Silence
		if err := json.Unmarshal(e.Value(), &s); err != nil {
			return nil, fmt.Errorf("alerts: %s: %w", k, err)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b alerts.Silence) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
