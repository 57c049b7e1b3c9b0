package cpu_test

import (
	"context"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	gocpu "github.com/shirou/gopsutil/v4/cpu"

	"github.com/swell-pipeline/swell/collector/collectortest"
	"github.com/swell-pipeline/swell/collector/inputs/cpu"
)

var usageFields = []string{
	"usage_user", "usage_system", "usage_idle", "usage_nice", "usage_iowait",
	"usage_irq", "usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice",
}

func TestUsage(t *testing.T) {
	base := gocpu.TimesStat{CPU: "cpu0", User: 100, System: 50, Idle: 800, Nice: 10, Iowait: 20, Irq: 5, Softirq: 5, Steal: 10, Guest: 30, GuestNice: 2}
	tests := []struct {
		name    string
		cur     func(t gocpu.TimesStat) gocpu.TimesStat
		active  bool
		want    map[string]float64
		wantErr string
	}{
		{
			name: "all idle",
			cur:  func(t gocpu.TimesStat) gocpu.TimesStat { t.Idle += 10; return t },
			want: map[string]float64{"usage_idle": 100, "usage_user": 0, "usage_system": 0},
		},
		{
			name: "user and system split",
			cur: func(t gocpu.TimesStat) gocpu.TimesStat {
				t.User += 3
				t.System += 1
				t.Idle += 4
				return t
			},
			want: map[string]float64{"usage_user": 37.5, "usage_system": 12.5, "usage_idle": 50},
		},
		{
			name: "guest time is taken out of user and reported once",
			cur: func(t gocpu.TimesStat) gocpu.TimesStat {
				t.User += 6 // includes 4 of guest
				t.Guest += 4
				t.Idle += 4
				return t
			},
			want: map[string]float64{"usage_user": 20, "usage_guest": 40, "usage_idle": 40},
		},
		{
			name: "guest nice is taken out of nice",
			cur: func(t gocpu.TimesStat) gocpu.TimesStat {
				t.Nice += 5
				t.GuestNice += 5
				t.Idle += 5
				return t
			},
			want: map[string]float64{"usage_nice": 0, "usage_guest_nice": 50, "usage_idle": 50},
		},
		{
			name:   "active is everything but idle",
			active: true,
			cur: func(t gocpu.TimesStat) gocpu.TimesStat {
				t.Iowait += 1
				t.Steal += 1
				t.Idle += 2
				return t
			},
			want: map[string]float64{"usage_active": 50, "usage_iowait": 25, "usage_steal": 25},
		},
		{
			name: "no time passed gives no fields",
			cur:  func(t gocpu.TimesStat) gocpu.TimesStat { return t },
			want: nil,
		},
		{
			name:    "counters going backwards is an error",
			cur:     func(t gocpu.TimesStat) gocpu.TimesStat { t.Idle -= 100; return t },
			wantErr: "went backwards",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cpu.Usage(base, tt.cur(base), tt.active)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if len(got) != 0 {
					t.Fatalf("got fields %v, want none", got)
				}
				return
			}
			for _, f := range usageFields {
				if _, ok := got[f]; !ok {
					t.Errorf("missing %s", f)
				}
			}
			if _, ok := got["usage_active"]; ok != tt.active {
				t.Errorf("usage_active present = %v, want %v", ok, tt.active)
			}
			for k, v := range tt.want {
				if g := got[k].(float64); math.Abs(g-v) > 1e-9 {
					t.Errorf("%s = %v, want %v", k, g, v)
				}
			}
		})
	}
}

// scriptedTimes returns successive samples, one per call for each of
// per-CPU and total.
type scriptedTimes struct {
	per, total [][]gocpu.TimesStat
	err        error
}

func (s *scriptedTimes) times(_ context.Context, perCPU bool) ([]gocpu.TimesStat, error) {
	if s.err != nil {
		return nil, s.err
	}
	q := &s.total
	if perCPU {
		q = &s.per
	}
	next := (*q)[0]
	*q = (*q)[1:]
	return append([]gocpu.TimesStat(nil), next...), nil
}

