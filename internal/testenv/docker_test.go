package testenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
)

// recordingTB stands in for the test when Docker's own outcome (skip or
// fail) is what is being checked.
type recordingTB struct {
	testing.TB
	mu      sync.Mutex
	skipped string
	failed  string
}

func (r *recordingTB) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.skipped = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.failed = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func TestDockerWithoutEngine(t *testing.T) {
	tests := []struct {
		name     string
		require  string
		wantSkip bool
	}{
		{name: "skips loudly by default", require: "", wantSkip: true},
		{name: "fails when SWELL_REQUIRE_DOCKER=1", require: "1", wantSkip: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DOCKER_HOST", "unix://"+t.TempDir()+"/no-engine.sock")
			t.Setenv(RequireDockerEnv, tt.require)
			rec := &recordingTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				Docker(rec)
				t.Error("Docker returned a client for an engine that does not exist")
			}()
			<-done
			if tt.wantSkip {
				if rec.skipped == "" || rec.failed != "" {
					t.Fatalf("skipped=%q failed=%q, want a skip", rec.skipped, rec.failed)
				}
				if !strings.Contains(rec.skipped, RequireDockerEnv) {
					t.Errorf("skip reason %q does not say how to make it fail", rec.skipped)
				}
			} else if rec.failed == "" || rec.skipped != "" {
				t.Fatalf("skipped=%q failed=%q, want a failure", rec.skipped, rec.failed)
			}
		})
	}
}

func TestRunContainerLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test against the Docker engine; run without -short")
	}
	cli := Docker(t)
	image := TestImage(t, cli)
	if again := TestImage(t, cli); again != image {
		t.Fatalf("TestImage built twice: %s then %s", image, again)
	}

	var id string
	t.Run("sleep container runs with labels and a test name", func(t *testing.T) {
		id = RunContainer(t, cli, image, ContainerOptions{
			Args:   []string{"sleep"},
			Labels: map[string]string{"swell.service": "/test/sleep"},
			Memory: 32 << 20,
		})
		info, err := cli.ContainerInspect(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !info.State.Running {
			t.Errorf("state %q, want running", info.State.Status)
		}
		if !strings.HasPrefix(strings.TrimPrefix(info.Name, "/"), ContainerNamePrefix) {
			t.Errorf("name %q lacks prefix %q", info.Name, ContainerNamePrefix)
		}
		if got := info.Config.Labels["swell.service"]; got != "/test/sleep" {
			t.Errorf("label swell.service = %q", got)
		}
		if got := info.Config.Labels[LabelTest]; got != t.Name() {
			t.Errorf("label %s = %q, want %q", LabelTest, got, t.Name())
		}
		if info.HostConfig.Memory != 32<<20 {
			t.Errorf("memory limit %d, want %d", info.HostConfig.Memory, 32<<20)
		}

		// sleep mode must end on SIGTERM with status 0, not wait for the
		// engine's SIGKILL.
		WaitReady(t, cli, id)
		timeout := 10
		if err := cli.ContainerStop(t.Context(), id, container.StopOptions{Timeout: &timeout}); err != nil {
			t.Fatal(err)
		}
		info, err = cli.ContainerInspect(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Running || info.State.ExitCode != 0 {
			t.Errorf("after stop: running=%v exit code %d, want stopped with 0", info.State.Running, info.State.ExitCode)
		}
	})
	if _, err := cli.ContainerInspect(t.Context(), id); !cerrdefs.IsNotFound(err) {
		t.Errorf("container %.12s still exists after its test ended (err=%v)", id, err)
	}

	var many []string
	t.Run("RunContainers starts several and removes them all", func(t *testing.T) {
		many = RunContainers(t, cli, image, 3, ContainerOptions{Args: []string{"sleep"}})
		seen := map[string]bool{}
		for _, id := range many {
			info, err := cli.ContainerInspect(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if !info.State.Running || seen[info.Name] {
				t.Errorf("container %s: running=%v, name seen before=%v", info.Name, info.State.Running, seen[info.Name])
			}
			seen[info.Name] = true
		}
	})
	for _, id := range many {
		if _, err := cli.ContainerInspect(t.Context(), id); !cerrdefs.IsNotFound(err) {
			t.Errorf("container %.12s still exists after its test ended (err=%v)", id, err)
		}
	}

	t.Run("serve container answers on its published port", func(t *testing.T) {
		id := RunContainer(t, cli, image, ContainerOptions{PublishHTTP: true})
		base := "http://" + HostAddr(t, cli, id)
		for _, path := range []string{"/healthz", "/?cpu_ms=20&ms=10"} {
			body := getWithin(t, base+path, 20*time.Second)
			if strings.TrimSpace(body) != "ok" {
				t.Errorf("GET %s = %q, want ok", path, body)
			}
		}
	})
}

// getWithin polls url until it answers 200 or the deadline passes: the
// server needs a moment after the container starts.
func getWithin(t *testing.T, url string, within time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	var lastErr error
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(body)
			}
			lastErr = &httpStatusError{code: resp.StatusCode, body: string(body)}
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("GET %s: no 200 within %v: %v", url, within, lastErr)
	return ""
}

type httpStatusError struct {
	code int
	body string
}

func (e *httpStatusError) Error() string {
	return http.StatusText(e.code) + ": " + e.body
}
