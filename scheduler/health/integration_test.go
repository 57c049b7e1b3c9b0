package health

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/scheduler/runtime"
)

// TestIntegrationChecksARealContainer runs HTTP, TCP and COMMAND checks
// against a testapp container over its published port and docker exec,
// then injects a /healthz failure and expects the HTTP check to call for
// a kill while TCP stays healthy.
func TestIntegrationChecksARealContainer(t *testing.T) {
	cli := testenv.Docker(t)
	img := testenv.TestImage(t, cli)
	rt, err := runtime.NewDocker(runtime.DockerOptions{Client: cli, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	node := "it-health-" + hex.EncodeToString(b)
	spec := runtime.Spec{
		Service: "/it/health", Instance: "health.1", Node: node, Version: "v1", Image: img,
		Ports:  []runtime.PortMapping{{ContainerPort: 8080}},
		BindIP: "127.0.0.1",
		Labels: map[string]string{testenv.LabelTest: t.Name()},
	}
	c, err := rt.Create(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := rt.Remove(ctx, c.ID); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if err := rt.Start(t.Context(), c.ID); err != nil {
		t.Fatal(err)
	}
	if c, err = rt.Inspect(t.Context(), c.ID); err != nil {
		t.Fatal(err)
	}

	checker, results := startChecker(t, nil, rt)
	base := Check{Interval: 100 * time.Millisecond, Timeout: 2 * time.Second, GracePeriod: 30 * time.Second, MaxConsecutiveFailures: 3}
	httpCheck, tcpCheck, cmdCheck := base, base, base
	httpCheck.Protocol, httpCheck.Path = HTTP, "/healthz"
	tcpCheck.Protocol = TCP
	cmdCheck.Protocol, cmdCheck.Command = COMMAND, []string{"/testapp", "probe", "http://127.0.0.1:8080/healthz"}
	target := Target{Instance: "health.1", ContainerID: c.ID, Host: "127.0.0.1", HostPorts: c.HostPorts, StartedAt: c.StartedAt}
	if err := checker.Watch(target, []Check{httpCheck, tcpCheck, cmdCheck}); err != nil {
		t.Fatal(err)
	}

	// All three pass once the app listens (failures before that fall in
	// the grace period).
	seen := map[int]bool{}
	waitFor(t, results, "all three checks healthy", func(r Result) bool {
		if r.Healthy {
			seen[r.Check] = true
		}
		return len(seen) == 3
	})

	url := "http://127.0.0.1:" + strconv.Itoa(c.HostPorts[0]) + "/fail?healthz=60"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}

	killed := map[int]bool{}
	waitFor(t, results, "HTTP and COMMAND checks calling for a kill", func(r Result) bool {
		if r.Kill {
			killed[r.Check] = true
		}
		if r.Check == 1 && !r.Healthy {
			t.Errorf("TCP check unhealthy while the port is open: %+v", r)
		}
		return killed[0] && killed[2]
	})
}
