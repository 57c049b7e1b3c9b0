package docker

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/system"

	"github.com/swell-pipeline/swell/internal/clock"
)

// The fixture trees under testdata/ hold one container each, in the real
// file formats: v1 was copied from a container on a cgroup v1 host (blkio
// and cpu.stat edited to show I/O and throttling), v2 follows the kernel's
// cgroup-v2 documentation for a systemd-driver container.
const (
	fixtureV1ID  = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	fixtureV2ID  = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	exitedID     = "deaddeaddeaddeaddeaddeaddeaddeaddeaddeaddeaddeaddeaddeaddeaddead"
	fixturePID   = 4242
	fixtureImage = "registry.local:5000/shop/web:1.4.2"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	clock.Real
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeEngine answers the Engine API calls the input is allowed to make,
// with the engine's own types, and fails the test on any other call (the
// stats endpoint above all).
type fakeEngine struct {
	t       *testing.T
	url     string // tcp://127.0.0.1:port, for Options.DockerHost
	mu      sync.Mutex
	calls   []string
	list    []container.Summary
	inspect map[string]container.InspectResponse
}

var apiVersionPrefix = regexp.MustCompile(`^/v[0-9.]+`)

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := apiVersionPrefix.ReplaceAllString(r.URL.Path, "")
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+path)
	list, inspect := f.list, f.inspect
	f.mu.Unlock()

	w.Header().Set("Api-Version", "1.41")
	w.Header().Set("Ostype", "linux")
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(v); err != nil {
			f.t.Errorf("fake engine: encode %s: %v", path, err)
		}
	}
	switch {
	case path == "/_ping":
		_, _ = w.Write([]byte("OK"))
	case path == "/info":
		reply(system.Info{Name: "fixture-host", ServerVersion: "20.10.24"})
	case path == "/containers/json":
		if r.URL.Query().Get("all") != "1" {
			f.t.Errorf("container list without all=1: %s", r.URL.RawQuery)
		}
		reply(list)
	case strings.HasPrefix(path, "/containers/") && strings.HasSuffix(path, "/json"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/containers/"), "/json")
		resp, ok := inspect[id]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			reply(map[string]string{"message": "No such container: " + id})
			return
		}
		reply(resp)
	default:
		f.t.Errorf("the input called %s %s; it may only list, inspect and read info", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
	}
}

// takeCalls returns the calls since the last take.
func (f *fakeEngine) takeCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func startFakeEngine(t *testing.T, runningID string) *fakeEngine {
	t.Helper()
	f := &fakeEngine{
		t: t,
		list: []container.Summary{
			{
				ID:    runningID,
				Names: []string{"/web-3", "/proxy/web"},
				Image: fixtureImage,
				State: "running",
				Labels: map[string]string{
					LabelService:       "/shop/web",
					LabelInstance:      "web-3",
					"com.example.team": "payments",
					"maintainer":       "",
					"node":             "label-must-not-win",
				},
			},
			{
				ID:     exitedID,
				Names:  []string{"/migrate-1"},
				Image:  "shop/migrate",
				State:  "exited",
				Labels: map[string]string{LabelService: "/shop/migrate"},
			},
		},
		inspect: map[string]container.InspectResponse{
			runningID: {ContainerJSONBase: &container.ContainerJSONBase{
				ID: runningID, Name: "/web-3", RestartCount: 1,
				State: &container.State{
					Status: "running", Running: true, Pid: fixturePID,
					StartedAt:  t0.Add(-time.Hour).Format(time.RFC3339Nano),
					FinishedAt: t0.Add(-2 * time.Hour).Format(time.RFC3339Nano),
				},
				HostConfig: &container.HostConfig{NetworkMode: "bridge"},
			}},
			exitedID: {ContainerJSONBase: &container.ContainerJSONBase{
				ID: exitedID, Name: "/migrate-1",
				State: &container.State{
					Status: "exited", ExitCode: 137, OOMKilled: true,
					StartedAt:  t0.Add(-30 * time.Minute).Format(time.RFC3339Nano),
					FinishedAt: t0.Add(-29 * time.Minute).Format(time.RFC3339Nano),
				},
				HostConfig: &container.HostConfig{NetworkMode: "bridge"},
			}},
		},
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.url = strings.Replace(srv.URL, "http://", "tcp://", 1)
	return f
}

// copyTree copies a fixture so the test can change counters between
// gathers.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy fixture %s: %v", src, err)
	}
	return dst
}

