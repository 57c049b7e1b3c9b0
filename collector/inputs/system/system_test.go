package system_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"testing"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/load"

	"github.com/swell-pipeline/swell/collector/collectortest"
	"github.com/swell-pipeline/swell/collector/inputs/system"
)

func fixedSources() system.Sources {
	return system.Sources{
		Load: func(context.Context) (*load.AvgStat, error) {
			return &load.AvgStat{Load1: 1.5, Load5: 1, Load15: 0.5}, nil
		},
		CPUs:   func(context.Context, bool) (int, error) { return 4, nil },
		Uptime: func(context.Context) (uint64, error) { return 3600, nil },
		Users: func(context.Context) ([]host.UserStat, error) {
			return []host.UserStat{{User: "ann"}, {User: "bob"}, {User: "ann"}}, nil
		},
	}
}

func TestGather(t *testing.T) {
	noUtmp := fixedSources()
	noUtmp.Users = func(context.Context) ([]host.UserStat, error) { return nil, os.ErrNotExist }
	boom := errors.New("boom")
	noLoad := fixedSources()
	noLoad.Load = func(context.Context) (*load.AvgStat, error) { return nil, boom }
	noUptime := fixedSources()
	noUptime.Uptime = func(context.Context) (uint64, error) { return 0, boom }

	tests := []struct {
		name    string
		src     system.Sources
		want    map[string]any
		absent  []string
		wantErr error
	}{
		{
			name: "all sources",
			src:  fixedSources(),
			want: map[string]any{"load1": 1.5, "load5": 1.0, "load15": 0.5, "n_cpus": int64(4),
				"uptime": int64(3600), "n_users": int64(3), "n_unique_users": int64(2)},
		},
		{
			name:   "no login records leaves out the user counts",
			src:    noUtmp,
			want:   map[string]any{"n_cpus": int64(4)},
			absent: []string{"n_users", "n_unique_users"},
		},
		{name: "load error fails the gather", src: noLoad, wantErr: boom},
		{name: "uptime error fails the gather", src: noUptime, wantErr: boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			points, err := collectortest.Gather(t, system.NewWithSources(tt.src, nil))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(points) != 1 {
				t.Fatalf("got %d points, want 1", len(points))
			}
			for k, v := range tt.want {
				if points[0].Fields[k] != v {
					t.Errorf("%s = %v (%T), want %v", k, points[0].Fields[k], points[0].Fields[k], v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := points[0].Fields[k]; ok {
					t.Errorf("field %s present", k)
				}
			}
		})
	}
}

func TestUnreadableLoginRecordsAreNotRetriedEveryGather(t *testing.T) {
	src := fixedSources()
	calls := 0
	src.Users = func(context.Context) ([]host.UserStat, error) {
		calls++
		return nil, os.ErrNotExist
	}
	in := system.NewWithSources(src, nil)
	for range 3 {
		points, err := collectortest.Gather(t, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(points) != 1 || points[0].Fields["load1"] != 1.5 {
			t.Fatalf("got %v, want the system point without users", points)
		}
	}
	if calls != 1 {
		t.Errorf("login records read %d times in three gathers, want once", calls)
	}
}

func TestGatherOnThisHost(t *testing.T) {
	points, err := collectortest.Gather(t, system.New(nil))
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	if len(points) != 1 || points[0].Measurement != system.Measurement {
		t.Fatalf("got %v, want one system point", points)
	}
	p := points[0]
	collectortest.RequireTagKeys(t, p)
	collectortest.RequireFields(t, p, map[string]lineprotocol.ValueKind{
		"load1": lineprotocol.Float, "load5": lineprotocol.Float, "load15": lineprotocol.Float,
		"n_cpus": lineprotocol.Int, "uptime": lineprotocol.Int,
	})
	if n := p.Fields["n_cpus"].(int64); n < int64(runtime.NumCPU()) {
		t.Errorf("n_cpus = %d, fewer than the %d this process may use", n, runtime.NumCPU())
	}
	if up := p.Fields["uptime"].(int64); up <= 0 {
		t.Errorf("uptime = %d, want > 0", up)
	}
	if _, ok := p.Fields["n_users"]; ok {
		collectortest.RequireFields(t, p, map[string]lineprotocol.ValueKind{"n_users": lineprotocol.Int, "n_unique_users": lineprotocol.Int})
	}
}
