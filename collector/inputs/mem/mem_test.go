package mem_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"testing"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	gomem "github.com/shirou/gopsutil/v4/mem"

	"github.com/swell-pipeline/swell/collector/collectortest"
	"github.com/swell-pipeline/swell/collector/inputs/mem"
)

// linuxIntFields are Telegraf's integer mem fields on Linux.
var linuxIntFields = []string{
	"active", "available", "buffered", "cached", "commit_limit", "committed_as",
	"dirty", "free", "high_free", "high_total", "huge_pages_free", "huge_page_size",
	"huge_pages_total", "inactive", "low_free", "low_total", "mapped", "page_tables",
	"shared", "slab", "sreclaimable", "sunreclaim", "swap_cached", "swap_free",
	"swap_total", "total", "used", "vmalloc_chunk", "vmalloc_total", "vmalloc_used",
	"write_back", "write_back_tmp",
}

func TestFields(t *testing.T) {
	tests := []struct {
		name     string
		vm       gomem.VirtualMemoryStat
		goos     string
		wantKeys []string
		want     map[string]any
	}{
		{
			name:     "linux has Telegraf's full set",
			vm:       gomem.VirtualMemoryStat{Total: 1000, Available: 250, Used: 600, Free: 100, Cached: 200},
			goos:     "linux",
			wantKeys: append(slices.Clone(linuxIntFields), "used_percent", "available_percent"),
			want:     map[string]any{"used_percent": 60.0, "available_percent": 25.0, "cached": uint64(200)},
		},
		{
			name:     "darwin has wired but not slab",
			vm:       gomem.VirtualMemoryStat{Total: 4, Available: 1, Used: 3, Wired: 1},
			goos:     "darwin",
			wantKeys: []string{"total", "available", "used", "used_percent", "available_percent", "active", "free", "inactive", "wired"},
			want:     map[string]any{"used_percent": 75.0, "wired": uint64(1)},
		},
		{
			name:     "zero total leaves out the percentages",
			vm:       gomem.VirtualMemoryStat{},
			goos:     "plan9",
			wantKeys: []string{"total", "available", "used"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mem.Fields(&tt.vm, tt.goos)
			var keys []string
			for k := range got {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			want := slices.Clone(tt.wantKeys)
			slices.Sort(want)
			if !slices.Equal(keys, want) {
				t.Errorf("fields %v, want %v", keys, want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

func TestGatherReturnsReadErrors(t *testing.T) {
	boom := errors.New("no meminfo")
	in := mem.NewWithReader(func(context.Context) (*gomem.VirtualMemoryStat, error) { return nil, boom }, "linux")
	if _, err := collectortest.Gather(t, in); !errors.Is(err, boom) {
		t.Fatalf("error = %v, want it to wrap %v", err, boom)
	}
}

func TestGatherOnThisHost(t *testing.T) {
	points, err := collectortest.Gather(t, mem.New())
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	if len(points) != 1 || points[0].Measurement != mem.Measurement {
		t.Fatalf("got %v, want one mem point", points)
	}
	p := points[0]
	collectortest.RequireTagKeys(t, p)
	kinds := map[string]lineprotocol.ValueKind{
		"total": lineprotocol.Int, "available": lineprotocol.Int, "used": lineprotocol.Int,
		"used_percent": lineprotocol.Float, "available_percent": lineprotocol.Float,
	}
	if runtime.GOOS == "linux" {
		for _, f := range linuxIntFields {
			kinds[f] = lineprotocol.Int
		}
	}
	collectortest.RequireFields(t, p, kinds)
	total, _ := p.Fields["total"].(int64)
	avail, _ := p.Fields["available"].(int64)
	if total <= 0 {
		t.Errorf("total = %d, want > 0", total)
	}
	if avail <= 0 || avail > total {
		t.Errorf("available = %d, want in (0, total=%d]", avail, total)
	}
	for _, f := range []string{"used_percent", "available_percent"} {
		if v, _ := p.Fields[f].(float64); v <= 0 || v > 100 {
			t.Errorf("%s = %v, want in (0,100]", f, v)
		}
	}
}
