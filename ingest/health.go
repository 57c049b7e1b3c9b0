package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/swell-pipeline/swell/internal/clock"
)

// health tracks whether InfluxDB takes writes and NATS serves fetches. It
// logs when either changes state, never per message: an outage of an hour
// is two log lines, not a million.
type health struct {
	log       *slog.Logger
	clock     clock.Clock
	influxURL string

	mu          sync.Mutex
	influxDown  bool
	influxSince time.Time
	influxFails int
	influxErr   error
	natsDown    bool
	natsSince   time.Time
	natsFails   int
	natsErr     error
}

func (h *health) writeOK() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.influxDown {
		h.log.Info("ingest: InfluxDB takes writes again; catching up on the backlog",
			"url", h.influxURL, "outage", h.clock.Now().Sub(h.influxSince).Round(time.Millisecond), "failed_attempts", h.influxFails)
	}
	h.influxDown, h.influxFails, h.influxErr = false, 0, nil
}

// writeUnavailable records a write InfluxDB could not take.
func (h *health) writeUnavailable(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.influxFails++
	h.influxErr = err
	if !h.influxDown {
		h.influxDown, h.influxSince = true, h.clock.Now()
		h.log.Warn("ingest: InfluxDB unavailable; messages stay in the stream and are retried until it is back",
			"url", h.influxURL, "err", err)
	}
}

// probeFailed counts a failed ping while waiting for InfluxDB, so the wait
// between pings grows.
func (h *health) probeFailed(err error) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.influxFails++
	h.influxErr = err
	return h.influxFails
}

func (h *health) influxState() (down bool, fails int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.influxDown, h.influxFails
}

func (h *health) fetchOK() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.natsDown {
		h.log.Info("ingest: fetching from NATS again", "outage", h.clock.Now().Sub(h.natsSince).Round(time.Millisecond))
	}
	h.natsDown, h.natsFails, h.natsErr = false, 0, nil
}

// fetchFailed records a failed fetch and returns how many failed in a row.
func (h *health) fetchFailed(err error) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.natsFails++
	h.natsErr = err
	if !h.natsDown {
		h.natsDown, h.natsSince = true, h.clock.Now()
		h.log.Warn("ingest: cannot fetch from NATS; retrying", "err", err)
	}
	return h.natsFails
}

func (h *health) err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	if h.natsDown {
		errs = append(errs, fmt.Errorf("ingest: fetching from NATS failing since %s: %w",
			h.natsSince.Format(time.RFC3339), h.natsErr))
	}
	if h.influxDown {
		errs = append(errs, fmt.Errorf("ingest: InfluxDB at %s not taking writes since %s (%d failed attempts; messages wait in the stream): %w",
			h.influxURL, h.influxSince.Format(time.RFC3339), h.influxFails, h.influxErr))
	}
	return errors.Join(errs...)
}
