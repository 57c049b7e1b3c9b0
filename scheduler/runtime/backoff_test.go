package runtime

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	tests := []struct {
		name     string
		b        Backoff
		failures int
		want     time.Duration
	}{
		{"no failure launches at once", DefaultBackoff(), 0, 0},
		{"first failure waits backoffSeconds", DefaultBackoff(), 1, time.Second},
		{"second failure multiplies by the factor", DefaultBackoff(), 2, 1150 * time.Millisecond},
		{"third failure multiplies again", DefaultBackoff(), 3, 1322500 * time.Microsecond},
		{"tenth failure", DefaultBackoff(), 10, time.Duration(float64(time.Second) * 3.517876)},
		{"many failures stop at maxLaunchDelay", DefaultBackoff(), 100, 300 * time.Second},
		{"a huge count does not overflow", DefaultBackoff(), 1 << 30, 300 * time.Second},
		{"factor 1 keeps the delay constant", Backoff{Initial: 2 * time.Second, Factor: 1, MaxLaunchDelay: time.Minute}, 50, 2 * time.Second},
		{"factor 2 doubles", Backoff{Initial: time.Second, Factor: 2, MaxLaunchDelay: time.Minute}, 4, 8 * time.Second},
		{"cap below backoffSeconds wins", Backoff{Initial: 10 * time.Second, Factor: 2, MaxLaunchDelay: 5 * time.Second}, 1, 5 * time.Second},
		{"zero seconds never waits", Backoff{Initial: 0, Factor: 2, MaxLaunchDelay: time.Minute}, 5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.b.Delay(tt.failures)
			// Float rounding may differ by a nanosecond or so.
			if diff := got - tt.want; diff < -time.Microsecond || diff > time.Microsecond {
				t.Errorf("Delay(%d) = %v, want %v", tt.failures, got, tt.want)
			}
		})
	}
}

func TestBackoffValidate(t *testing.T) {
	tests := []struct {
		name string
		b    Backoff
		ok   bool
	}{
		{"marathon defaults", DefaultBackoff(), true},
		{"factor below one shrinks delays", Backoff{Initial: time.Second, Factor: 0.5, MaxLaunchDelay: time.Minute}, false},
		{"negative seconds", Backoff{Initial: -time.Second, Factor: 1, MaxLaunchDelay: time.Minute}, false},
		{"negative cap", Backoff{Initial: time.Second, Factor: 1, MaxLaunchDelay: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewBackoffTracker(tt.b)
			if (err == nil) != tt.ok {
				t.Errorf("NewBackoffTracker(%+v) error = %v, want ok=%v", tt.b, err, tt.ok)
			}
		})
	}
}

func TestBackoffTracker(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		op       string // allow, fail, ok
		key      string
		at       time.Duration // since t0
		wantOK   bool
		wantWait time.Duration
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"an instance never failed launches at once", []step{
			{op: "allow", key: "a", at: 0, wantOK: true},
		}},
		{"after one failure the next launch waits one second", []step{
			{op: "fail", key: "a", at: 0},
			{op: "allow", key: "a", at: 500 * time.Millisecond, wantOK: false, wantWait: 500 * time.Millisecond},
			{op: "allow", key: "a", at: time.Second, wantOK: true},
		}},
		{"delays grow with consecutive failures", []step{
			{op: "fail", key: "a", at: 0},
			{op: "fail", key: "a", at: time.Second},
			{op: "allow", key: "a", at: 2 * time.Second, wantOK: false, wantWait: 150 * time.Millisecond},
			{op: "allow", key: "a", at: 2150 * time.Millisecond, wantOK: true},
		}},
		{"success resets the delay", []step{
			{op: "fail", key: "a", at: 0},
			{op: "fail", key: "a", at: time.Second},
			{op: "ok", key: "a"},
			{op: "allow", key: "a", at: time.Second, wantOK: true},
			{op: "fail", key: "a", at: time.Second},
			{op: "allow", key: "a", at: 1999 * time.Millisecond, wantOK: false, wantWait: time.Millisecond},
		}},
		{"instances back off independently", []step{
			{op: "fail", key: "a", at: 0},
			{op: "allow", key: "b", at: 0, wantOK: true},
			{op: "allow", key: "a", at: 0, wantOK: false, wantWait: time.Second},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := NewBackoffTracker(DefaultBackoff())
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				switch s.op {
				case "fail":
					tr.Failed(s.key, now)
				case "ok":
					tr.Succeeded(s.key)
				case "allow":
					ok, wait := tr.Allow(s.key, now)
					if ok != s.wantOK || wait != s.wantWait {
						t.Errorf("step %d: Allow(%s, t0+%v) = %v, %v; want %v, %v", i, s.key, s.at, ok, wait, s.wantOK, s.wantWait)
					}
				}
			}
		})
	}
}
