package docker

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/swell-pipeline/swell/internal/testenv"
)

// recordingProxy sits between the input and the real engine on a unix
// socket of its own and records every request, so the test can prove what
// the input asked the engine for.
type recordingProxy struct {
	sock  string
	mu    sync.Mutex
	calls []string
}

func startRecordingProxy(t *testing.T, engineHost string) *recordingProxy {
	t.Helper()
	u, err := client.ParseHostURL(engineHost)
	if err != nil {
		t.Fatalf("engine host %q: %v", engineHost, err)
	}
	if u.Scheme != "unix" && u.Scheme != "tcp" {
		t.Skipf("recording proxy supports unix and plain tcp engines, not %s", engineHost)
	}
	var dialer net.Dialer
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme = "http"
			r.Out.URL.Host = "docker"
			r.Out.Host = "docker"
		},
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, u.Scheme, u.Host)
		}},
	}
	p := &recordingProxy{sock: filepath.Join(t.TempDir(), "engine.sock")}
	ln, err := net.Listen("unix", p.sock)
	if err != nil {
		t.Fatalf("listen on %s: %v", p.sock, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.calls = append(p.calls, r.Method+" "+apiVersionPrefix.ReplaceAllString(r.URL.Path, ""))
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return p
}

func (p *recordingProxy) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.calls
	p.calls = nil
	return c
}

