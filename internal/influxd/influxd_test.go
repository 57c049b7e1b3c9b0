package influxd_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/internal/influxd"
	"github.com/swell-pipeline/swell/internal/testenv"
)

func writePoints(t *testing.T, base, db, lines string) {
	t.Helper()
	resp, err := http.Post(base+"/write?db="+db, "text/plain", strings.NewReader(lines))
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s", resp.Status)
	}
}

func TestStartServesHTTPAndCreatesDatabase(t *testing.T) {
	t.Parallel()
	// Two at once: each must take its own RPC port, or the second would
	// fail on 127.0.0.1:8088.
	a := testenv.Influx(t)
	b := testenv.Influx(t)
	if a.URL() == b.URL() {
		t.Fatalf("both instances on %s", a.URL())
	}
	for _, p := range []*influxd.Process{a, b} {
		found := false
		for _, s := range testenv.Query(t, p.URL(), "", "SHOW DATABASES") {
			for _, row := range s.Values {
				if row[0] == "swell" {
					found = true
				}
			}
		}
		if !found {
			t.Fatalf("%s: database swell missing", p.URL())
		}
		writePoints(t, p.URL(), "swell", "m,k=a v=1 1000000000\nm,k=b v=2 1000000000\n")
		if n := testenv.CountPoints(t, p.URL(), "swell", "m"); n != 2 {
			t.Fatalf("%s: count = %d, want 2", p.URL(), n)
		}
		if _, err := os.Stat(filepath.Join(p.DataDir(), "influxd.log")); err != nil {
			t.Fatalf("default log file: %v", err)
		}
	}
}

func TestKillThenRestartKeepsPointsAndPort(t *testing.T) {
	t.Parallel()
	p := testenv.Influx(t)
	url, pid := p.URL(), p.PID()
	writePoints(t, url, "swell", "m v=1 1000000000\nm v=2 2000000000\n")

	p.Kill()
	select {
	case <-p.Done():
	default:
		t.Fatal("Done not closed after Kill")
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("Wait after a requested Kill = %v, want nil", err)
	}
	if _, err := http.Get(url + "/ping"); err == nil {
		t.Fatal("influxd still answers after Kill")
	}

	if err := p.Restart(t.Context()); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if p.URL() != url {
		t.Fatalf("URL after restart = %s, want %s", p.URL(), url)
	}
	if p.PID() == pid {
		t.Fatalf("PID unchanged after restart")
	}
	if n := testenv.CountPoints(t, url, "swell", "m"); n != 2 {
		t.Fatalf("count after restart = %d, want 2 (fsynced WAL must survive SIGKILL)", n)
	}
}

func TestWaitReportsUnexpectedExit(t *testing.T) {
	t.Parallel()
	p := testenv.Influx(t)
	if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := p.Wait()
	if err == nil || !strings.Contains(err.Error(), "exited unexpectedly") {
		t.Fatalf("Wait = %v, want an unexpected-exit error", err)
	}
}

func TestStopIsIdempotentAndLeavesNoProcess(t *testing.T) {
	t.Parallel()
	p := testenv.Influx(t)
	pid := p.PID()
	for i := range 2 {
		if err := p.Stop(t.Context()); err != nil {
			t.Fatalf("Stop #%d: %v", i+1, err)
		}
	}
	if alive(pid) {
		t.Fatalf("pid %d still alive after Stop", pid)
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("Wait after Stop = %v, want nil", err)
	}
}

func TestStartFailsClearly(t *testing.T) {
	t.Parallel()
	bin := testenv.InfluxdBinary(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = taken.Close() })

	tests := []struct {
		name    string
		opts    influxd.Options
		wantErr error
		wantMsg []string
	}{
		{
			name:    "missing binary names the install command",
			opts:    influxd.Options{Binary: filepath.Join(t.TempDir(), "influxd"), DataDir: t.TempDir()},
			wantErr: influxd.ErrBinaryNotFound,
			wantMsg: []string{"make deps", "GOBIN=$PWD/bin go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10"},
		},
		{
			name:    "taken port shows the log tail",
			opts:    influxd.Options{Binary: bin, DataDir: t.TempDir(), BindAddr: taken.Addr().String()},
			wantErr: influxd.ErrAddrInUse,
			wantMsg: []string{taken.Addr().String(), "address already in use"},
		},
		{
			name:    "no data dir",
			opts:    influxd.Options{Binary: bin},
			wantMsg: []string{"no data dir"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := influxd.Start(t.Context(), tc.opts)
			if err == nil {
				_ = p.Stop(context.Background())
				t.Fatal("Start succeeded")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want errors.Is %v", err, tc.wantErr)
			}
			for _, m := range tc.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("err = %q, want it to mention %q", err, m)
				}
			}
		})
	}
}

func TestDefaultBinaryIsLocalBin(t *testing.T) {
	// Chdir: not parallel.
	bin := testenv.InfluxdBinary(t)
	t.Chdir(filepath.Dir(filepath.Dir(bin)))
	t.Setenv("PATH", t.TempDir())
	p, err := influxd.Start(t.Context(), influxd.Options{DataDir: t.TempDir(), BindAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("Start with ./bin/influxd: %v", err)
	}
	if err := p.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestChildDiesWithParent runs a helper process that starts influxd and
// then gets SIGKILLed: influxd must not outlive it.
func TestChildDiesWithParent(t *testing.T) {
	if os.Getenv("SWELL_INFLUXD_HELPER") == "1" {
		p, err := influxd.Start(context.Background(), influxd.Options{
			Binary:   os.Getenv("SWELL_INFLUXD_BIN"),
			DataDir:  os.Getenv("SWELL_INFLUXD_DIR"),
			BindAddr: "127.0.0.1:0",
		})
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		fmt.Println("PID", p.PID())
		select {}
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildDiesWithParent$")
	cmd.Env = append(os.Environ(),
		"SWELL_INFLUXD_HELPER=1",
		"SWELL_INFLUXD_BIN="+testenv.InfluxdBinary(t),
		"SWELL_INFLUXD_DIR="+t.TempDir(),
	)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper output: %v", err)
	}
	pidStr, ok := strings.CutPrefix(strings.TrimSpace(line), "PID ")
	if !ok {
		t.Fatalf("helper said %q", line)
	}
	pid, err := strconv.Atoi(pidStr)
	if err != nil {
		t.Fatal(err)
	}
	if !alive(pid) {
		t.Fatalf("influxd pid %d not running while the helper lives", pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("influxd pid %d outlived its parent", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid runs; a zombie waiting for a reaper counts as gone.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
