package disk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/disk"

	"github.com/swell-pipeline/swell/collector"
)

// Measurement is the measurement this input writes.
const Measurement = "disk"

// DefaultIgnoreFS are the filesystem types skipped by default, Telegraf's
// list: memory-backed, image and union filesystems whose usage says nothing
// about disks. autofs is always skipped, since stat'ing it would trigger a
// mount.
var DefaultIgnoreFS = []string{"tmpfs", "devtmpfs", "devfs", "iso9660", "overlay", "aufs", "squashfs"}

// Config selects the mounts to report.
type Config struct {
	// MountPoints, when set, limits the input to these mount points.
	MountPoints []string
	// IgnoreFS skips mounts of these filesystem types.
	IgnoreFS []string
	// IgnoreMountOpts skips mounts that have any of these options
	// ("bind", "nosuid", …).
	IgnoreMountOpts []string
	// HostMountPrefix is where the host's root is mounted when the agent
	// runs in a container (HOST_MOUNT_PREFIX, e.g. /hostfs).
	HostMountPrefix string
	// Logger gets one debug line per mount that cannot be stat'ed.
	Logger *slog.Logger
}

// DefaultConfig is Telegraf's default: every mount except DefaultIgnoreFS,
// with the prefix from the HOST_MOUNT_PREFIX environment variable.
func DefaultConfig() Config {
	return Config{
		IgnoreFS:        slices.Clone(DefaultIgnoreFS),
		HostMountPrefix: os.Getenv("HOST_MOUNT_PREFIX"),
	}
}

// PartitionsFunc lists mounts; gopsutil's PartitionsWithContext in
// production.
type PartitionsFunc func(ctx context.Context, all bool) ([]disk.PartitionStat, error)

// UsageFunc stat's one mount; gopsutil's UsageWithContext in production.
type UsageFunc func(ctx context.Context, path string) (*disk.UsageStat, error)

// Disk is the disk input.
type Disk struct {
	cfg        Config
	log        *slog.Logger
	partitions PartitionsFunc
	usage      UsageFunc
}

var _ collector.Input = (*Disk)(nil)

// New returns a disk input reading the host's mounts.
func New(cfg Config) *Disk {
	return NewWithSources(cfg, disk.PartitionsWithContext, disk.UsageWithContext)
}

// NewWithSources returns a disk input that lists mounts and stat's them
// through the given functions; tests use it.
func NewWithSources(cfg Config, partitions PartitionsFunc, usage UsageFunc) *Disk {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Disk{cfg: cfg, log: log, partitions: partitions, usage: usage}
}

// Mount is a partition selected for reporting.
type Mount struct {
	disk.PartitionStat
	// StatPath is where to stat it: the mount point below HostMountPrefix.
	StatPath string
	// Path is the mount point as the host sees it, the `path` tag.
	Path string
}

// Select applies cfg's filters to the mounts, in order.
func Select(parts []disk.PartitionStat, cfg Config) []Mount {
	known := make(map[string]bool, len(parts))
	for _, p := range parts {
		known[p.Mountpoint] = true
	}
	prefix := cfg.HostMountPrefix
	var out []Mount
	for _, p := range parts {
		switch {
		case len(cfg.MountPoints) > 0 && !slices.Contains(cfg.MountPoints, p.Mountpoint):
			continue
		case p.Fstype == "autofs" || slices.Contains(cfg.IgnoreFS, p.Fstype):
			continue
		case slices.ContainsFunc(p.Opts, func(o string) bool { return slices.Contains(cfg.IgnoreMountOpts, o) }):
			continue
		}
		statPath := p.Mountpoint
		if prefix != "" && !strings.HasPrefix(p.Mountpoint, prefix) {
			statPath = filepath.Join(prefix, p.Mountpoint)
			// The same filesystem is listed under the prefix too; report
			// it once.
			if known[statPath] {
				continue
			}
		}
		out = append(out, Mount{
			PartitionStat: p,
			StatPath:      statPath,
			Path:          filepath.Join("/", strings.TrimPrefix(p.Mountpoint, prefix)),
		})
	}
	return out
}

// Gather reports one point per selected mount with a non-zero size. Mounts
// that cannot be stat'ed (gone, no permission) are skipped, as in Telegraf.
func (d *Disk) Gather(ctx context.Context, acc collector.Accumulator) error {
	parts, err := d.partitions(ctx, true)
	if err != nil {
		return fmt.Errorf("disk: list mounts: %w", err)
	}
	for _, m := range Select(parts, d.cfg) {
		// statfs cannot be interrupted; at least stop between mounts.
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("disk: stopped before %s: %w", m.Path, err)
		}
		u, err := d.usage(ctx, m.StatPath)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				d.log.Debug("disk: cannot stat mount; skipping it", "path", m.StatPath, "err", err)
			}
			continue
		}
		if u.Total == 0 {
			// Pseudo filesystems (proc, cgroup, …) have no size.
			continue
		}
		acc.AddFields(Measurement, Fields(u), map[string]string{
			"path":   m.Path,
			"device": strings.ReplaceAll(m.Device, "/dev/", ""),
			"fstype": m.Fstype,
			"mode":   Mode(m.Opts),
		}, time.Time{})
	}
	return nil
}

// Fields are Telegraf's disk fields. used_percent is used/(used+free), not
// used/total: the blocks reserved for root count as neither, as in df.
func Fields(u *disk.UsageStat) map[string]any {
	var usedPercent float64
	if u.Used+u.Free > 0 {
		usedPercent = 100 * float64(u.Used) / (float64(u.Used) + float64(u.Free))
	}
	return map[string]any{
		"total":        u.Total,
		"free":         u.Free,
		"used":         u.Used,
		"used_percent": usedPercent,
		"inodes_total": u.InodesTotal,
		"inodes_free":  u.InodesFree,
		"inodes_used":  u.InodesUsed,
	}
}

// Mode is the `mode` tag: rw, ro or unknown.
func Mode(opts []string) string {
	switch {
	case slices.Contains(opts, "rw"):
		return "rw"
	case slices.Contains(opts, "ro"):
		return "ro"
	}
	return "unknown"
}
