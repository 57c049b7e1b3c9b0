package docker

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc/stat. Linux fixes it at 100 on
// every architecture the engine runs on, which is also what the engine
// assumes when it computes system_cpu_usage.
const clockTicks = 100

// hostCPU is one reading of the host's CPU time, the denominator of a
// container's usage_percent.
type hostCPU struct {
	// systemNs is the time all CPUs spent in user, nice, system, idle,
	// iowait, irq and softirq (steal and guest excluded), in nanoseconds,
	// the same sum the engine reports as system_cpu_usage.
	systemNs uint64
	// online is the number of cpuN lines, i.e. online CPUs.
	online int
}

func readHostCPU(procRoot string) (hostCPU, error) {
	path := filepath.Join(procRoot, "stat")
	data, err := os.ReadFile(path)
	if err != nil {
		return hostCPU{}, fmt.Errorf("docker: read host CPU time: %w", err)
	}
	var h hostCPU
	found := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "cpu") {
			if found {
				break // the cpu lines come first
			}
			continue
		}
		f := strings.Fields(line)
		if f[0] != "cpu" {
			h.online++
			continue
		}
		if len(f) < 8 {
			return hostCPU{}, fmt.Errorf("docker: %s: cpu line has %d fields, want at least 8", path, len(f))
		}
		var ticks uint64
		for _, s := range f[1:8] {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return hostCPU{}, fmt.Errorf("docker: %s: cpu line: %w", path, err)
			}
			ticks += v
		}
		h.systemNs = ticks * (1e9 / clockTicks)
		found = true
	}
	if !found {
		return hostCPU{}, fmt.Errorf("docker: %s has no cpu line", path)
	}
	return h, nil
}

// readMemTotal returns the host's memory in bytes, the limit the engine
// reports for a container that has none.
func readMemTotal(procRoot string) (uint64, error) {
	path := filepath.Join(procRoot, "meminfo")
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("docker: read host memory size: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("docker: %s: MemTotal: %w", path, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("docker: %s has no MemTotal line", path)
}

// pidAlive tells whether the process still exists, so a container that
// restarted between two gathers (new init PID) is inspected again.
func pidAlive(procRoot string, pid int) bool {
	return pid > 0 && fileExists(filepath.Join(procRoot, strconv.Itoa(pid)))
}
