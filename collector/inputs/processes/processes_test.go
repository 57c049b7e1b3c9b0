package processes_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/swell-pipeline/swell/collector/collectortest"
	"github.com/swell-pipeline/swell/collector/inputs/processes"
)

// stat builds a /proc/<pid>/stat line with the given command, state and
// thread count (field 20); the other fields are plausible numbers.
func stat(pid int, comm string, state byte, threads int) string {
	rest := make([]string, 0, 49)
	rest = append(rest, string(state))
	for i := 4; i <= 52; i++ {
		v := "0"
		if i == 20 {
			v = fmt.Sprint(threads)
		}
		rest = append(rest, v)
	}
	return fmt.Sprintf("%d (%s) %s\n", pid, comm, strings.Join(rest, " "))
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name        string
		data        string
		wantState   byte
		wantThreads int64
		wantErr     string
	}{
		{name: "plain", data: stat(1, "systemd", 'S', 1), wantState: 'S', wantThreads: 1},
		{name: "command with spaces and parentheses", data: stat(42, "my (weird) cmd) x", 'R', 12), wantState: 'R', wantThreads: 12},
		{name: "no closing parenthesis", data: "42 (cmd S 1 2 3", wantErr: "no ')'"},
		{name: "truncated", data: "42 (cmd) S 1 2 3\n", wantErr: "want at least 18"},
		{name: "bad thread count", data: strings.Replace(stat(1, "c", 'S', 7), " 7 ", " x ", 1), wantErr: "thread count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, threads, err := processes.ParseStat([]byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if state != tt.wantState || threads != tt.wantThreads {
				t.Errorf("got %c/%d, want %c/%d", state, threads, tt.wantState, tt.wantThreads)
			}
		})
	}
}

func TestCountsByState(t *testing.T) {
	var c processes.Counts
	for _, s := range "RSSDZTtXxWIP?" {
		c.Add(byte(s), 2)
	}
	f := c.Fields()
	want := map[string]int64{
		"total": 13, "running": 1, "sleeping": 2, "blocked": 1, "zombies": 1, "stopped": 2,
		"dead": 2, "paging": 1, "idle": 1, "parked": 1, "unknown": 1, "total_threads": 26,
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %v, want %d", k, f[k], v)
		}
	}
	var none processes.Counts
	if _, ok := none.Fields()["parked"]; ok {
		t.Error("parked reported without a parked process")
	}
}

func TestGatherReadsProcRoot(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("1/stat", stat(1, "init", 'S', 1))
	write("20/stat", stat(20, "worker", 'R', 8))
	write("21/stat", stat(21, "zombie", 'Z', 1))
	write("self/stat", stat(99, "self", 'R', 1)) // not a pid directory
	write("sys/kernel/pid_max", "4194304")
	if err := os.MkdirAll(filepath.Join(root, "30"), 0o755); err != nil { // exited: no stat
		t.Fatal(err)
	}
	in, err := processes.New(processes.Config{ProcRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	points, err := collectortest.Gather(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 1 {
		t.Fatalf("got %d points, want 1", len(points))
	}
	f := points[0].Fields
	want := map[string]int64{"total": 3, "sleeping": 1, "running": 1, "zombies": 1, "total_threads": 10}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %v, want %d", k, f[k], v)
		}
	}
}

func TestGatherFailsOnMissingProcRoot(t *testing.T) {
	in, err := processes.New(processes.Config{ProcRoot: filepath.Join(t.TempDir(), "nope")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collectortest.Gather(t, in); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("error = %v, want one naming the missing dir", err)
	}
}

func TestDefaultConfigHonoursHostProc(t *testing.T) {
	t.Setenv("HOST_PROC", "/hostfs/proc")
	if got := processes.DefaultConfig().ProcRoot; got != "/hostfs/proc" {
		t.Errorf("ProcRoot = %q, want /hostfs/proc", got)
	}
	t.Setenv("HOST_PROC", "")
	if got := processes.DefaultConfig().ProcRoot; got != "/proc" {
		t.Errorf("ProcRoot = %q, want /proc", got)
	}
}

func TestGatherOnThisHost(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skipf("no procfs here (%v); processes is Linux-only", err)
	}
	in, err := processes.New(processes.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	points, err := collectortest.Gather(t, in)
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	if len(points) != 1 || points[0].Measurement != processes.Measurement {
		t.Fatalf("got %v, want one processes point", points)
	}
	p := points[0]
	collectortest.RequireTagKeys(t, p)
	states := []string{"running", "sleeping", "blocked", "zombies", "stopped", "dead", "paging", "idle", "unknown"}
	kinds := map[string]lineprotocol.ValueKind{"total": lineprotocol.Int, "total_threads": lineprotocol.Int}
	for _, s := range states {
		kinds[s] = lineprotocol.Int
	}
	collectortest.RequireFields(t, p, kinds)
	total := p.Fields["total"].(int64)
	if total < 1 {
		t.Fatalf("total = %d; this test's own process is running", total)
	}
	if th := p.Fields["total_threads"].(int64); th < total {
		t.Errorf("total_threads = %d < total = %d", th, total)
	}
	var sum int64
	for _, s := range states {
		sum += p.Fields[s].(int64)
	}
	if parked, ok := p.Fields["parked"].(int64); ok {
		sum += parked
	}
	if sum != total {
		t.Errorf("states add up to %d, total is %d", sum, total)
	}
}
