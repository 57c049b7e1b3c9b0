package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamLimits bounds a stream. Zero values take the defaults below.
type StreamLimits struct {
	// MaxAge drops messages older than this (default 72h: a long weekend of
	// InfluxDB outage before anything is lost).
	MaxAge time.Duration
	// MaxBytes caps the stream's size (default 10 GiB).
	MaxBytes int64
	// Replicas is the JetStream replication factor (1 on one machine, 3 in a cluster).
	Replicas int
	// Duplicates is the window in which a repeated Nats-Msg-Id is dropped
	// (default 10m, long enough to cover a spool replay after a short outage).
	Duplicates time.Duration
}

func (l StreamLimits) withDefaults() StreamLimits {
	if l.MaxAge <= 0 {
		l.MaxAge = 72 * time.Hour
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = 10 << 30
	}
	if l.Replicas <= 0 {
		l.Replicas = 1
	}
	if l.Duplicates <= 0 {
		l.Duplicates = 10 * time.Minute
	}
	return l
}

// MetricsStreamConfig is the configuration of SWELL_METRICS.
func MetricsStreamConfig(l StreamLimits) jetstream.StreamConfig {
	l = l.withDefaults()
	return jetstream.StreamConfig{
		Name:        StreamMetrics,
		Description: "swell metric batches (line protocol) waiting for ingest",
		Subjects:    []string{SubjectMetricsAll},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      l.MaxAge,
		MaxBytes:    l.MaxBytes,
		Replicas:    l.Replicas,
		Duplicates:  l.Duplicates,
	}
}

// DeadLetterStreamConfig is the configuration of SWELL_DEADLETTER.
func DeadLetterStreamConfig(l StreamLimits) jetstream.StreamConfig {
	l = l.withDefaults()
	return jetstream.StreamConfig{
		Name:        StreamDeadLetter,
		Description: "metric lines that could not be written, with the reason",
		Subjects:    []string{SubjectDeadLetterAll},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      7 * 24 * time.Hour,
		MaxBytes:    min(l.MaxBytes, 1<<30),
		Replicas:    l.Replicas,
	}
}

// EventsStreamConfig is the configuration of SWELL_EVENTS: 30 days, 1 GiB.
func EventsStreamConfig(l StreamLimits) jetstream.StreamConfig {
	l = l.withDefaults()
	return jetstream.StreamConfig{
		Name:        StreamEvents,
		Description: "swell decisions and observations (JSON)",
		Subjects:    []string{SubjectEventsAll},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      30 * 24 * time.Hour,
		MaxBytes:    min(l.MaxBytes, 1<<30),
		Replicas:    l.Replicas,
		Duplicates:  l.Duplicates,
	}
}

// EnsureStreams creates or updates the streams the metrics pipeline needs.
// It is idempotent; every server and `swell up` calls it at start.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, l StreamLimits) error {
	for _, cfg := range []jetstream.StreamConfig{MetricsStreamConfig(l), DeadLetterStreamConfig(l), EventsStreamConfig(l)} {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("nats: create or update stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}
