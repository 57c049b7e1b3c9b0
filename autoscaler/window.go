package autoscaler

import "time"

// window holds one metric of one service in 1 s buckets: each bucket is
// the time integral of the metric over its second, summed over every
// router and instance, so its value is the service's average total for
// that second whatever the signal period. A bucket that received no
// signal at all has no data, which is not the same as a value of 0.
type window struct {
	buckets []bucket
}

type bucket struct {
	sec int64
	sum float64
	has bool
}

func newWindow(span time.Duration) *window {
	n := int(span/time.Second) + 2
	return &window{buckets: make([]bucket, n)}
}

func (w *window) at(sec int64) *bucket {
	b := &w.buckets[int(uint64(sec)%uint64(len(w.buckets)))]
	if b.sec != sec {
		*b = bucket{sec: sec}
	}
	return b
}

// add records value held for period, ending at end: in the bucket of the
// period's middle when the period is a second or shorter (the routers'
// 250 ms signals), else spread over the seconds it covers (a collector's
// 10 s CPU sample), each getting its share of the integral.
func (w *window) add(end time.Time, value float64, period time.Duration) {
	if period <= time.Second {
		b := w.at(secondOf(end.Add(-period / 2)))
		b.sum += value * period.Seconds()
		b.has = true
		return
	}
	start := end.Add(-period)
	if max := time.Duration(len(w.buckets)-1) * time.Second; period > max {
		start = end.Add(-max) // older seconds are out of every window
	}
	for t := start; t.Before(end); {
		next := time.Unix(secondOf(t)+1, 0)
		if next.After(end) {
			next = end
		}
		b := w.at(secondOf(t))
		b.sum += value * next.Sub(t).Seconds()
		b.has = true
		t = next
	}
}

// mark records that a signal covered the second of t, even with no value.
func (w *window) mark(t time.Time, period time.Duration) {
	w.at(secondOf(t.Add(-period / 2))).has = true
}

// avg is the average per second over the seconds [from, to) that have
// data, and whether any had.
func (w *window) avg(from, to int64) (float64, bool) {
	if n := int64(len(w.buckets)) - 1; to-from > n {
		from = to - n
	}
	var sum float64
	var count int
	i := int(uint64(from) % uint64(len(w.buckets)))
	for sec := from; sec < to; sec++ {
		if b := &w.buckets[i]; b.sec == sec && b.has {
			sum += b.sum
			count++
		}
		if i++; i == len(w.buckets) {
			i = 0
		}
	}
	if count == 0 {
		return 0, false
	}
	return sum / float64(count), true
}

// grow returns a window of at least span that keeps w's data.
func (w *window) grow(span time.Duration) *window {
	if int(span/time.Second)+2 <= len(w.buckets) {
		return w
	}
	nw := newWindow(span)
	for _, b := range w.buckets {
		if b.has {
			*nw.at(b.sec) = b
		}
	}
	return nw
}

func secondOf(t time.Time) int64 { return t.Unix() }