// TestGatherIntegration runs the input against the real engine through the
// recording proxy: three containers of the test image, one of them kept
// busy between two gathers, one stopped.
func TestGatherIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test against the Docker engine; run without -short")
	}
	cli := testenv.Docker(t)
	image := testenv.TestImage(t, cli)
	imageName, imageTag := parseImage(image)

	const memLimit = 64 << 20
	busy := testenv.RunContainer(t, cli, image, testenv.ContainerOptions{
		PublishHTTP: true,
		Memory:      memLimit,
		Labels:      map[string]string{LabelService: "/it/web", LabelInstance: "web-1"},
	})
	idle := testenv.RunContainer(t, cli, image, testenv.ContainerOptions{
		Args:   []string{"sleep"},
		Labels: map[string]string{LabelService: "/it/idle", LabelInstance: "idle-1"},
	})
	stopped := testenv.RunContainer(t, cli, image, testenv.ContainerOptions{
		Args:   []string{"sleep"},
		Labels: map[string]string{LabelService: "/it/batch"},
	})
	testenv.WaitReady(t, cli, stopped)
	timeout := 10
	if err := cli.ContainerStop(t.Context(), stopped, container.StopOptions{Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, id := range []string{busy, idle, stopped} {
		info, err := cli.ContainerInspect(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		names[id] = strings.TrimPrefix(info.Name, "/")
	}
	base := "http://" + testenv.HostAddr(t, cli, busy)
	httpGet(t, base+"/healthz", 20*time.Second) // up before the first gather

	proxy := startRecordingProxy(t, cli.DaemonHost())
	in, err := New(Options{Node: "node-it", DockerHost: "unix://" + proxy.sock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close() })

	first := &testAcc{}
	if err := in.Gather(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	firstCalls := proxy.take()

	// About a second of CPU in the busy container, and HTTP traffic on its
	// eth0, between the two gathers.
	for range 4 {
		httpGet(t, base+"/?cpu_ms=250", 20*time.Second)
	}

	second := &testAcc{}
	if err := in.Gather(t.Context(), second); err != nil {
		t.Fatal(err)
	}
	secondCalls := proxy.take()

	for _, acc := range []*testAcc{first, second} {
		if errs := ours(acc.errs, names); len(errs) > 0 {
			t.Errorf("gather errors about the test's containers:\n%s", errorsText(errs))
		}
	}

	t.Run("the stats API is never called", func(t *testing.T) {
		all := append(append([]string(nil), firstCalls...), secondCalls...)
		if len(all) == 0 {
			t.Fatal("the proxy saw no requests; the input did not go through it")
		}
		for _, c := range all {
			if strings.Contains(c, "/stats") {
				t.Errorf("the input called the stats API: %s", c)
			}
		}
		if n := countCalls(secondCalls, "/containers/json"); n != 1 {
			t.Errorf("second gather listed containers %d times, want 1: %v", n, secondCalls)
		}
		// Other tests may start containers meanwhile; ours must not be
		// inspected again.
		for _, c := range secondCalls {
			for _, id := range []string{busy, idle, stopped} {
				if strings.Contains(c, id) {
					t.Errorf("second gather inspected an unchanged container again: %s", c)
				}
			}
		}
	})

	for id, svc := range map[string][2]string{busy: {"/it/web", "web-1"}, idle: {"/it/idle", "idle-1"}} {
		sel := map[string]string{"container_name": names[id]}
		for _, m := range []string{measCPU, measMem, measNet, measBlkio, measStatus} {
			ps := second.find(m, sel)
			if len(ps) == 0 {
				t.Errorf("%s: no %s point", names[id], m)
				continue
			}
			want := map[string]string{
				"container_image": imageName, "container_version": imageTag, "container_status": "running",
				"node": "node-it", "service": svc[0], "instance": svc[1],
			}
			for k, v := range want {
				if got := ps[0].tags[k]; got != v {
					t.Errorf("%s %s: tag %s = %q, want %q", names[id], m, k, got, v)
				}
			}
			if ps[0].tags["engine_host"] == "" || ps[0].tags["server_version"] == "" {
				t.Errorf("%s %s: no engine_host/server_version tags: %v", names[id], m, ps[0].tags)
			}
			if ps[0].fields["container_id"] != id {
				t.Errorf("%s %s: container_id %v", names[id], m, ps[0].fields["container_id"])
			}
		}
	}

	busySel := map[string]string{"container_name": names[busy]}
	if _, ok := first.find(measCPU, busySel)[0].fields["usage_percent"]; ok {
		t.Error("first gather already has usage_percent")
	}
	cpu := second.find(measCPU, map[string]string{"container_name": names[busy], "cpu": "cpu-total"})
	if len(cpu) != 1 {
		t.Fatalf("busy container: %d cpu-total points", len(cpu))
	}
	if pct := fieldFloat(t, cpu[0], "usage_percent"); pct <= 1 {
		t.Errorf("busy container usage_percent = %v after ~1 s of CPU work, want > 1", pct)
	} else {
		t.Logf("busy container usage_percent = %.1f", pct)
	}

	mem := second.find(measMem, busySel)[0]
	usage, limit := fieldInt(t, mem, "usage"), fieldInt(t, mem, "limit")
	if limit != memLimit || usage <= 0 || usage > limit {
		t.Errorf("busy mem usage %d, limit %d: want 0 < usage <= limit = %d", usage, limit, memLimit)
	}
	if ws := fieldInt(t, mem, "working_set"); ws <= 0 || ws > limit {
		t.Errorf("busy working_set %d", ws)
	}
	idleMem := second.find(measMem, map[string]string{"container_name": names[idle]})[0]
	if l := fieldInt(t, idleMem, "limit"); l != int64(in.machineMem) {
		t.Errorf("idle container without a limit: limit %d, want the host's %d", l, in.machineMem)
	}

	net := second.find(measNet, map[string]string{"container_name": names[busy], "network": "eth0"})
	if len(net) != 1 {
		t.Fatalf("busy container: %d eth0 points", len(net))
	}
	for _, f := range []string{"rx_bytes", "rx_packets", "tx_bytes", "tx_packets"} {
		if v := fieldInt(t, net[0], f); v <= 0 {
			t.Errorf("busy eth0 %s = %d after HTTP traffic", f, v)
		}
	}
	for _, f := range []string{"rx_errors", "rx_dropped", "tx_errors", "tx_dropped"} {
		fieldInt(t, net[0], f)
	}

	stopSel := map[string]string{"container_name": names[stopped]}
	st := second.find(measStatus, stopSel)
	if len(st) != 1 {
		t.Fatalf("stopped container: %d status points", len(st))
	}
	if st[0].tags["container_status"] != "exited" || fieldInt(t, st[0], "exitcode") != 0 ||
		st[0].tags["service"] != "/it/batch" {
		t.Errorf("stopped container status: %v %v", st[0].tags, st[0].fields)
	}
	if fieldInt(t, st[0], "finished_at") < fieldInt(t, st[0], "started_at") {
		t.Errorf("stopped container finished before it started: %v", st[0].fields)
	}
	for _, m := range []string{measCPU, measMem, measNet, measBlkio} {
		if n := len(second.find(m, stopSel)); n != 0 {
			t.Errorf("stopped container has %d %s points", n, m)
		}
	}

	t.Run("removed containers leave the cache", func(t *testing.T) {
		err := cli.ContainerRemove(t.Context(), stopped, container.RemoveOptions{Force: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := in.Gather(t.Context(), &testAcc{}); err != nil {
			t.Fatal(err)
		}
		in.mu.Lock()
		_, cached := in.containers[stopped]
		in.mu.Unlock()
		if cached {
			t.Error("the input still caches a removed container")
		}
	})
}

// ours keeps the errors that name one of the test's containers: other
// tests' containers on a shared engine may come and go mid-gather.
func ours(errs []error, names map[string]string) []error {
	var out []error
	for _, err := range errs {
		for id, name := range names {
			if strings.Contains(err.Error(), name) || strings.Contains(err.Error(), id[:12]) {
				out = append(out, err)
				break
			}
		}
	}
	return out
}

// httpGet polls url until it answers 200 or within passes.
func httpGet(t *testing.T, url string, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	var last error
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = &statusError{resp.Status}
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("GET %s: no 200 within %v: %v", url, within, last)
}

type statusError struct{ status string }

func (e *statusError) Error() string { return e.status }