// bump adds delta to the first whitespace-separated field after key in a
// counter file (or the whole file when key is empty) with old+delta.
func bump(t *testing.T, path, key string, delta uint64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	done := false
	for i, l := range lines {
		f := strings.Fields(l)
		if key == "" && len(f) == 1 || key != "" && len(f) >= 2 && f[0] == key {
			idx := 0
			if key != "" {
				idx = 1
				if key == "cpu" {
					idx = 4 // the idle column of /proc/stat
				}
			}
			v, err := strconv.ParseUint(f[idx], 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			f[idx] = strconv.FormatUint(v+delta, 10)
			lines[i] = strings.Join(f, " ")
			done = true
			break
		}
	}
	if !done {
		t.Fatalf("%s: no %q line", path, key)
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

type fixture struct {
	name   string
	id     string
	cgroup func(root string) string // the container's cpu-accounting dir
	// advanceCPU adds 0.5 s of container CPU time.
	advanceCPU func(t *testing.T, dir string)
}

var fixtures = []fixture{
	{
		name:   "v1",
		id:     fixtureV1ID,
		cgroup: func(root string) string { return filepath.Join(root, "cpuacct", "docker", fixtureV1ID) },
		advanceCPU: func(t *testing.T, dir string) {
			bump(t, filepath.Join(dir, "cpuacct.usage"), "", 500_000_000)
		},
	},
	{
		name:   "v2",
		id:     fixtureV2ID,
		cgroup: func(root string) string { return filepath.Join(root, "system.slice", "docker-"+fixtureV2ID+".scope") },
		advanceCPU: func(t *testing.T, dir string) {
			bump(t, filepath.Join(dir, "cpu.stat"), "usage_usec", 500_000)
		},
	},
}

func newFixtureInput(t *testing.T, fx fixture, eng *fakeEngine, root string, clk clock.Clock) *Input {
	t.Helper()
	in, err := New(Options{
		Node:       "node-1",
		DockerHost: eng.url,
		CgroupRoot: filepath.Join(root, "cgroup"),
		ProcRoot:   filepath.Join(root, "proc"),
		Clock:      clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close() })
	return in
}

// TestGatherFixture runs two gathers over each fixture tree, through the
// same cgroups managers (fs for v1, fs2 for v2) and cAdvisor handler as on
// a real host, and compares the line protocol with a golden file.
func TestGatherFixture(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name+" cgroups give Telegraf's measurements", func(t *testing.T) {
			root := copyTree(t, filepath.Join("testdata", fx.name))
			eng := startFakeEngine(t, fx.id)
			clk := &fakeClock{now: t0}
			in := newFixtureInput(t, fx, eng, root, clk)

			first := &testAcc{}
			if err := in.Gather(t.Context(), first); err != nil {
				t.Fatal(err)
			}
			if in.mode.String() != fx.name {
				t.Fatalf("detected cgroup %s, want %s", in.mode, fx.name)
			}
			calls := eng.takeCalls()
			if n := countCalls(calls, "/containers/json"); n != 1 {
				t.Errorf("first gather listed containers %d times, want 1: %v", n, calls)
			}

			// 1 s of host time on 2 CPUs (200 ticks), 0.5 s of it the
			// container's: usage_percent must be 50.
			fx.advanceCPU(t, fx.cgroup(filepath.Join(root, "cgroup")))
			bump(t, filepath.Join(root, "proc", "stat"), "cpu", 200)
			clk.advance(10 * time.Second)

			second := &testAcc{}
			if err := in.Gather(t.Context(), second); err != nil {
				t.Fatal(err)
			}
			calls = eng.takeCalls()
			if len(calls) != 1 || calls[0] != "GET /containers/json" {
				t.Errorf("second gather made %v, want exactly one container list (inspect results are cached)", calls)
			}
			for _, acc := range []*testAcc{first, second} {
				if len(acc.errs) > 0 {
					t.Errorf("gather reported errors:\n%s", errorsText(acc.errs))
				}
			}

			checkFixturePoints(t, fx, first, second)
			golden(t, filepath.Join("golden", fx.name+".lp"),
				append(append([]byte("# first gather\n"), first.lineProtocol(t)...),
					append([]byte("# second gather\n"), second.lineProtocol(t)...)...))
		})
	}
}

func countCalls(calls []string, suffix string) int {
	n := 0
	for _, c := range calls {
		if strings.HasSuffix(c, suffix) && !strings.Contains(strings.TrimSuffix(c, suffix), "/containers/") {
			n++
		}
	}
	return n
}

func checkFixturePoints(t *testing.T, fx fixture, first, second *testAcc) {
	t.Helper()
	web := map[string]string{"container_name": "web-3"}
	for _, m := range []string{measCPU, measMem, measNet, measBlkio, measStatus} {
		ps := second.find(m, web)
		if len(ps) == 0 {
			t.Errorf("no %s point for the running container", m)
			continue
		}
		want := map[string]string{
			"container_name": "web-3", "container_image": "registry.local:5000/shop/web",
			"container_version": "1.4.2", "container_status": "running",
			"engine_host": "fixture-host", "server_version": "20.10.24",
			"node": "node-1", "service": "/shop/web", "instance": "web-3",
			"com.example.team": "payments", LabelService: "/shop/web",
		}
		for k, v := range want {
			if got := ps[0].tags[k]; got != v {
				t.Errorf("%s tag %s = %q, want %q", m, k, got, v)
			}
		}
		if _, ok := ps[0].tags["maintainer"]; ok {
			t.Errorf("%s: empty label became a tag", m)
		}
		if id := ps[0].fields["container_id"]; id != fx.id {
			t.Errorf("%s container_id = %v", m, id)
		}
	}

	cpu1 := first.find(measCPU, web)
	if len(cpu1) != 1 {
		t.Fatalf("first gather: %d cpu points, want 1 (cpu-total)", len(cpu1))
	}
	if _, ok := cpu1[0].fields["usage_percent"]; ok {
		t.Error("first gather has usage_percent; it needs two readings")
	}
	cpu2 := second.find(measCPU, map[string]string{"container_name": "web-3", "cpu": "cpu-total"})[0]
	if got := fieldFloat(t, cpu2, "usage_percent"); got < 49.99 || got > 50.01 {
		t.Errorf("usage_percent = %v, want 50", got)
	}
	if got := fieldInt(t, cpu2, "throttling_throttled_time"); got != 35_000_000 {
		t.Errorf("throttling_throttled_time = %d ns, want 35 ms", got)
	}
	if got := fieldInt(t, cpu2, "throttling_periods"); got != 120 {
		t.Errorf("throttling_periods = %d, want 120", got)
	}

	mem := second.find(measMem, web)[0]
	usage, limit := fieldInt(t, mem, "usage"), fieldInt(t, mem, "limit")
	if usage <= 0 || usage > limit {
		t.Errorf("mem usage %d, limit %d: want 0 < usage <= limit", usage, limit)
	}
	if got, want := fieldFloat(t, mem, "usage_percent"), float64(usage)/float64(limit)*100; got != want {
		t.Errorf("mem usage_percent = %v, want %v", got, want)
	}
	if fx.name == "v2" {
		const current, inactiveFile = 51380224, 12582912
		if usage != current-inactiveFile {
			t.Errorf("v2 usage = %d, want memory.current - inactive_file = %d", usage, current-inactiveFile)
		}
		if ws := fieldInt(t, mem, "working_set"); ws != current-inactiveFile {
			t.Errorf("v2 working_set = %d, want %d", ws, current-inactiveFile)
		}
		if limit != 134217728 {
			t.Errorf("v2 limit = %d, want memory.max", limit)
		}
		if got := fieldInt(t, mem, "max_usage"); got != 60817408 {
			t.Errorf("v2 max_usage = %d, want memory.peak", got)
		}
	}

	for _, dev := range []string{"eth0", "eth1", "total"} {
		if len(second.find(measNet, map[string]string{"container_name": "web-3", "network": dev})) != 1 {
			t.Errorf("no docker_container_net point for network=%s", dev)
		}
	}
	if len(second.find(measNet, map[string]string{"network": "lo"})) != 0 {
		t.Error("loopback reported as a container network")
	}
	total := second.find(measNet, map[string]string{"container_name": "web-3", "network": "total"})[0]
	if got := fieldInt(t, total, "rx_bytes"); got != 524288+2048 {
		t.Errorf("network=total rx_bytes = %d, want the sum of eth0 and eth1", got)
	}

	blk := second.find(measBlkio, map[string]string{"container_name": "web-3", "device": "8:0"})
	if len(blk) != 1 {
		t.Fatalf("no blkio point for device 8:0")
	}
	if got := fieldInt(t, blk[0], "io_service_bytes_recursive_read"); got != 1228800 {
		t.Errorf("8:0 io_service_bytes_recursive_read = %d", got)
	}
	blkTotal := second.find(measBlkio, map[string]string{"container_name": "web-3", "device": "total"})[0]
	if got := fieldInt(t, blkTotal, "io_service_bytes_recursive_read"); got != 1228800+4096 {
		t.Errorf("device=total io_service_bytes_recursive_read = %d", got)
	}

	exited := map[string]string{"container_name": "migrate-1"}
	for _, m := range []string{measCPU, measMem, measNet, measBlkio} {
		if n := len(second.find(m, exited)); n != 0 {
			t.Errorf("exited container has %d %s points, want status only", n, m)
		}
	}
	st := second.find(measStatus, exited)
	if len(st) != 1 {
		t.Fatalf("exited container: %d status points, want 1", len(st))
	}
	if st[0].tags["container_status"] != "exited" || st[0].fields["oomkilled"] != true ||
		fieldInt(t, st[0], "exitcode") != 137 || fieldInt(t, st[0], "uptime_ns") != int64(time.Minute) {
		t.Errorf("exited container status = %v %v", st[0].tags, st[0].fields)
	}
	run := second.find(measStatus, web)[0]
	if got := fieldInt(t, run, "uptime_ns"); got != int64(time.Hour+10*time.Second) {
		t.Errorf("restarted running container uptime_ns = %v, want started_at to now", time.Duration(got))
	}
}

func TestGatherSkipsContainerThatVanished(t *testing.T) {
	fx := fixtures[1]
	root := copyTree(t, filepath.Join("testdata", fx.name))
	eng := startFakeEngine(t, fx.id)
	in := newFixtureInput(t, fx, eng, root, &fakeClock{now: t0})
	if err := in.Gather(t.Context(), &testAcc{}); err != nil {
		t.Fatal(err)
	}

	// The container stops after the engine listed it: its cgroup and init
	// process are gone by the time the input reads them.
	for _, dir := range []string{fx.cgroup(filepath.Join(root, "cgroup")), filepath.Join(root, "proc", strconv.Itoa(fixturePID))} {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
	acc := &testAcc{}
	if err := in.Gather(t.Context(), acc); err != nil {
		t.Fatal(err)
	}
	if len(acc.errs) > 0 {
		t.Errorf("a vanished container produced errors:\n%s", errorsText(acc.errs))
	}
	if n := len(acc.find(measCPU, nil)); n != 0 {
		t.Errorf("%d cpu points for a container whose cgroup is gone", n)
	}
	if n := len(acc.find(measStatus, nil)); n != 2 {
		t.Errorf("%d status points, want 2 (the engine still lists both)", n)
	}
}

func TestGatherForgetsRemovedContainers(t *testing.T) {
	fx := fixtures[1]
	root := copyTree(t, filepath.Join("testdata", fx.name))
	eng := startFakeEngine(t, fx.id)
	in := newFixtureInput(t, fx, eng, root, &fakeClock{now: t0})
	if err := in.Gather(t.Context(), &testAcc{}); err != nil {
		t.Fatal(err)
	}
	if len(in.containers) != 2 {
		t.Fatalf("cache holds %d containers after the first gather, want 2", len(in.containers))
	}
	eng.mu.Lock()
	eng.list = eng.list[:1]
	eng.mu.Unlock()
	if err := in.Gather(t.Context(), &testAcc{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := in.containers[exitedID]; ok || len(in.containers) != 1 {
		t.Errorf("cache still holds the removed container: %v", keysOf(in.containers))
	}
}

func keysOf[V any](m map[string]V) []string { return keys(m) }

func TestGatherReinspectsOnStateChange(t *testing.T) {
	fx := fixtures[1]
	root := copyTree(t, filepath.Join("testdata", fx.name))
	eng := startFakeEngine(t, fx.id)
	in := newFixtureInput(t, fx, eng, root, &fakeClock{now: t0})
	if err := in.Gather(t.Context(), &testAcc{}); err != nil {
		t.Fatal(err)
	}
	eng.takeCalls()

	eng.mu.Lock()
	eng.list[0].State = "exited"
	r := eng.inspect[fx.id]
	r.State = &container.State{Status: "exited", ExitCode: 2,
		StartedAt: t0.Add(-time.Hour).Format(time.RFC3339Nano), FinishedAt: t0.Format(time.RFC3339Nano)}
	eng.inspect[fx.id] = r
	eng.mu.Unlock()

	acc := &testAcc{}
	if err := in.Gather(t.Context(), acc); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("GET /containers/%s/json", fx.id)
	if calls := eng.takeCalls(); len(calls) != 2 || calls[1] != want {
		t.Errorf("calls %v, want the list and one inspect of the changed container", calls)
	}
	st := acc.find(measStatus, map[string]string{"container_name": "web-3"})
	if len(st) != 1 || st[0].tags["container_status"] != "exited" || fieldInt(t, st[0], "exitcode") != 2 {
		t.Errorf("status after the stop: %v", st)
	}
	if n := len(acc.find(measMem, map[string]string{"container_name": "web-3"})); n != 0 {
		t.Errorf("stopped container still has %d mem points", n)
	}
}

func TestGatherIsSafeForConcurrentUse(t *testing.T) {
	fx := fixtures[0]
	root := copyTree(t, filepath.Join("testdata", fx.name))
	eng := startFakeEngine(t, fx.id)
	in := newFixtureInput(t, fx, eng, root, &fakeClock{now: t0})
	accs := make([]*testAcc, 4)
	var wg sync.WaitGroup
	for i := range accs {
		accs[i] = &testAcc{}
		wg.Go(func() {
			if err := in.Gather(t.Context(), accs[i]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, acc := range accs {
		if len(acc.errs) > 0 || len(acc.find(measMem, map[string]string{"container_name": "web-3"})) != 1 {
			t.Errorf("gather %d: %d errors, %d mem points", i, len(acc.errs), len(acc.find(measMem, nil)))
		}
	}
}
