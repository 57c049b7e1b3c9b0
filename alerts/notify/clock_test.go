package notify_test

import (
	"sync"
	"time"

	"github.com/swell-pipeline/swell/internal/clock"
)

// stepClock jumps forward by the length of every timer it is asked for and
// fires it at once, recording the wait, so backoff and rate-limit schedules
// can be checked exactly without sleeping.
type stepClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

var _ clock.Clock = (*stepClock)(nil)

func newStepClock() *stepClock {
	return &stepClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *stepClock) NewTimer(d time.Duration) clock.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.waits = append(c.waits, d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return firedTimer{ch}
}

func (c *stepClock) NewTicker(time.Duration) clock.Ticker {
	panic("stepClock: tickers are not used by notify")
}

type firedTimer struct{ ch chan time.Time }

func (t firedTimer) C() <-chan time.Time      { return t.ch }
func (t firedTimer) Stop() bool               { return false }
func (t firedTimer) Reset(time.Duration) bool { return false }
