package notify

import (
	"time"
)

// RateLimit is a token bucket: Burst notifications at once, refilled at
// Per/Burst intervals. DingTalk's 20 messages a minute per robot is
// {Burst: 20, Per: time.Minute}. The zero value means unlimited.
type RateLimit struct {
	Burst int
	Per   time.Duration
}

// bucket is the token bucket state; the pipeline guards it with its mutex.
type bucket struct {
	limit  RateLimit
	tokens float64
	last   time.Time
}

func newBucket(l RateLimit, now time.Time) *bucket {
	return &bucket{limit: l, tokens: float64(l.Burst), last: now}
}

func (b *bucket) unlimited() bool { return b.limit.Burst <= 0 || b.limit.Per <= 0 }

func (b *bucket) refill(now time.Time) {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(float64(b.limit.Burst), b.tokens+elapsed.Seconds()*b.rate())
	}
	b.last = now
}

// rate is tokens per second.
func (b *bucket) rate() float64 { return float64(b.limit.Burst) / b.limit.Per.Seconds() }

// take spends one token if there is one.
func (b *bucket) take(now time.Time) bool {
	if b.unlimited() {
		return true
	}
	b.refill(now)
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// wait is how long until one token is available.
func (b *bucket) wait(now time.Time) time.Duration {
	if b.unlimited() {
		return 0
	}
	b.refill(now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate() * float64(time.Second))
}

// fold merges notifications held back by the rate limit into one digest.
// The latest state of each alert wins (by fingerprint), so an alert that
// fired and resolved while held back is reported once, as resolved.
func fold(receiver string, held []Notification) Notification {
	var order []string
	latest := map[string]Alert{}
	folded := 0
	for _, n := range held {
		folded += max(n.Folded, 1)
		for _, a := range n.Alerts {
			key := a.Fingerprint
			if key == "" {
				key = pairsKey(a.Labels)
			}
			if _, seen := latest[key]; !seen {
				order = append(order, key)
			}
			latest[key] = a
		}
	}
	alerts := make([]Alert, 0, len(order))
	for _, k := range order {
		alerts = append(alerts, latest[k])
	}
	d := NewNotification(receiver, "digest/"+receiver, nil, alerts)
	if len(held) > 0 {
		d.ExternalURL = held[len(held)-1].ExternalURL
	}
	d.Folded = folded
	return d
}

func pairsKey(m map[string]string) string {
	return Funcs(LangEN)["pairs"].(func(map[string]string) string)(m)
}
