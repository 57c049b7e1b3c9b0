package diskio

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/disk"

	"github.com/swell-pipeline/swell/collector"
)

// Measurement is the measurement this input writes.
const Measurement = "diskio"

// Config selects the devices to report.
type Config struct {
	// Devices, when set, limits the input to devices whose name ("sda",
	// "nvme0n1") matches one of these names or glob patterns ("vd*"). A
	// "/dev/" prefix is ignored.
	Devices []string
}

// IOCountersFunc reads the devices' counters; gopsutil's
// IOCountersWithContext in production.
type IOCountersFunc func(ctx context.Context, names ...string) (map[string]disk.IOCountersStat, error)

// DiskIO is the diskio input. It keeps the previous sample to derive
// io_await, io_svctm and io_util, so one value serves one collector.
type DiskIO struct {
	patterns []string
	read     IOCountersFunc
	now      func() time.Time

	mu       sync.Mutex
	last     map[string]disk.IOCountersStat
	lastTime time.Time
}

var (
	_ collector.Input  = (*DiskIO)(nil)
	_ collector.Primer = (*DiskIO)(nil)
)

// New returns a diskio input reading the host's block devices.
func New(cfg Config) (*DiskIO, error) {
	return NewWithSource(cfg, disk.IOCountersWithContext, time.Now)
}

// NewWithSource returns a diskio input reading counters through read and
// time through now; tests use it.
func NewWithSource(cfg Config, read IOCountersFunc, now func() time.Time) (*DiskIO, error) {
	var patterns []string
	for _, d := range cfg.Devices {
		p := strings.TrimPrefix(d, "/dev/")
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("diskio: device pattern %q: %w", d, err)
		}
		patterns = append(patterns, p)
	}
	return &DiskIO{patterns: patterns, read: read, now: now}, nil
}

// Prime takes the first sample, so that the next Gather derives rates.
func (d *DiskIO) Prime(ctx context.Context) error {
	stats, err := d.read(ctx)
	if err != nil {
		return fmt.Errorf("diskio: read counters: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last, d.lastTime = stats, d.now()
	return nil
}

// Gather reports one point per selected device.
func (d *DiskIO) Gather(ctx context.Context, acc collector.Accumulator) error {
	stats, err := d.read(ctx)
	if err != nil {
		return fmt.Errorf("diskio: read counters: %w", err)
	}
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, cur := range stats {
		if !d.selected(name) {
			continue
		}
		fields := Fields(cur)
		if prev, ok := d.last[name]; ok {
			for k, v := range Derived(prev, cur, now.Sub(d.lastTime)) {
				fields[k] = v
			}
		}
		acc.AddFields(Measurement, fields, map[string]string{"name": name}, time.Time{})
	}
	d.last, d.lastTime = stats, now
	return nil
}

func (d *DiskIO) selected(name string) bool {
	if len(d.patterns) == 0 {
		return true
	}
	for _, p := range d.patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// Fields are Telegraf's cumulative diskio fields; times are milliseconds.
func Fields(s disk.IOCountersStat) map[string]any {
	return map[string]any{
		"reads":            s.ReadCount,
		"writes":           s.WriteCount,
		"read_bytes":       s.ReadBytes,
		"write_bytes":      s.WriteBytes,
		"read_time":        s.ReadTime,
		"write_time":       s.WriteTime,
		"io_time":          s.IoTime,
		"weighted_io_time": s.WeightedIO,
		"iops_in_progress": s.IopsInProgress,
		"merged_reads":     s.MergedReadCount,
		"merged_writes":    s.MergedWriteCount,
	}
}

// Derived returns the fields Telegraf computes between two samples taken
// elapsed apart: io_await (ms per I/O, queueing included), io_svctm (ms of
// device time per I/O) and io_util (percent of the time the device was
// busy). Nothing is derived when a counter went backwards (device reset);
// the per-I/O fields need at least one I/O.
func Derived(prev, cur disk.IOCountersStat, elapsed time.Duration) map[string]any {
	if cur.ReadCount < prev.ReadCount || cur.WriteCount < prev.WriteCount ||
		cur.ReadTime < prev.ReadTime || cur.WriteTime < prev.WriteTime || cur.IoTime < prev.IoTime {
		return nil
	}
	ios := float64(cur.ReadCount-prev.ReadCount) + float64(cur.WriteCount-prev.WriteCount)
	ioWait := float64(cur.ReadTime-prev.ReadTime) + float64(cur.WriteTime-prev.WriteTime)
	busy := float64(cur.IoTime - prev.IoTime)
	fields := map[string]any{}
	if ios > 0 {
		fields["io_await"] = ioWait / ios
		fields["io_svctm"] = busy / ios
	}
	if ms := float64(elapsed.Milliseconds()); ms > 0 {
		fields["io_util"] = 100 * busy / ms
	}
	return fields
}