func TestGatherReportsUsageFromTheSecondGatherOn(t *testing.T) {
	s := &scriptedTimes{
		per: [][]gocpu.TimesStat{
			{{CPU: "cpu0", User: 1, Idle: 1}, {CPU: "cpu1", User: 1, Idle: 1}},
			{{CPU: "cpu0", User: 2, Idle: 2}, {CPU: "cpu1", User: 1, Idle: 3}},
		},
		total: [][]gocpu.TimesStat{
			{{CPU: "cpu-total", User: 2, Idle: 2}},
			{{CPU: "cpu-total", User: 3, Idle: 5}},
		},
	}
	in, err := cpu.NewWithTimes(cpu.DefaultConfig(), s.times)
	if err != nil {
		t.Fatal(err)
	}
	first, err := collectortest.Gather(t, in) // primes (1st sample), then gathers (2nd)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, p := range first {
		collectortest.RequireTagKeys(t, p, "cpu")
		if _, ok := p.Fields["time_user"]; ok {
			t.Errorf("time fields reported without CollectCPUTime: %v", p.Fields)
		}
		got[p.Tags["cpu"]] = p.Fields["usage_user"].(float64)
	}
	want := map[string]float64{"cpu0": 50, "cpu1": 0, "cpu-total": 25}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("usage_user of %s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

func TestFirstGatherWithoutTimesReportsNothing(t *testing.T) {
	s := &scriptedTimes{
		per:   [][]gocpu.TimesStat{{{CPU: "cpu0", User: 1, Idle: 1}}},
		total: [][]gocpu.TimesStat{{{CPU: "cpu-total", User: 1, Idle: 1}}},
	}
	in, err := cpu.NewWithTimes(cpu.DefaultConfig(), s.times)
	if err != nil {
		t.Fatal(err)
	}
	acc := &countingAcc{}
	if err := in.Gather(t.Context(), acc); err != nil {
		t.Fatal(err)
	}
	if acc.points != 0 {
		t.Fatalf("first gather added %d points, want none (no previous sample)", acc.points)
	}
}

func TestCollectCPUTimeReportsTimesOnFirstGather(t *testing.T) {
	s := &scriptedTimes{total: [][]gocpu.TimesStat{{{CPU: "cpu-total", User: 10, System: 5, Idle: 85}}}}
	in, err := cpu.NewWithTimes(cpu.Config{TotalCPU: true, CollectCPUTime: true, ReportActive: true}, s.times)
	if err != nil {
		t.Fatal(err)
	}
	acc := &countingAcc{}
	if err := in.Gather(t.Context(), acc); err != nil {
		t.Fatal(err)
	}
	if acc.points != 1 || acc.last["time_user"] != 10.0 || acc.last["time_active"] != 15.0 {
		t.Fatalf("got %d points, last %v; want one with time_user=10, time_active=15", acc.points, acc.last)
	}
}

func TestGatherReturnsReadErrors(t *testing.T) {
	boom := errors.New("no /proc/stat")
	in, err := cpu.NewWithTimes(cpu.DefaultConfig(), (&scriptedTimes{err: boom}).times)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Gather(t.Context(), &countingAcc{}); !errors.Is(err, boom) {
		t.Fatalf("Gather error = %v, want it to wrap %v", err, boom)
	}
}

func TestNewRejectsConfigThatReportsNothing(t *testing.T) {
	if _, err := cpu.New(cpu.Config{}); err == nil {
		t.Fatal("New accepted a config with neither PerCPU nor TotalCPU")
	}
}

func TestGatherOnThisHost(t *testing.T) {
	in, err := cpu.New(cpu.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	points, err := collectortest.Gather(t, in)
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	kinds := map[string]lineprotocol.ValueKind{}
	for _, f := range usageFields {
		kinds[f] = lineprotocol.Float
	}
	seen := map[string]bool{}
	for _, p := range collectortest.Filter(points, cpu.Measurement) {
		seen[p.Tags["cpu"]] = true
		collectortest.RequireTagKeys(t, p, "cpu")
		collectortest.RequireFields(t, p, kinds)
		sum := 0.0
		for _, f := range usageFields {
			v, _ := p.Fields[f].(float64)
			if v < 0 || v > 100 {
				t.Errorf("%s %s = %v, outside [0,100]", p.Tags["cpu"], f, v)
			}
			sum += v
		}
		// Guest time is inside user and nice in the kernel's total, so the
		// fields add up to 100 only with it counted once.
		if math.Abs(sum-100) > 0.01 {
			t.Errorf("%s: usage fields add up to %v, want 100", p.Tags["cpu"], sum)
		}
	}
	if !seen[cpu.TotalTag] {
		t.Errorf("no %s point; got cpus %v", cpu.TotalTag, seen)
	}
	if n := len(seen) - 1; n < runtime.NumCPU() {
		t.Errorf("got %d per-CPU points for %d CPUs", n, runtime.NumCPU())
	}
}

// countingAcc is a minimal Accumulator for calling Gather directly.
type countingAcc struct {
	points int
	last   map[string]any
}

func (a *countingAcc) AddFields(_ string, fields map[string]any, _ map[string]string, _ time.Time) {
	a.points++
	a.last = fields
}

func (a *countingAcc) AddError(error) {}
