package router

import (
	"math"
	"math/bits"
	"sync"
	"time"
)

// histogram counts latencies in microseconds in log-linear buckets: exact
// below 32 µs, then 16 buckets per power of two, so a percentile is off by
// at most 1/16 (6%) of its value. Fixed size, no allocation per sample.
type histogram struct {
	counts [histBuckets]uint32
	n      uint64
}

const (
	histSub     = 16
	histBuckets = 2*histSub + 60*histSub
)

func histIndex(us int64) int {
	if us < 0 {
		us = 0
	}
	v := uint64(us)
	if v < 2*histSub {
		return int(v)
	}
	shift := bits.Len64(v) - 5
	mant := v >> uint(shift)
	i := 2*histSub + (shift-1)*histSub + int(mant-histSub)
	return min(i, histBuckets-1)
}

// histValue is the middle of bucket i, in microseconds.
func histValue(i int) float64 {
	if i < 2*histSub {
		return float64(i)
	}
	shift := (i-2*histSub)/histSub + 1
	mant := uint64((i-2*histSub)%histSub + histSub)
	lo := float64(mant << uint(shift))
	hi := float64((mant+1)<<uint(shift)) - 1
	return (lo + hi) / 2
}

func (h *histogram) add(d time.Duration) {
	h.counts[histIndex(d.Microseconds())]++
	h.n++
}

// quantile returns the q-quantile (0 < q ≤ 1) in milliseconds, 0 when empty.
func (h *histogram) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen >= rank {
			return histValue(i) / 1000
		}
	}
	return histValue(histBuckets-1) / 1000
}

func (h *histogram) reset() {
	if h.n != 0 {
		h.counts = [histBuckets]uint32{}
		h.n = 0
	}
}

// window accumulates one reporting period of a backend.
type window struct {
	start, last time.Time
	area        float64 // in-flight × seconds since start
	max         int64
	done        int64
	hist        histogram
}

func (w *window) advance(now time.Time, cur int64) {
	if d := now.Sub(w.last); d > 0 {
		w.area += float64(cur) * d.Seconds()
		w.last = now
	}
}

// Stats is one reporting period of one backend.
type Stats struct {
	// InFlight is the time-weighted average of requests in flight.
	InFlight float64
	// InFlightMax is the most requests in flight at any moment.
	InFlightMax int64
	// Now is the requests in flight when the period ended.
	Now int64
	// Requests is the count of requests completed in the period.
	Requests int64
	RPS      float64
	P50Ms    float64
	P99Ms    float64
	Period   time.Duration
}

// meter keeps a backend's in-flight count over time for two periods at
// once: the signal period (250 ms) and the metrics period (the collection
// interval), each taken and restarted by its own reader.
type meter struct {
	mu   sync.Mutex
	cur  int64
	wins [2]window
}

const (
	winSignal = iota
	winMetrics
)

func newMeter(now time.Time) *meter {
	m := &meter{}
	for i := range m.wins {
		m.wins[i].start, m.wins[i].last = now, now
	}
	return m
}

func (m *meter) begin(now time.Time) {
	m.mu.Lock()
	for i := range m.wins {
		m.wins[i].advance(now, m.cur)
	}
	m.cur++
	for i := range m.wins {
		m.wins[i].max = max(m.wins[i].max, m.cur)
	}
	m.mu.Unlock()
}

func (m *meter) end(now time.Time, latency time.Duration) {
	m.mu.Lock()
	for i := range m.wins {
		w := &m.wins[i]
		w.advance(now, m.cur)
		w.done++
		w.hist.add(latency)
	}
	m.cur--
	m.mu.Unlock()
}

// take returns the period of window which that ends now and starts the next.
func (m *meter) take(which int, now time.Time) Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := &m.wins[which]
	w.advance(now, m.cur)
	s := Stats{InFlightMax: w.max, Now: m.cur, Requests: w.done, Period: now.Sub(w.start)}
	if s.Period > 0 {
		s.InFlight = w.area / s.Period.Seconds()
		s.RPS = float64(w.done) / s.Period.Seconds()
	} else {
		s.InFlight = float64(m.cur)
	}
	s.P50Ms = w.hist.quantile(0.50)
	s.P99Ms = w.hist.quantile(0.99)
	w.start, w.last, w.area, w.max, w.done = now, now, 0, m.cur, 0
	w.hist.reset()
	return s
}
