package diskio_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	godisk "github.com/shirou/gopsutil/v4/disk"

	"github.com/swell-pipeline/swell/collector/collectortest"
	"github.com/swell-pipeline/swell/collector/inputs/diskio"
)

var counterFields = []string{
	"reads", "writes", "read_bytes", "write_bytes", "read_time", "write_time",
	"io_time", "weighted_io_time", "iops_in_progress", "merged_reads", "merged_writes",
}

func TestDerived(t *testing.T) {
	prev := godisk.IOCountersStat{ReadCount: 100, WriteCount: 100, ReadTime: 1000, WriteTime: 1000, IoTime: 5000}
	tests := []struct {
		name    string
		cur     godisk.IOCountersStat
		elapsed time.Duration
		want    map[string]float64
	}{
		{
			name:    "ten I/Os in a busy second",
			cur:     godisk.IOCountersStat{ReadCount: 106, WriteCount: 104, ReadTime: 1030, WriteTime: 1020, IoTime: 5500},
			elapsed: time.Second,
			want:    map[string]float64{"io_await": 5, "io_svctm": 50, "io_util": 50},
		},
		{
			name:    "idle interval has utilisation but no per-I/O fields",
			cur:     prev,
			elapsed: 10 * time.Second,
			want:    map[string]float64{"io_util": 0},
		},
		{
			name:    "counter reset derives nothing",
			cur:     godisk.IOCountersStat{ReadCount: 1, WriteCount: 1},
			elapsed: time.Second,
			want:    map[string]float64{},
		},
		{
			name:    "no time passed gives no utilisation",
			cur:     godisk.IOCountersStat{ReadCount: 101, WriteCount: 100, ReadTime: 1002, WriteTime: 1000, IoTime: 5001},
			elapsed: 0,
			want:    map[string]float64{"io_await": 2, "io_svctm": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diskio.Derived(prev, tt.cur, tt.elapsed)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

// scripted returns successive samples and advances a fake clock by a second
// per read.
type scripted struct {
	samples []map[string]godisk.IOCountersStat
	now     time.Time
}

func (s *scripted) read(context.Context, ...string) (map[string]godisk.IOCountersStat, error) {
	next := s.samples[0]
	s.samples = s.samples[1:]
	s.now = s.now.Add(time.Second)
	return next, nil
}

func (s *scripted) clock() time.Time { return s.now }

func TestGatherFiltersDevicesAndDerivesAfterPriming(t *testing.T) {
	sample := func(n uint64) map[string]godisk.IOCountersStat {
		return map[string]godisk.IOCountersStat{
			"sda":   {Name: "sda", ReadCount: n, IoTime: n * 100},
			"sda1":  {Name: "sda1", ReadCount: n},
			"vdb":   {Name: "vdb", WriteCount: n},
			"loop0": {Name: "loop0", ReadCount: n},
		}
	}
	s := &scripted{samples: []map[string]godisk.IOCountersStat{sample(1), sample(3)}}
	in, err := diskio.NewWithSource(diskio.Config{Devices: []string{"/dev/sda", "vd*"}}, s.read, s.clock)
	if err != nil {
		t.Fatal(err)
	}
	points, err := collectortest.Gather(t, in)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]collectortest.Point{}
	for _, p := range points {
		collectortest.RequireTagKeys(t, p, "name")
		got[p.Tags["name"]] = p
	}
	if len(got) != 2 || got["sda"].Fields == nil || got["vdb"].Fields == nil {
		t.Fatalf("devices %v, want sda and vdb", got)
	}
	if v := got["sda"].Fields["io_util"]; v != 20.0 {
		t.Errorf("sda io_util = %v, want 20 (200ms busy in 1s)", v)
	}
	if v := got["sda"].Fields["io_svctm"]; v != 100.0 {
		t.Errorf("sda io_svctm = %v, want 100", v)
	}
}

func TestNewRejectsBadPattern(t *testing.T) {
	if _, err := diskio.New(diskio.Config{Devices: []string{"sd["}}); err == nil || !strings.Contains(err.Error(), `"sd["`) {
		t.Fatalf("error = %v, want one naming the bad pattern", err)
	}
}

func TestGatherReturnsReadErrors(t *testing.T) {
	boom := errors.New("no diskstats")
	in, err := diskio.NewWithSource(diskio.Config{}, func(context.Context, ...string) (map[string]godisk.IOCountersStat, error) {
		return nil, boom
	}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collectortest.Gather(t, in); !errors.Is(err, boom) {
		t.Fatalf("error = %v, want it to wrap %v", err, boom)
	}
}

func TestGatherOnThisHost(t *testing.T) {
	if _, err := os.Stat("/proc/diskstats"); err != nil {
		t.Skipf("no /proc/diskstats here (%v); diskio is Linux-only", err)
	}
	in, err := diskio.New(diskio.Config{})
	if err != nil {
		t.Fatal(err)
	}
	points, err := collectortest.Gather(t, in)
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	if len(points) == 0 {
		t.Fatal("no diskio points, yet /proc/diskstats exists")
	}
	kinds := map[string]lineprotocol.ValueKind{}
	for _, f := range counterFields {
		kinds[f] = lineprotocol.Int
	}
	for _, p := range points {
		if p.Measurement != diskio.Measurement {
			t.Fatalf("unexpected measurement %q", p.Measurement)
		}
		collectortest.RequireTagKeys(t, p, "name")
		collectortest.RequireFields(t, p, kinds)
		// Primed, so every device has a utilisation, a share of time.
		collectortest.RequireFields(t, p, map[string]lineprotocol.ValueKind{"io_util": lineprotocol.Float})
		if u := p.Fields["io_util"].(float64); u < 0 || u > 110 { // sampling jitter can push a busy device a little over 100
			t.Errorf("%s io_util = %v", p.Tags["name"], u)
		}
	}
}
