package mem

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/shirou/gopsutil/v4/mem"

	"github.com/swell-pipeline/swell/collector"
)

// Measurement is the measurement this input writes.
const Measurement = "mem"

// VirtualMemoryFunc reads memory statistics; gopsutil's
// VirtualMemoryWithContext in production, honouring HOST_PROC.
type VirtualMemoryFunc func(ctx context.Context) (*mem.VirtualMemoryStat, error)

// Mem is the mem input.
type Mem struct {
	read VirtualMemoryFunc
	goos string
}

var _ collector.Input = (*Mem)(nil)

// New returns a mem input reading the host's memory statistics.
func New() *Mem {
	return &Mem{read: mem.VirtualMemoryWithContext, goos: runtime.GOOS}
}

// NewWithReader returns a mem input that reads through read, with the
// field set of the given operating system; tests use it.
func NewWithReader(read VirtualMemoryFunc, goos string) *Mem {
	return &Mem{read: read, goos: goos}
}

// Gather reports one mem point.
func (m *Mem) Gather(ctx context.Context, acc collector.Accumulator) error {
	vm, err := m.read(ctx)
	if err != nil {
		return fmt.Errorf("mem: read memory statistics: %w", err)
	}
	acc.AddFields(Measurement, Fields(vm, m.goos), nil, time.Time{})
	return nil
}

// Fields maps memory statistics to Telegraf's mem fields for goos: bytes
// as integers, percentages as floats. Other systems get the common subset.
func Fields(vm *mem.VirtualMemoryStat, goos string) map[string]any {
	fields := map[string]any{
		"total":     vm.Total,
		"available": vm.Available,
		"used":      vm.Used,
	}
	// A zero total would give NaN; the collector would drop the fields,
	// but leaving them out says so more plainly.
	if vm.Total > 0 {
		fields["used_percent"] = 100 * float64(vm.Used) / float64(vm.Total)
		fields["available_percent"] = 100 * float64(vm.Available) / float64(vm.Total)
	}
	switch goos {
	case "linux":
		fields["active"] = vm.Active
		fields["buffered"] = vm.Buffers
		fields["cached"] = vm.Cached
		fields["commit_limit"] = vm.CommitLimit
		fields["committed_as"] = vm.CommittedAS
		fields["dirty"] = vm.Dirty
		fields["free"] = vm.Free
		fields["high_free"] = vm.HighFree
		fields["high_total"] = vm.HighTotal
		fields["huge_pages_free"] = vm.HugePagesFree
		fields["huge_page_size"] = vm.HugePageSize
		fields["huge_pages_total"] = vm.HugePagesTotal
		fields["inactive"] = vm.Inactive
		fields["low_free"] = vm.LowFree
		fields["low_total"] = vm.LowTotal
		fields["mapped"] = vm.Mapped
		fields["page_tables"] = vm.PageTables
		fields["shared"] = vm.Shared
		fields["slab"] = vm.Slab
		fields["sreclaimable"] = vm.Sreclaimable
		fields["sunreclaim"] = vm.Sunreclaim
		fields["swap_cached"] = vm.SwapCached
		fields["swap_free"] = vm.SwapFree
		fields["swap_total"] = vm.SwapTotal
		fields["vmalloc_chunk"] = vm.VmallocChunk
		fields["vmalloc_total"] = vm.VmallocTotal
		fields["vmalloc_used"] = vm.VmallocUsed
		fields["write_back_tmp"] = vm.WriteBackTmp
		fields["write_back"] = vm.WriteBack
	case "darwin":
		fields["active"] = vm.Active
		fields["free"] = vm.Free
		fields["inactive"] = vm.Inactive
		fields["wired"] = vm.Wired
	case "freebsd":
		fields["active"] = vm.Active
		fields["buffered"] = vm.Buffers
		fields["cached"] = vm.Cached
		fields["free"] = vm.Free
		fields["inactive"] = vm.Inactive
		fields["laundry"] = vm.Laundry
		fields["wired"] = vm.Wired
	case "openbsd":
		fields["active"] = vm.Active
		fields["cached"] = vm.Cached
		fields["free"] = vm.Free
		fields["inactive"] = vm.Inactive
		fields["wired"] = vm.Wired
	}
	return fields
}
