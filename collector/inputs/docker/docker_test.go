package docker

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/cgroups"
)

func TestParseImage(t *testing.T) {
	tests := []struct {
		image, name, version string
	}{
		{"nginx", "nginx", "unknown"},
		{"nginx:1.27", "nginx", "1.27"},
		{"library/nginx:latest", "library/nginx", "latest"},
		{"registry.local:5000/shop/web", "registry.local:5000/shop/web", "unknown"},
		{"registry.local:5000/shop/web:1.4.2", "registry.local:5000/shop/web", "1.4.2"},
		{"localhost/web:dev", "localhost/web", "dev"},
		{"shop/web:1.2@sha256:0123abcd", "shop/web", "1.2"},
		{"shop/web@sha256:0123abcd", "shop/web", "unknown"},
		{"sha256:5f1c2c6a", "sha256:5f1c2c6a", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			name, version := parseImage(tt.image)
			if name != tt.name || version != tt.version {
				t.Errorf("parseImage(%q) = %q, %q; want %q, %q", tt.image, name, version, tt.name, tt.version)
			}
		})
	}
}

func TestContainerNameSkipsLinkAliases(t *testing.T) {
	tests := []struct {
		names []string
		want  string
	}{
		{[]string{"/web-3"}, "web-3"},
		{[]string{"/proxy/web", "/web-3"}, "web-3"},
		{nil, "0123456789ab"},
	}
	for _, tt := range tests {
		if got := containerName(tt.names, fixtureV1ID); got != tt.want {
			t.Errorf("containerName(%q) = %q, want %q", tt.names, got, tt.want)
		}
	}
}

func TestExpandSlice(t *testing.T) {
	tests := map[string]string{
		"system.slice":       "system.slice",
		"my-app.slice":       "my.slice/my-app.slice",
		"my-app-web.slice":   "my.slice/my-app.slice/my-app-web.slice",
		"-.slice":            "",
		"broken--name.slice": "broken--name.slice",
	}
	for in, want := range tests {
		if got := expandSlice(in); got != want {
			t.Errorf("expandSlice(%q) = %q, want %q", in, got, want)
		}
	}
}

// mkCgroup creates a cgroup directory the way the kernel would show it.
func mkCgroup(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func writeProcCgroup(t *testing.T, procRoot string, pid int, content string) {
	t.Helper()
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindCgroup(t *testing.T) {
	const id = fixtureV2ID
	tests := []struct {
		name    string
		mode    cgroupMode
		dirs    []string // relative to the cgroup root
		proc    string   // /proc/<pid>/cgroup; empty: the process is gone
		parent  string
		wantDir string
	}{
		{
			name: "v2 systemd driver from /proc",
			mode: cgroupV2, dirs: []string{"system.slice/docker-" + id + ".scope"},
			proc:    "0::/system.slice/docker-" + id + ".scope\n",
			wantDir: "system.slice/docker-" + id + ".scope",
		},
		{
			name: "v2 cgroupfs driver from /proc",
			mode: cgroupV2, dirs: []string{"docker/" + id},
			proc:    "0::/docker/" + id + "\n",
			wantDir: "docker/" + id,
		},
		{
			name: "v2 payload made child cgroups",
			mode: cgroupV2, dirs: []string{"system.slice/docker-" + id + ".scope", "system.slice/docker-" + id + ".scope/init.scope"},
			proc:    "0::/system.slice/docker-" + id + ".scope/init.scope\n",
			wantDir: "system.slice/docker-" + id + ".scope",
		},
		{
			name: "v2 agent in its own cgroup namespace falls back to the driver's convention",
			mode: cgroupV2, dirs: []string{"system.slice/docker-" + id + ".scope"},
			proc:    "0::/../../system.slice/docker-" + id + ".scope\n",
			wantDir: "system.slice/docker-" + id + ".scope",
		},
		{
			name: "v2 process gone, cgroupfs convention",
			mode: cgroupV2, dirs: []string{"docker/" + id},
			wantDir: "docker/" + id,
		},
		{
			name: "v2 custom systemd parent slice",
			mode: cgroupV2, dirs: []string{"shop.slice/shop-web.slice/docker-" + id + ".scope"},
			parent:  "shop-web.slice",
			wantDir: "shop.slice/shop-web.slice/docker-" + id + ".scope",
		},
		{
			name: "v2 custom cgroupfs parent",
			mode: cgroupV2, dirs: []string{"swell/" + id},
			parent:  "/swell",
			wantDir: "swell/" + id,
		},
		{
			name: "v1 cgroupfs driver with joined cpu,cpuacct mount",
			mode: cgroupV1,
			dirs: []string{"cpu,cpuacct/docker/" + id, "memory/docker/" + id, "blkio/docker/" + id},
			proc: "3:cpu,cpuacct:/docker/" + id + "\n5:memory:/docker/" + id +
				"\n8:blkio:/docker/" + id + "\n1:name=systemd:/docker/" + id + "\n",
			wantDir: "memory/docker/" + id,
		},
		{
			name: "v1 systemd driver, process gone",
			mode: cgroupV1,
			dirs: []string{
				"cpu/system.slice/docker-" + id + ".scope", "cpuacct/system.slice/docker-" + id + ".scope",
				"memory/system.slice/docker-" + id + ".scope",
			},
			wantDir: "memory/system.slice/docker-" + id + ".scope",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, procRoot := t.TempDir(), t.TempDir()
			for _, d := range tt.dirs {
				mkCgroup(t, filepath.Join(root, d))
			}
			if tt.proc != "" {
				writeProcCgroup(t, procRoot, fixturePID, tt.proc)
			}
			cg, err := findCgroup(tt.mode, root, procRoot, fixturePID, id, tt.parent)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(root, tt.wantDir); cg.dir != want {
				t.Errorf("dir = %s, want %s", cg.dir, want)
			}
			if tt.mode == cgroupV1 && strings.Contains(tt.name, "cpu,cpuacct") {
				if got, want := cg.paths["cpu"], filepath.Join(root, "cpu,cpuacct/docker/"+id); got != want {
					t.Errorf("cpu path = %s, want %s", got, want)
				}
			}
		})
	}
}

func TestFindCgroupNamesWhatItTried(t *testing.T) {
	root := t.TempDir()
	_, err := findCgroup(cgroupV2, root, t.TempDir(), fixturePID, fixtureV2ID, "")
	if err == nil {
		t.Fatal("found a cgroup in an empty tree")
	}
	for _, want := range []string{root, "/system.slice/docker-" + fixtureV2ID + ".scope", "/docker/" + fixtureV2ID} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v does not wrap os.ErrNotExist", err)
	}
}

