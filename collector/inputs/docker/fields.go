package docker

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	info "github.com/google/cadvisor/info/v1"
	"github.com/opencontainers/cgroups"
)

// Measurement names, Telegraf's.
const (
	measCPU    = "docker_container_cpu"
	measMem    = "docker_container_mem"
	measNet    = "docker_container_net"
	measBlkio  = "docker_container_blkio"
	measStatus = "docker_container_status"
)

// i64 keeps every integer field signed: InfluxDB 1.x has no unsigned type
// and Telegraf's default output writes these counters as integers, so a
// field must not flip type between sources. Counters never get near 2^63.
func i64(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// cpuSample is what usage_percent needs from the previous gather.
type cpuSample struct {
	container uint64
	system    uint64
	ok        bool
}

// cpuFields builds the cpu=cpu-total point. usage_percent follows the
// docker CLI and Telegraf: the container's CPU time over the host's, times
// the number of online CPUs, so one busy core reads 100. It needs two
// readings, so a container's first gather has none.
func cpuFields(id string, st *info.ContainerStats, host hostCPU, prev cpuSample) map[string]any {
	u := st.Cpu.Usage
	f := map[string]any{
		"usage_total":                  i64(u.Total),
		"usage_in_usermode":            i64(u.User),
		"usage_in_kernelmode":          i64(u.System),
		"usage_system":                 i64(host.systemNs),
		"throttling_periods":           i64(st.Cpu.CFS.Periods),
		"throttling_throttled_periods": i64(st.Cpu.CFS.ThrottledPeriods),
		"throttling_throttled_time":    i64(st.Cpu.CFS.ThrottledTime),
		"container_id":                 id,
	}
	if prev.ok {
		f["usage_percent"] = cpuPercent(prev, u.Total, host)
	}
	return f
}

func cpuPercent(prev cpuSample, total uint64, host hostCPU) float64 {
	cpuDelta := float64(total) - float64(prev.container)
	sysDelta := float64(host.systemNs) - float64(prev.system)
	if cpuDelta <= 0 || sysDelta <= 0 {
		return 0
	}
	return cpuDelta / sysDelta * float64(host.online) * 100
}

// telegrafMemStats are the memory.stat keys Telegraf copies into
// docker_container_mem when present. Most are cgroup v1 names; on v2 only
// the ones the kernel kept (active_*, inactive_*, pgfault, …) appear.
var telegrafMemStats = []string{
	"active_anon", "active_file", "cache", "hierarchical_memory_limit",
	"inactive_anon", "inactive_file", "mapped_file", "pgfault", "pgmajfault",
	"pgpgin", "pgpgout", "rss", "rss_huge",
	"total_active_anon", "total_active_file", "total_cache",
	"total_inactive_anon", "total_inactive_file", "total_mapped_file",
	"total_pgfault", "total_pgmajfault", "total_pgpgin", "total_pgpgout",
	"total_rss", "total_rss_huge", "total_unevictable", "total_writeback",
	"unevictable", "writeback",
}

// memFields builds the docker_container_mem point from the raw cgroup
// stats. machineMem caps limit the way the engine does, so a container
// without a limit reports the host's memory rather than 2^63.
func memFields(id string, mode cgroupMode, m cgroups.MemoryStats, machineMem uint64) map[string]any {
	f := map[string]any{"container_id": id}
	for _, k := range telegrafMemStats {
		if v, ok := m.Stats[k]; ok {
			f[k] = i64(v)
		}
	}
	if m.Usage.Failcnt != 0 {
		f["fail_count"] = i64(m.Usage.Failcnt)
	}
	limit := m.Usage.Limit
	if machineMem > 0 && limit > machineMem {
		limit = machineMem
	}
	f["limit"] = i64(limit)
	// v2 only has a peak where the kernel offers memory.peak (5.19+).
	if mode == cgroupV1 || m.Usage.MaxUsage > 0 {
		f["max_usage"] = i64(m.Usage.MaxUsage)
	}
	usage := usageNoCache(m.Usage.Usage, m.Stats)
	f["usage"] = i64(usage)
	percent := 0.0
	if limit > 0 {
		percent = float64(usage) / float64(limit) * 100
	}
	f["usage_percent"] = percent
	f["working_set"] = i64(workingSet(mode, m))
	return f
}

// usageNoCache is Telegraf's (and the docker CLI's) "usage": the cgroup's
// usage minus page cache that can be dropped, picking the first key the
// kernel provides: cache (v1), total_inactive_file (v1), inactive_file (v2).
func usageNoCache(usage uint64, stats map[string]uint64) uint64 {
	for _, k := range []string{"cache", "total_inactive_file", "inactive_file"} {
		if v, ok := stats[k]; ok && v < usage {
			return usage - v
		}
	}
	return usage
}

// workingSet is cAdvisor's and the kubelet's: usage minus inactive file
// pages, the memory the kernel cannot reclaim without swapping. It is what
// OOM decisions track, so alerts and autoscaling should use it.
func workingSet(mode cgroupMode, m cgroups.MemoryStats) uint64 {
	key := "total_inactive_file"
	if mode == cgroupV2 {
		key = "inactive_file"
	}
	ws := m.Usage.Usage
	if v, ok := m.Stats[key]; ok {
		if v >= ws {
			return 0
		}
		ws -= v
	}
	return ws
}

// point is one measurement with the tag that tells it apart from its
// siblings (cpu, network, device); empty tagKey means none.
type point struct {
	measurement string
	tagKey      string
	tagValue    string
	fields      map[string]any
}

func perCPUPoints(id string, st *info.ContainerStats, online int) []point {
	per := st.Cpu.Usage.PerCpu
	if online > 0 && len(per) > online {
		per = per[:online]
	}
	out := make([]point, 0, len(per))
	for i, v := range per {
		out = append(out, point{measCPU, "cpu", fmt.Sprintf("cpu%d", i),
			map[string]any{"usage_total": i64(v), "container_id": id}})
	}
	return out
}

// netPoints emits one point per interface and, like Telegraf's default, a
// network=total point summing them. A container on the host network has
// no interfaces of its own and gets none.
func netPoints(id string, ifaces []info.InterfaceStats) []point {
	if len(ifaces) == 0 {
		return nil
	}
	sorted := append([]info.InterfaceStats(nil), ifaces...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var total info.InterfaceStats
	out := make([]point, 0, len(sorted)+1)
	for _, s := range sorted {
		out = append(out, point{measNet, "network", s.Name, netFields(id, s)})
		total.RxBytes += s.RxBytes
		total.RxPackets += s.RxPackets
		total.RxErrors += s.RxErrors
		total.RxDropped += s.RxDropped
		total.TxBytes += s.TxBytes
		total.TxPackets += s.TxPackets
		total.TxErrors += s.TxErrors
		total.TxDropped += s.TxDropped
	}
	return append(out, point{measNet, "network", "total", netFields(id, total)})
}

func netFields(id string, s info.InterfaceStats) map[string]any {
	return map[string]any{
		"rx_bytes":     i64(s.RxBytes),
		"rx_packets":   i64(s.RxPackets),
		"rx_errors":    i64(s.RxErrors),
		"rx_dropped":   i64(s.RxDropped),
		"tx_bytes":     i64(s.TxBytes),
		"tx_packets":   i64(s.TxPackets),
		"tx_errors":    i64(s.TxErrors),
		"tx_dropped":   i64(s.TxDropped),
		"container_id": id,
	}
}

// blkioTables maps cAdvisor's per-disk tables to Telegraf's field stems.
// Telegraf drops "_recursive" from the wait time, and names the two
// op-less tables without a suffix.
var blkioTables = []struct {
	stem  string
	table func(*info.DiskIoStats) []info.PerDiskStats
}{
	{"io_service_bytes_recursive", func(d *info.DiskIoStats) []info.PerDiskStats { return d.IoServiceBytes }},
	{"io_serviced_recursive", func(d *info.DiskIoStats) []info.PerDiskStats { return d.IoServiced }},
	{"io_queue_recursive", func(d *info.DiskIoStats) []info.PerDiskStats { return d.IoQueued }},
	{"io_service_time_recursive", func(d *info.DiskIoStats) []info.PerDiskStats { return d.IoServiceTime }},
	{"io_wait_time", func(d *info.DiskIoStats) []info.PerDiskStats { return d.IoWaitTime }},
	{"io_merged_recursive", func(d *info.DiskIoStats) []info.PerDiskStats { return d.IoMerged }},
	{"io_time_recursive", func(d *info.DiskIoStats) []info.PerDiskStats { return d.IoTime }},
	{"sectors_recursive", func(d *info.DiskIoStats) []info.PerDiskStats { return d.Sectors }},
}

// blkioPoints emits one point per device (major:minor) and a device=total
// point. The total always carries the read/write byte and op counts, zero
// for a container that has done no block I/O, so "no I/O" is a value and
// not a gap.
func blkioPoints(id string, d *info.DiskIoStats) []point {
	devices := map[string]map[string]uint64{}
	for _, tbl := range blkioTables {
		for _, disk := range tbl.table(d) {
			dev := fmt.Sprintf("%d:%d", disk.Major, disk.Minor)
			fields := devices[dev]
			if fields == nil {
				fields = map[string]uint64{}
				devices[dev] = fields
			}
			for op, v := range disk.Stats {
				name := tbl.stem
				if op != "" && op != "Count" {
					name += "_" + strings.ToLower(op)
				}
				fields[name] = v
			}
		}
	}
	names := make([]string, 0, len(devices))
	for dev := range devices {
		names = append(names, dev)
	}
	sort.Strings(names)

	total := map[string]uint64{
		"io_service_bytes_recursive_read":  0,
		"io_service_bytes_recursive_write": 0,
		"io_serviced_recursive_read":       0,
		"io_serviced_recursive_write":      0,
	}
	out := make([]point, 0, len(names)+1)
	for _, dev := range names {
		fields := map[string]any{"container_id": id}
		for k, v := range devices[dev] {
			fields[k] = i64(v)
			total[k] += v
		}
		out = append(out, point{measBlkio, "device", dev, fields})
	}
	tf := map[string]any{"container_id": id}
	for k, v := range total {
		tf[k] = i64(v)
	}
	return append(out, point{measBlkio, "device", "total", tf})
}

// state is what docker_container_status reports, from ContainerInspect.
type state struct {
	status       string
	pid          int
	exitCode     int
	oomKilled    bool
	restartCount int
	startedAt    time.Time
	finishedAt   time.Time
}

// statusFields follows Telegraf: uptime runs to finished_at for a stopped
// container and to now for a running one (including one restarted after
// an earlier finish).
func statusFields(id string, s state, now time.Time) map[string]any {
	f := map[string]any{
		"container_id":  id,
		"oomkilled":     s.oomKilled,
		"pid":           int64(s.pid),
		"exitcode":      int64(s.exitCode),
		"restart_count": int64(s.restartCount),
	}
	finished := now
	if !s.finishedAt.IsZero() {
		f["finished_at"] = s.finishedAt.UnixNano()
		finished = s.finishedAt
	}
	if !s.startedAt.IsZero() {
		f["started_at"] = s.startedAt.UnixNano()
		uptime := finished.Sub(s.startedAt)
		if finished.Before(s.startedAt) {
			uptime = now.Sub(s.startedAt)
		}
		f["uptime_ns"] = uptime.Nanoseconds()
	}
	return f
}

// parseImage splits an image reference into Telegraf's container_image
// and container_version tags: the name without tag or digest, and the tag
// ("unknown" when there is none). A registry port is not a tag.
func parseImage(image string) (name, version string) {
	version = "unknown"
	if strings.HasPrefix(image, "sha256:") {
		return image, version
	}
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	domain, rest := "", image
	if i := strings.IndexByte(image, '/'); i >= 0 {
		if first := image[:i]; strings.ContainsAny(first, ".:") || first == "localhost" {
			domain, rest = first+"/", image[i+1:]
		}
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		rest, version = rest[:i], rest[i+1:]
	}
	return domain + rest, version
}

// containerName picks the container's own name from the list's names,
// which also carry link aliases ("/other/alias").
func containerName(names []string, id string) string {
	for _, n := range names {
		n = strings.TrimPrefix(n, "/")
		if n != "" && !strings.Contains(n, "/") {
			return n
		}
	}
	return shortID(id)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
