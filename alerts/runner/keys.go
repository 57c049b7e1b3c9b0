package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/alerts"
	"github.com/swell-pipeline/swell/internal/bus"
)

// KV keys in bus.BucketAlerts.
const (
	keyRouter        = "router"
	keyRulePrefix    = "rule."
	keySilencePrefix = "silence."
)

// RuleKey is the KV key of a rule's snapshot. Characters a KV key cannot
// hold (and '.', which separates key tokens) are written as =XX, which no
// rule name contains, so two names never share a key.
func RuleKey(rule string) string { return keyRulePrefix + escapeKey(rule) }

// SilenceKey is the KV key of a silence.
func SilenceKey(id string) string { return keySilencePrefix + escapeKey(id) }

func escapeKey(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return b.String()
}

// Snapshots reads every rule's checkpoint from KV, by rule name.
func Snapshots(ctx context.Context, kv jetstream.KeyValue) ([]alerts.Snapshot, error) {
	keys, err := kv.ListKeysFiltered(ctx, keyRulePrefix+">")
	if err != nil {
		return nil, fmt.Errorf("alerts: list rule state in %s: %w", bus.BucketAlerts, err)
	}
	var out []alerts.Snapshot
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("alerts: read %s: %w", k, err)
		}
		var s alerts.Snapshot
		if err := json.Unmarshal(e.Value(), &s); err != nil {
			return nil, fmt.Errorf("alerts: %s: %w", k, err)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b alerts.Snapshot) int { return strings.Compare(a.Rule, b.Rule) })
	return out, nil
}
