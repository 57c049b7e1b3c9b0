package health

import (
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	check := Check{Protocol: HTTP, GracePeriod: 30 * time.Second, Interval: 5 * time.Second, Timeout: 2 * time.Second, MaxConsecutiveFailures: 3}
	type step struct {
		at          time.Duration // since the instance started
		status      Status
		healthy     bool
		failures    int
		kill        bool
		inGrace     bool
		reasonAdded string
	}
	tests := []struct {
		name  string
		check func(Check) Check
		steps []step
	}{
		{"a pass makes the instance healthy", nil, []step{
			{at: time.Second, status: Pass, healthy: true},
		}},
		{"failures in the grace period are not counted", nil, []step{
			{at: 5 * time.Second, status: Fail, inGrace: true, reasonAdded: " (ignored: in grace period)"},
			{at: 10 * time.Second, status: Fail, inGrace: true},
			{at: 29 * time.Second, status: Fail, inGrace: true},
			{at: 30 * time.Second, status: Fail, failures: 1},
		}},
		{"the grace period ends at the first pass", nil, []step{
			{at: 5 * time.Second, status: Pass, healthy: true},
			{at: 10 * time.Second, status: Fail, failures: 1},
			{at: 15 * time.Second, status: Fail, failures: 2},
		}},
		{"maxConsecutiveFailures failures in a row mean kill", nil, []step{
			{at: time.Second, status: Pass, healthy: true},
			{at: 2 * time.Second, status: Fail, failures: 1},
			{at: 3 * time.Second, status: Fail, failures: 2},
			{at: 4 * time.Second, status: Fail, failures: 3, kill: true},
			{at: 5 * time.Second, status: Fail, failures: 4, kill: true},
		}},
		{"a pass resets the count", nil, []step{
			{at: 31 * time.Second, status: Fail, failures: 1},
			{at: 32 * time.Second, status: Fail, failures: 2},
			{at: 33 * time.Second, status: Pass, healthy: true},
			{at: 34 * time.Second, status: Fail, failures: 1},
		}},
		{"maxConsecutiveFailures 0 never kills", func(c Check) Check { c.MaxConsecutiveFailures = 0; return c }, []step{
			{at: 31 * time.Second, status: Fail, failures: 1},
			{at: 32 * time.Second, status: Fail, failures: 2},
			{at: 33 * time.Second, status: Fail, failures: 3},
			{at: 34 * time.Second, status: Fail, failures: 4},
		}},
		{"an ignored answer keeps a healthy instance healthy", nil, []step{
			{at: time.Second, status: Pass, healthy: true},
			{at: 2 * time.Second, status: Ignored, healthy: true, reasonAdded: " (ignored)"},
		}},
		{"an ignored answer neither counts nor resets failures", nil, []step{
			{at: 31 * time.Second, status: Fail, failures: 1},
			{at: 32 * time.Second, status: Ignored, failures: 1},
			{at: 33 * time.Second, status: Fail, failures: 2},
		}},
		{"no grace period counts the first failure", func(c Check) Check { c.GracePeriod = 0; return c }, []step{
			{at: 0, status: Fail, failures: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := check
			if tt.check != nil {
				c = tt.check(c)
			}
			tr := NewTracker("web.1", c, t0)
			for i, s := range tt.steps {
				r := tr.Observe(Outcome{Status: s.status, Reason: "why"}, t0.Add(s.at))
				if r.Healthy != s.healthy || r.ConsecutiveFailures != s.failures || r.Kill != s.kill || r.InGrace != s.inGrace {
					t.Errorf("step %d (%s at +%v): healthy %v failures %d kill %v inGrace %v; want %v %d %v %v",
						i, s.status, s.at, r.Healthy, r.ConsecutiveFailures, r.Kill, r.InGrace, s.healthy, s.failures, s.kill, s.inGrace)
				}
				if s.reasonAdded != "" && r.Reason != "why"+s.reasonAdded {
					t.Errorf("step %d: reason %q, want %q", i, r.Reason, "why"+s.reasonAdded)
				}
				if r.Instance != "web.1" || !r.At.Equal(t0.Add(s.at)) {
					t.Errorf("step %d: instance %q at %v", i, r.Instance, r.At)
				}
			}
		})
	}
}

func TestCheckValidate(t *testing.T) {
	ok := Check{Protocol: HTTP, Interval: time.Second, Timeout: time.Second}
	tests := []struct {
		name  string
		c     func(Check) Check
		ports int
		valid bool
	}{
		{"http on port 0 of one", func(c Check) Check { return c }, 1, true},
		{"port index beyond the ports", func(c Check) Check { c.PortIndex = 1; return c }, 1, false},
		{"tcp without ports", func(c Check) Check { c.Protocol = TCP; return c }, 0, false},
		{"command needs no port", func(c Check) Check { c.Protocol = COMMAND; c.Command = []string{"/bin/true"}; return c }, 0, true},
		{"command without argv", func(c Check) Check { c.Protocol = COMMAND; return c }, 0, false},
		{"unknown protocol", func(c Check) Check { c.Protocol = "MESOS_HTTP"; return c }, 1, false},
		{"zero interval", func(c Check) Check { c.Interval = 0; return c }, 1, false},
		{"zero timeout", func(c Check) Check { c.Timeout = 0; return c }, 1, false},
		{"negative max failures", func(c Check) Check { c.MaxConsecutiveFailures = -1; return c }, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c(ok).Validate(tt.ports)
			if (err == nil) != tt.valid {
				t.Errorf("Validate = %v, want valid=%v", err, tt.valid)
			}
		})
	}
}