func TestDetectCgroupMode(t *testing.T) {
	v2, v1, hybrid, empty := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(v2, "cgroup.controllers"), []byte("cpu memory io\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mkCgroup(t, filepath.Join(v1, "cpu,cpuacct"), filepath.Join(v1, "memory"))
	mkCgroup(t, filepath.Join(hybrid, "memory"), filepath.Join(hybrid, "cpuacct"), filepath.Join(hybrid, "unified"))
	if err := os.WriteFile(filepath.Join(hybrid, "unified", "cgroup.controllers"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]cgroupMode{v2: cgroupV2, v1: cgroupV1, hybrid: cgroupV1} {
		got, err := detectCgroupMode(dir)
		if err != nil || got != want {
			t.Errorf("detectCgroupMode(%s) = %v, %v; want %v", dir, got, err, want)
		}
	}
	_, err := detectCgroupMode(empty)
	if err == nil || !strings.Contains(err.Error(), "mount the host's /sys/fs/cgroup") {
		t.Errorf("empty root: err = %v, want advice on mounting the cgroup fs", err)
	}
}

func TestReadHostCPU(t *testing.T) {
	h, err := readHostCPU(filepath.Join("testdata", "v1", "proc"))
	if err != nil {
		t.Fatal(err)
	}
	// user+nice+system+idle+iowait+irq+softirq of the cpu line, in ns.
	const ticks = 31170 + 0 + 9520 + 837255 + 825 + 0 + 163
	if h.systemNs != ticks*10_000_000 || h.online != 2 {
		t.Errorf("readHostCPU = %+v, want systemNs %d and 2 CPUs", h, uint64(ticks)*10_000_000)
	}
}

func TestCPUPercent(t *testing.T) {
	host := hostCPU{systemNs: 4e9, online: 2}
	tests := []struct {
		name  string
		prev  cpuSample
		total uint64
		want  float64
	}{
		{"one busy core of two", cpuSample{container: 0, system: 2e9}, 1e9, 100},
		{"idle", cpuSample{container: 5e8, system: 2e9}, 5e8, 0},
		{"counter reset after a restart", cpuSample{container: 9e9, system: 2e9}, 1e9, 0},
		{"no host time passed", cpuSample{container: 0, system: 4e9}, 1e9, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cpuPercent(tt.prev, tt.total, host); got != tt.want {
				t.Errorf("cpuPercent = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMemoryUsageLikeTelegrafAndWorkingSetLikeCAdvisor(t *testing.T) {
	tests := []struct {
		name       string
		mode       cgroupMode
		usage      uint64
		stats      map[string]uint64
		wantUsage  uint64
		wantWS     uint64
		machineMem uint64
		limit      uint64
		wantLimit  int64
	}{
		{
			name: "v1 subtracts cache, working set subtracts total_inactive_file", mode: cgroupV1,
			usage: 1000, stats: map[string]uint64{"cache": 300, "total_inactive_file": 100},
			wantUsage: 700, wantWS: 900, limit: 4000, machineMem: 8000, wantLimit: 4000,
		},
		{
			name: "v2 subtracts inactive_file", mode: cgroupV2,
			usage: 1000, stats: map[string]uint64{"file": 300, "inactive_file": 200},
			wantUsage: 800, wantWS: 800, limit: 4000, machineMem: 8000, wantLimit: 4000,
		},
		{
			name: "no limit reports the host's memory", mode: cgroupV1,
			usage: 1000, stats: map[string]uint64{"cache": 0, "total_inactive_file": 0},
			wantUsage: 1000, wantWS: 1000, limit: 9223372036854771712, machineMem: 8000, wantLimit: 8000,
		},
		{
			name: "inactive file above usage floors the working set at zero", mode: cgroupV2,
			usage: 100, stats: map[string]uint64{"inactive_file": 200},
			wantUsage: 100, wantWS: 0, limit: 4000, machineMem: 8000, wantLimit: 4000,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m cgroups.MemoryStats
			m.Usage.Usage, m.Usage.Limit, m.Stats = tt.usage, tt.limit, tt.stats
			f := memFields("id", tt.mode, m, tt.machineMem)
			if f["usage"] != int64(tt.wantUsage) || f["working_set"] != int64(tt.wantWS) || f["limit"] != tt.wantLimit {
				t.Errorf("usage=%v working_set=%v limit=%v; want %d %d %d",
					f["usage"], f["working_set"], f["limit"], tt.wantUsage, tt.wantWS, tt.wantLimit)
			}
			_, hasMax := f["max_usage"]
			if hasMax != (tt.mode == cgroupV1) {
				t.Errorf("max_usage present = %v for %v with no memory.peak", hasMax, tt.mode)
			}
		})
	}
}

func TestStatusUptime(t *testing.T) {
	now := t0
	tests := []struct {
		name       string
		s          state
		wantUptime time.Duration
		wantFinish bool
	}{
		{"running, never stopped", state{startedAt: now.Add(-time.Hour)}, time.Hour, false},
		{"stopped", state{startedAt: now.Add(-time.Hour), finishedAt: now.Add(-50 * time.Minute)}, 10 * time.Minute, true},
		{"running again after an earlier stop", state{startedAt: now.Add(-time.Minute), finishedAt: now.Add(-time.Hour)}, time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := statusFields("id", tt.s, now)
			if got := time.Duration(f["uptime_ns"].(int64)); got != tt.wantUptime {
				t.Errorf("uptime = %v, want %v", got, tt.wantUptime)
			}
			if _, ok := f["finished_at"]; ok != tt.wantFinish {
				t.Errorf("finished_at present = %v, want %v", ok, tt.wantFinish)
			}
		})
	}
}

func TestNewRejectsProcRootNotNamedProc(t *testing.T) {
	_, err := New(Options{ProcRoot: "/host/hostproc"})
	if err == nil || !strings.Contains(err.Error(), "HOST_PROC=/host/proc") {
		t.Errorf("err = %v, want advice on HOST_PROC", err)
	}
}

func TestUnreachableEngineSaysWhereAndWhatToDo(t *testing.T) {
	sock := "unix://" + filepath.Join(t.TempDir(), "docker.sock")
	opts := Options{
		DockerHost: sock,
		CgroupRoot: filepath.Join("testdata", "v2", "cgroup"),
		ProcRoot:   filepath.Join("testdata", "v2", "proc"),
	}
	in, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	gatherErr := in.Gather(t.Context(), &testAcc{})
	availErr := Available(t.Context(), opts)
	for name, err := range map[string]error{"Gather": gatherErr, "Available": availErr} {
		if err == nil {
			t.Errorf("%s: no error for an engine that is not there", name)
			continue
		}
		for _, want := range []string{"cannot reach the Docker engine at " + sock, "start dockerd, or set --docker-host"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s error %q does not say %q", name, err, want)
			}
		}
	}
}

func TestAvailableChecksCgroupsAndProc(t *testing.T) {
	eng := startFakeEngine(t, fixtureV2ID)
	good := Options{
		DockerHost: eng.url,
		CgroupRoot: filepath.Join("testdata", "v2", "cgroup"),
		ProcRoot:   filepath.Join("testdata", "v2", "proc"),
	}
	if err := Available(t.Context(), good); err != nil {
		t.Errorf("Available with a fixture host: %v", err)
	}
	noCgroups := good
	noCgroups.CgroupRoot = t.TempDir()
	if err := Available(t.Context(), noCgroups); err == nil || !strings.Contains(err.Error(), noCgroups.CgroupRoot) {
		t.Errorf("Available without cgroups: %v", err)
	}
	noProc := good
	noProc.ProcRoot = filepath.Join(t.TempDir(), "proc")
	if err := Available(t.Context(), noProc); err == nil || !strings.Contains(err.Error(), "HOST_PROC") {
		t.Errorf("Available without /proc: %v", err)
	}
}
