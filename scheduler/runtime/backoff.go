package runtime

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Backoff is Marathon's launch backoff: after the first failed launch the
// next one waits Initial, and each further failure multiplies the wait by
// Factor, up to MaxLaunchDelay.
type Backoff struct {
	// Initial is the delay after the first failure (Marathon's
	// backoffSeconds).
	Initial time.Duration
	// Factor multiplies the delay per further failure (backoffFactor).
	Factor float64
	// MaxLaunchDelay caps the delay (maxLaunchDelaySeconds).
	MaxLaunchDelay time.Duration
}

// DefaultBackoff returns Marathon's defaults: 1 s, ×1.15, at most 300 s.
func DefaultBackoff() Backoff {
	return Backoff{Initial: time.Second, Factor: 1.15, MaxLaunchDelay: 300 * time.Second}
}

// Validate reports a backoff Delay cannot work with.
func (b Backoff) Validate() error {
	switch {
	case b.Initial < 0:
		return fmt.Errorf("backoffSeconds %v: must not be negative", b.Initial)
	case b.Factor < 1 || math.IsNaN(b.Factor) || math.IsInf(b.Factor, 0):
		return fmt.Errorf("backoffFactor %v: must be at least 1", b.Factor)
	case b.MaxLaunchDelay < 0:
		return fmt.Errorf("maxLaunchDelaySeconds %v: must not be negative", b.MaxLaunchDelay)
	}
	return nil
}

// Delay is how long to wait before the next launch after failures
// consecutive failed launches: 0 for none, Initial×Factor^(failures-1)
// otherwise, never more than MaxLaunchDelay.
func (b Backoff) Delay(failures int) time.Duration {
	if failures <= 0 || b.Initial <= 0 {
		return 0
	}
	d := float64(b.Initial) * math.Pow(b.Factor, float64(failures-1))
	// Comparing as floats first keeps a huge power from overflowing the
	// conversion to Duration.
	if d >= float64(b.MaxLaunchDelay) {
		return b.MaxLaunchDelay
	}
	return time.Duration(d)
}

// BackoffTracker applies a Backoff per key (an instance ID, or a service ID
// for Marathon's per-app behaviour). Time is passed in, so it is driven by
// an injected clock or a test. It is safe for concurrent use.
type BackoffTracker struct {
	backoff Backoff
	mu      sync.Mutex
	state   map[string]backoffState
}

type backoffState struct {
	failures int
	last     time.Time
}

// NewBackoffTracker returns a tracker applying b.
func NewBackoffTracker(b Backoff) (*BackoffTracker, error) {
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("runtime: launch backoff: %w", err)
	}
	return &BackoffTracker{backoff: b, state: make(map[string]backoffState)}, nil
}

// Allow reports whether key may be launched at now and, if not, how long
// until it may.
func (t *BackoffTracker) Allow(key string, now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	s, ok := t.state[key]
	t.mu.Unlock()
	if !ok {
		return true, 0
	}
	wait := s.last.Add(t.backoff.Delay(s.failures)).Sub(now)
	if wait <= 0 {
		return true, 0
	}
	return false, wait
}

// Failed records a failed launch of key at now.
func (t *BackoffTracker) Failed(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.state[key]
	s.failures++
	s.last = now
	t.state[key] = s
}

// Failures returns the number of consecutive failed launches of key.
func (t *BackoffTracker) Failures(key string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state[key].failures
}

// Succeeded forgets key's failures: its next failure waits Initial again.
// Call it when a launch succeeded (the instance runs, or passed its health
// checks), or when the spec changed (Marathon resets the delay then too).
func (t *BackoffTracker) Succeeded(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.state, key)
}
