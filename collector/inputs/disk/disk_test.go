package disk_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	godisk "github.com/shirou/gopsutil/v4/disk"

	"github.com/swell-pipeline/swell/collector/collectortest"
	"github.com/swell-pipeline/swell/collector/inputs/disk"
)

func part(dev, mp, fs string, opts ...string) godisk.PartitionStat {
	return godisk.PartitionStat{Device: dev, Mountpoint: mp, Fstype: fs, Opts: opts}
}

func TestSelect(t *testing.T) {
	parts := []godisk.PartitionStat{
		part("/dev/sda1", "/", "ext4", "rw", "relatime"),
		part("tmpfs", "/run", "tmpfs", "rw"),
		part("overlay", "/var/lib/docker/overlay2/x/merged", "overlay", "rw"),
		part("systemd-1", "/home", "autofs", "rw"),
		part("/dev/sdb1", "/home", "xfs", "rw"),
		part("/dev/sda1", "/etc/hosts", "ext4", "rw", "bind"),
		part("/dev/sr0", "/media/cd", "iso9660", "ro"),
	}
	tests := []struct {
		name string
		cfg  disk.Config
		want []string // Path:StatPath
	}{
		{
			name: "default skips pseudo filesystems and autofs",
			cfg:  disk.Config{IgnoreFS: disk.DefaultIgnoreFS},
			want: []string{"/:/", "/home:/home", "/etc/hosts:/etc/hosts"},
		},
		{
			name: "nothing ignored still skips autofs",
			cfg:  disk.Config{},
			want: []string{"/:/", "/run:/run", "/var/lib/docker/overlay2/x/merged:/var/lib/docker/overlay2/x/merged", "/home:/home", "/etc/hosts:/etc/hosts", "/media/cd:/media/cd"},
		},
		{
			name: "mount points limit the set",
			cfg:  disk.Config{MountPoints: []string{"/", "/media/cd"}, IgnoreFS: disk.DefaultIgnoreFS},
			want: []string{"/:/"},
		},
		{
			name: "mount options exclude bind mounts",
			cfg:  disk.Config{IgnoreFS: disk.DefaultIgnoreFS, IgnoreMountOpts: []string{"bind"}},
			want: []string{"/:/", "/home:/home"},
		},
		{
			name: "host mount prefix is stat'ed below and stripped from the path",
			cfg:  disk.Config{IgnoreFS: disk.DefaultIgnoreFS, HostMountPrefix: "/hostfs", MountPoints: []string{"/", "/home"}},
			want: []string{"/:/hostfs", "/home:/hostfs/home"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, m := range disk.Select(parts, tt.cfg) {
				got = append(got, m.Path+":"+m.StatPath)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("selected %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSelectReportsPrefixedDuplicatesOnce(t *testing.T) {
	parts := []godisk.PartitionStat{
		part("/dev/sda1", "/", "ext4", "rw"),
		part("/dev/sda1", "/hostfs", "ext4", "ro"),
	}
	var got []string
	for _, m := range disk.Select(parts, disk.Config{HostMountPrefix: "/hostfs"}) {
		got = append(got, m.Path+":"+m.StatPath)
	}
	if want := []string{"/:/hostfs"}; !slices.Equal(got, want) {
		t.Errorf("selected %v, want %v", got, want)
	}
}

func TestMode(t *testing.T) {
	tests := []struct {
		opts []string
		want string
	}{
		{[]string{"rw", "relatime"}, "rw"},
		{[]string{"nosuid", "ro"}, "ro"},
		{nil, "unknown"},
	}
	for _, tt := range tests {
		if got := disk.Mode(tt.opts); got != tt.want {
			t.Errorf("Mode(%v) = %q, want %q", tt.opts, got, tt.want)
		}
	}
}

func TestUsedPercentIgnoresReservedBlocks(t *testing.T) {
	f := disk.Fields(&godisk.UsageStat{Total: 100, Used: 30, Free: 60})
	if got := f["used_percent"].(float64); got != 100*30.0/90 {
		t.Errorf("used_percent = %v, want used/(used+free) = %v", got, 100*30.0/90)
	}
	if got := disk.Fields(&godisk.UsageStat{})["used_percent"].(float64); got != 0 {
		t.Errorf("used_percent of an empty filesystem = %v, want 0", got)
	}
}

func TestGatherSkipsUnreadableAndSizelessMounts(t *testing.T) {
	parts := func(context.Context, bool) ([]godisk.PartitionStat, error) {
		return []godisk.PartitionStat{
			part("/dev/sda1", "/", "ext4", "rw"),
			part("proc", "/proc", "proc", "rw"),
			part("nfs:/export", "/mnt/nfs", "nfs", "ro"),
		}, nil
	}
	usage := func(_ context.Context, path string) (*godisk.UsageStat, error) {
		switch path {
		case "/":
			return &godisk.UsageStat{Total: 100, Used: 40, Free: 60, InodesTotal: 10, InodesFree: 7, InodesUsed: 3}, nil
		case "/proc":
			return &godisk.UsageStat{}, nil
		}
		return nil, errors.New("stale file handle")
	}
	points, err := collectortest.Gather(t, disk.NewWithSources(disk.DefaultConfig(), parts, usage))
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 1 {
		t.Fatalf("got %d points, want only /: %v", len(points), points)
	}
	p := points[0]
	want := map[string]string{"path": "/", "device": "sda1", "fstype": "ext4", "mode": "rw"}
	for k, v := range want {
		if p.Tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, p.Tags[k], v)
		}
	}
	if p.Fields["used_percent"] != 40.0 || p.Fields["inodes_used"] != int64(3) {
		t.Errorf("fields %v", p.Fields)
	}
}

func TestGatherReturnsListErrors(t *testing.T) {
	boom := errors.New("no mountinfo")
	in := disk.NewWithSources(disk.Config{}, func(context.Context, bool) ([]godisk.PartitionStat, error) { return nil, boom }, nil)
	if _, err := collectortest.Gather(t, in); !errors.Is(err, boom) {
		t.Fatalf("error = %v, want it to wrap %v", err, boom)
	}
}

func TestGatherOnThisHost(t *testing.T) {
	if os.Getenv("HOST_MOUNT_PREFIX") != "" {
		t.Skip("HOST_MOUNT_PREFIX is set; this test checks the plain host view")
	}
	points, err := collectortest.Gather(t, disk.New(disk.DefaultConfig()))
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var root bool
	for _, p := range points {
		if p.Measurement != disk.Measurement {
			t.Fatalf("unexpected measurement %q", p.Measurement)
		}
		collectortest.RequireTagKeys(t, p, "path", "device", "fstype", "mode")
		collectortest.RequireFields(t, p, map[string]lineprotocol.ValueKind{
			"total": lineprotocol.Int, "free": lineprotocol.Int, "used": lineprotocol.Int,
			"used_percent": lineprotocol.Float, "inodes_total": lineprotocol.Int,
			"inodes_free": lineprotocol.Int, "inodes_used": lineprotocol.Int,
		})
		if slices.Contains(disk.DefaultIgnoreFS, p.Tags["fstype"]) {
			t.Errorf("%s has ignored fstype %s", p.Tags["path"], p.Tags["fstype"])
		}
		if v := p.Fields["used_percent"].(float64); v < 0 || v > 100 {
			t.Errorf("%s used_percent = %v", p.Tags["path"], v)
		}
		if p.Fields["total"].(int64) <= 0 {
			t.Errorf("%s total = %v", p.Tags["path"], p.Fields["total"])
		}
		root = root || p.Tags["path"] == "/"
	}
	// Where / is a reportable filesystem (not overlay, as in a container),
	// it must be there.
	parts, err := godisk.PartitionsWithContext(t.Context(), true)
	if err != nil {
		t.Fatal(err)
	}
	wantRoot := slices.ContainsFunc(disk.Select(parts, disk.DefaultConfig()), func(m disk.Mount) bool { return m.Path == "/" })
	if wantRoot && !root {
		t.Errorf("no point for / among %d points", len(points))
	}
	if !wantRoot {
		t.Logf("/ is not reportable here; checked %d other mounts", len(points))
	}
}
