package cpu

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"

	"github.com/swell-pipeline/swell/collector"
)

// Measurement is the measurement this input writes.
const Measurement = "cpu"

// TotalTag is the `cpu` tag value of the all-CPUs point.
const TotalTag = "cpu-total"

// Config selects what the input reports. The zero value reports nothing;
// start from DefaultConfig.
type Config struct {
	// PerCPU reports one point per logical CPU (tag cpu=cpu0, cpu1, …).
	PerCPU bool
	// TotalCPU reports the sum over all CPUs (tag cpu=cpu-total).
	TotalCPU bool
	// CollectCPUTime adds the cumulative time_* fields, in seconds.
	CollectCPUTime bool
	// ReportActive adds usage_active (and time_active): everything but
	// idle.
	ReportActive bool
}

// DefaultConfig matches Telegraf's defaults: per-CPU and total usage
// percentages, no raw times, no active field.
func DefaultConfig() Config {
	return Config{PerCPU: true, TotalCPU: true}
}

// TimesFunc reads cumulative CPU times; gopsutil's TimesWithContext in
// production, honouring HOST_PROC.
type TimesFunc func(ctx context.Context, perCPU bool) ([]cpu.TimesStat, error)

// CPU is the cpu input. It keeps the previous sample to compute usage, so
// one CPU value serves one collector.
type CPU struct {
	cfg   Config
	times TimesFunc

	mu   sync.Mutex
	last map[string]cpu.TimesStat
}

var (
	_ collector.Input  = (*CPU)(nil)
	_ collector.Primer = (*CPU)(nil)
)

// New returns a cpu input reading the host's CPU times.
func New(cfg Config) (*CPU, error) {
	return NewWithTimes(cfg, cpu.TimesWithContext)
}

// NewWithTimes returns a cpu input reading CPU times from times; tests and
// replays use it.
func NewWithTimes(cfg Config, times TimesFunc) (*CPU, error) {
	if !cfg.PerCPU && !cfg.TotalCPU {
		return nil, errors.New("cpu: neither PerCPU nor TotalCPU is set; the input would report nothing")
	}
	if times == nil {
		return nil, errors.New("cpu: nil TimesFunc")
	}
	return &CPU{cfg: cfg, times: times}, nil
}

// Prime takes the first sample, so that the next Gather reports usage.
func (c *CPU) Prime(ctx context.Context) error {
	samples, err := c.sample(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remember(samples)
	return nil
}

// Gather reports usage since the previous gather; the first gather has no
// predecessor and reports only the time_* fields, if enabled, as Telegraf
// does.
func (c *CPU) Gather(ctx context.Context, acc collector.Accumulator) error {
	samples, err := c.sample(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, cur := range samples {
		fields := map[string]any{}
		if c.cfg.CollectCPUTime {
			addTimes(fields, cur, c.cfg.ReportActive)
		}
		if prev, ok := c.last[cur.CPU]; ok {
			usage, err := Usage(prev, cur, c.cfg.ReportActive)
			if err != nil {
				errs = append(errs, err)
			}
			for k, v := range usage {
				fields[k] = v
			}
		}
		if len(fields) > 0 {
			acc.AddFields(Measurement, fields, map[string]string{"cpu": cur.CPU}, time.Time{})
		}
	}
	c.remember(samples)
	return errors.Join(errs...)
}

func (c *CPU) sample(ctx context.Context) ([]cpu.TimesStat, error) {
	var samples []cpu.TimesStat
	if c.cfg.PerCPU {
		per, err := c.times(ctx, true)
		if err != nil {
			return nil, fmt.Errorf("cpu: read per-CPU times: %w", err)
		}
		samples = append(samples, per...)
	}
	if c.cfg.TotalCPU {
		total, err := c.times(ctx, false)
		if err != nil {
			return nil, fmt.Errorf("cpu: read total CPU times: %w", err)
		}
		for i := range total {
			total[i].CPU = TotalTag
		}
		samples = append(samples, total...)
	}
	return samples, nil
}

func (c *CPU) remember(samples []cpu.TimesStat) {
	c.last = make(map[string]cpu.TimesStat, len(samples))
	for _, s := range samples {
		c.last[s.CPU] = s
	}
}

// total is all CPU time. Guest time is left out because the kernel already
// counts it in user (and guest_nice in nice).
func total(t cpu.TimesStat) float64 {
	return t.User + t.System + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal + t.Idle
}

func addTimes(fields map[string]any, t cpu.TimesStat, active bool) {
	fields["time_user"] = t.User
	fields["time_system"] = t.System
	fields["time_idle"] = t.Idle
	fields["time_nice"] = t.Nice
	fields["time_iowait"] = t.Iowait
	fields["time_irq"] = t.Irq
	fields["time_softirq"] = t.Softirq
	fields["time_steal"] = t.Steal
	fields["time_guest"] = t.Guest
	fields["time_guest_nice"] = t.GuestNice
	if active {
		fields["time_active"] = total(t) - t.Idle
	}
}

// Usage returns the usage_* percentages between two samples of one CPU.
// It returns no fields when no time passed, and an error when the counters
// went backwards (a CPU hot-plugged or the counters reset).
func Usage(prev, cur cpu.TimesStat, active bool) (map[string]any, error) {
	dt := total(cur) - total(prev)
	if dt < 0 {
		return nil, fmt.Errorf("cpu: %s: total CPU time went backwards (%.2fs → %.2fs)", cur.CPU, total(prev), total(cur))
	}
	if dt == 0 {
		return nil, nil
	}
	pct := func(d float64) float64 { return 100 * d / dt }
	fields := map[string]any{
		// Guest time is inside user and nice; report it once, as guest.
		"usage_user":       pct((cur.User - prev.User) - (cur.Guest - prev.Guest)),
		"usage_system":     pct(cur.System - prev.System),
		"usage_idle":       pct(cur.Idle - prev.Idle),
		"usage_nice":       pct((cur.Nice - prev.Nice) - (cur.GuestNice - prev.GuestNice)),
		"usage_iowait":     pct(cur.Iowait - prev.Iowait),
		"usage_irq":        pct(cur.Irq - prev.Irq),
		"usage_softirq":    pct(cur.Softirq - prev.Softirq),
		"usage_steal":      pct(cur.Steal - prev.Steal),
		"usage_guest":      pct(cur.Guest - prev.Guest),
		"usage_guest_nice": pct(cur.GuestNice - prev.GuestNice),
	}
	if active {
		fields["usage_active"] = pct((total(cur) - cur.Idle) - (total(prev) - prev.Idle))
	}
	return fields, nil
}
