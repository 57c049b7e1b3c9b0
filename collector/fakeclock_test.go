package collector_test

import (
	"sync"
	"time"

	"github.com/swell-pipeline/swell/internal/clock"
)

// fakeClock is a manual clock: tickers and timers fire only when Advance
// moves time past them, so interval and flush behaviour can be tested step
// by step without sleeping.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*fakeWaiter
}

var _ clock.Clock = (*fakeClock)(nil)

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves time forward and fires what is due, dropping ticks that
// find the channel full, like time.Ticker.
func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	for _, w := range f.waiters {
		if !w.active || w.at.After(f.now) {
			continue
		}
		select {
		case w.ch <- f.now:
		default:
		}
		if w.period > 0 {
			for !w.at.After(f.now) {
				w.at = w.at.Add(w.period)
			}
		} else {
			w.active = false
		}
	}
}

func (f *fakeClock) add(d, period time.Duration) *fakeWaiter {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := &fakeWaiter{f: f, ch: make(chan time.Time, 1), at: f.now.Add(d), period: period, active: true}
	f.waiters = append(f.waiters, w)
	return w
}

func (f *fakeClock) NewTicker(d time.Duration) clock.Ticker { return fakeTicker{f.add(d, d)} }
func (f *fakeClock) NewTimer(d time.Duration) clock.Timer   { return fakeTimer{f.add(d, 0)} }

type fakeWaiter struct {
	f      *fakeClock
	ch     chan time.Time
	at     time.Time
	period time.Duration
	active bool
}

// stop deactivates w and drains a pending value, as Go 1.23+ timers do.
func (w *fakeWaiter) stop() bool {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	was := w.active
	w.active = false
	select {
	case <-w.ch:
	default:
	}
	return was
}

func (w *fakeWaiter) reset(d time.Duration, periodic bool) bool {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	was := w.active
	select {
	case <-w.ch:
	default:
	}
	w.at = w.f.now.Add(d)
	if periodic {
		w.period = d
	}
	w.active = true
	return was
}

type fakeTicker struct{ w *fakeWaiter }

func (t fakeTicker) C() <-chan time.Time   { return t.w.ch }
func (t fakeTicker) Stop()                 { t.w.stop() }
func (t fakeTicker) Reset(d time.Duration) { t.w.reset(d, true) }

type fakeTimer struct{ w *fakeWaiter }

func (t fakeTimer) C() <-chan time.Time        { return t.w.ch }
func (t fakeTimer) Stop() bool                 { return t.w.stop() }
func (t fakeTimer) Reset(d time.Duration) bool { return t.w.reset(d, false) }
