package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"

	"github.com/swell-pipeline/swell/internal/testenv"
)

// newTestDocker returns a runtime on the real engine, the test image and a
// node name of its own, whose containers are all removed when the test
// ends.
func newTestDocker(t *testing.T) (*Docker, *client.Client, string, string) {
	t.Helper()
	cli := testenv.Docker(t)
	img := testenv.TestImage(t, cli)
	d, err := NewDocker(DockerOptions{Client: cli, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	node := testNode(t)
	t.Cleanup(func() { removeNode(t, d, node) })
	return d, cli, img, node
}

func testNode(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "it-" + hex.EncodeToString(b)
}

func removeNode(t *testing.T, d *Docker, node string) {
	// The test's context is done when cleanups run.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := d.List(ctx, node)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, c := range cs {
		if err := d.Remove(ctx, c.ID); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// testSpec labels the container for testenv's leftover hunt too.
func testSpec(t *testing.T, node, instance, img string) Spec {
	return Spec{
		Service: "/it/app", Instance: instance, Node: node, Version: "v1", Image: img,
		Labels: map[string]string{testenv.LabelTest: t.Name()},
	}
}

func createStart(t *testing.T, d *Docker, spec Spec) Container {
	t.Helper()
	c, err := d.Create(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(t.Context(), c.ID); err != nil {
		t.Fatal(err)
	}
	c, err = d.Inspect(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// freePort returns a port nothing listens on at ip right now.
func freePort(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// httpGet polls url until it answers 200 or the deadline passes: the
// server needs a moment after the container starts.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return strings.TrimSpace(string(body))
			}
			err = errors.New(resp.Status)
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s: no 200 within 20s: %v", url, lastErr)
	return ""
}

func TestIntegrationCreateStartWithLabelsLimitsEnvAndPorts(t *testing.T) {
	d, cli, img, node := newTestDocker(t)
	const bindIP = "127.0.0.2" // a loopback alias, as several agents on one host use
	fixed := freePort(t, bindIP)

	spec := testSpec(t, node, "app.1", img)
	spec.CPUs = 0.5
	spec.MemMiB = 64
	spec.Env = map[string]string{"VERSION": "7", "PORT": "8080"}
	// The second mapping only shows that HostPorts keeps the spec's order.
	spec.Ports = []PortMapping{{ContainerPort: 8080, HostPort: 0}, {ContainerPort: 9090, HostPort: fixed, Protocol: "tcp"}}
	spec.BindIP = bindIP

	c := createStart(t, d, spec)
	if c.State != StateRunning || c.StartedAt.IsZero() {
		t.Errorf("state = %s, startedAt %v; want running with a start time", c.State, c.StartedAt)
	}
	if c.Name != ContainerName(node, "app.1") || c.Service != "/it/app" || c.Instance != "app.1" || c.Node != node || c.Version != "v1" || c.Image != img {
		t.Errorf("container identity = %+v", c)
	}
	if len(c.HostPorts) != 2 || c.HostPorts[0] == 0 || c.HostPorts[1] != fixed {
		t.Fatalf("host ports = %v, want [<docker's choice> %d]", c.HostPorts, fixed)
	}

	info, err := cli.ContainerInspect(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if info.HostConfig.NanoCPUs != 500_000_000 || info.HostConfig.Memory != 64<<20 {
		t.Errorf("limits: NanoCPUs %d, Memory %d; want 500000000, %d", info.HostConfig.NanoCPUs, info.HostConfig.Memory, 64<<20)
	}
	for _, kv := range []string{"VERSION=7", "PORT=8080"} {
		if !slices.Contains(info.Config.Env, kv) {
			t.Errorf("env %v lacks %s", info.Config.Env, kv)
		}
	}
	for k, v := range map[string]string{LabelService: "/it/app", LabelInstance: "app.1", LabelNode: node, LabelVersion: "v1", testenv.LabelTest: t.Name()} {
		if info.Config.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, info.Config.Labels[k], v)
		}
	}
	for _, b := range info.NetworkSettings.Ports["8080/tcp"] {
		if b.HostIP != bindIP {
			t.Errorf("port 8080 bound to %s, want %s", b.HostIP, bindIP)
		}
	}

	// Docker's free port answers on the node's address; the env reached
	// the app.
	url := "http://" + net.JoinHostPort(bindIP, strconv.Itoa(c.HostPorts[0])) + "/version"
	if got := httpGet(t, url); got != "7" {
		t.Errorf("GET %s = %q, want 7", url, got)
	}
}

func TestIntegrationFixedHostPort(t *testing.T) {
	d, _, img, node := newTestDocker(t)
	fixed := freePort(t, "127.0.0.1")
	spec := testSpec(t, node, "fixed.1", img)
	spec.Env = map[string]string{"VERSION": "fixed"}
	spec.Ports = []PortMapping{{ContainerPort: 8080, HostPort: fixed}}
	spec.BindIP = "127.0.0.1"
	c := createStart(t, d, spec)
	if !reflect.DeepEqual(c.HostPorts, []int{fixed}) {
		t.Fatalf("host ports = %v, want [%d]", c.HostPorts, fixed)
	}
	url := "http://127.0.0.1:" + strconv.Itoa(fixed) + "/version"
	if got := httpGet(t, url); got != "fixed" {
		t.Errorf("GET %s = %q, want fixed", url, got)
	}
}

func TestIntegrationCmdReplacesTheImageCmd(t *testing.T) {
	d, cli, img, node := newTestDocker(t)
	spec := testSpec(t, node, "sleeper.1", img)
	spec.Cmd = []string{"sleep"}
	c := createStart(t, d, spec)
	testenv.WaitReady(t, cli, c.ID)
	info, err := cli.ContainerInspect(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual([]string(info.Config.Cmd), []string{"sleep"}) {
		t.Errorf("cmd = %v, want [sleep]", info.Config.Cmd)
	}
	if len(c.HostPorts) != 0 {
		t.Errorf("host ports = %v for a spec without ports", c.HostPorts)
	}
}

func TestIntegrationStopHonoursGrace(t *testing.T) {
	tests := []struct {
		name     string
		cmd      []string
		grace    time.Duration
		wantCode int
		minTook  time.Duration
		maxTook  time.Duration
	}{
		// testapp sleep exits 0 on SIGTERM, long before the grace ends.
		{"a container that handles SIGTERM exits 0 within the grace", []string{"sleep"}, 20 * time.Second, 0, 0, 10 * time.Second},
		// ignore-term only dies of the SIGKILL after the grace: 128+9.
		{"a container that ignores SIGTERM is killed after the grace", []string{"ignore-term"}, 2 * time.Second, 137, 2 * time.Second, 15 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, cli, img, node := newTestDocker(t)
			spec := testSpec(t, node, "stop.1", img)
			spec.Cmd = tt.cmd
			c := createStart(t, d, spec)
			testenv.WaitReady(t, cli, c.ID)

			start := time.Now()
			if err := d.Stop(t.Context(), c.ID, tt.grace); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			got, err := d.Inspect(t.Context(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != StateExited || got.ExitCode != tt.wantCode {
				t.Errorf("after Stop: state %s, exit code %d; want exited, %d", got.State, got.ExitCode, tt.wantCode)
			}
			if took < tt.minTook || took > tt.maxTook {
				t.Errorf("Stop took %v, want between %v and %v", took, tt.minTook, tt.maxTook)
			}
			// Stopping again is a no-op, not an error.
			if err := d.Stop(t.Context(), c.ID, time.Second); err != nil {
				t.Errorf("second Stop: %v", err)
			}
		})
	}
}

func TestIntegrationRemove(t *testing.T) {
	d, _, img, node := newTestDocker(t)
	c := createStart(t, d, testSpec(t, node, "rm.1", img))
	if err := d.Remove(t.Context(), c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Inspect(t.Context(), c.ID); !errors.Is(err, ErrContainerNotFound) {
		t.Errorf("Inspect after Remove: %v, want ErrContainerNotFound", err)
	}
	if err := d.Remove(t.Context(), c.ID); err != nil {
		t.Errorf("Remove of a removed container: %v, want nil", err)
	}
	if err := d.Start(t.Context(), c.ID); !errors.Is(err, ErrContainerNotFound) {
		t.Errorf("Start of a removed container: %v, want ErrContainerNotFound", err)
	}
}

func TestIntegrationListFiltersByNodeAndFindsOrphans(t *testing.T) {
	d, _, img, nodeA := newTestDocker(t)
	nodeB := testNode(t)
	t.Cleanup(func() { removeNode(t, d, nodeB) })

	a1 := createStart(t, d, testSpec(t, nodeA, "a.1", img))
	a2, err := d.Create(t.Context(), testSpec(t, nodeA, "a.2", img)) // created, never started
	if err != nil {
		t.Fatal(err)
	}
	b1 := createStart(t, d, testSpec(t, nodeB, "b.1", img))

	listA, err := d.List(t.Context(), nodeA)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	states := map[string]State{}
	for _, c := range listA {
		ids = append(ids, c.ID)
		states[c.Instance] = c.State
		if c.Node != nodeA {
			t.Errorf("List(%s) returned %s of node %s", nodeA, c.Name, c.Node)
		}
	}
	if !slices.Contains(ids, a1.ID) || !slices.Contains(ids, a2.ID) || slices.Contains(ids, b1.ID) || len(ids) != 2 {
		t.Errorf("List(%s) = %v, want exactly %s and %s", nodeA, ids, a1.ID[:12], a2.ID[:12])
	}
	if states["a.1"] != StateRunning || states["a.2"] != StateCreated {
		t.Errorf("states = %v, want a.1 running, a.2 created", states)
	}

	orphans := Orphans(listA, map[string]struct{}{"a.1": {}})
	if len(orphans) != 1 || orphans[0].ID != a2.ID {
		t.Errorf("Orphans = %v, want only a.2", orphans)
	}

	// An instance name is unique per node, not per engine.
	if _, err := d.Create(t.Context(), testSpec(t, nodeA, "a.1", img)); !errors.Is(err, ErrNameConflict) {
		t.Errorf("Create of an existing instance: %v, want ErrNameConflict", err)
	}
}

func TestIntegrationMissingImageIsATypedError(t *testing.T) {
	d, _, _, node := newTestDocker(t)
	spec := testSpec(t, node, "ghost.1", "swell-no-such-image:never")
	_, err := d.Create(t.Context(), spec)
	if !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("Create = %v, want ErrImageNotFound", err)
	}
	if !cerrdefs.IsNotFound(err) {
		t.Errorf("Create error %v does not wrap the engine's not-found error", err)
	}
	if !strings.Contains(err.Error(), "swell-no-such-image:never") || !strings.Contains(err.Error(), "enable pulling") {
		t.Errorf("error %q does not name the image and what to do", err)
	}
	if cs, err := d.List(t.Context(), node); err != nil || len(cs) != 0 {
		t.Errorf("List after a failed create = %v, %v; want nothing", cs, err)
	}
}

func TestIntegrationExec(t *testing.T) {
	d, cli, img, node := newTestDocker(t)
	c := createStart(t, d, testSpec(t, node, "exec.1", img))
	testenv.WaitReady(t, cli, c.ID)
	tests := []struct {
		name     string
		cmd      []string
		wantCode int
		wantOut  string
	}{
		{"a passing command exits 0", []string{"/testapp", "probe", "http://127.0.0.1:8080/healthz"}, 0, "probe ok"},
		{"a failing command exits non-zero", []string{"/testapp", "probe", "http://127.0.0.1:1/healthz"}, 1, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, err := d.Exec(t.Context(), c.ID, tt.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) {
				t.Errorf("Exec = %d %q, want %d containing %q", code, out, tt.wantCode, tt.wantOut)
			}
		})
	}
	// The engine reports an unstartable command either as an error or as
	// exit 126/127 depending on its version; both must read as a failure.
	if code, out, err := d.Exec(t.Context(), c.ID, []string{"/no/such/binary"}); err == nil && code == 0 {
		t.Errorf("Exec of a missing binary = 0 %q, want an error or a non-zero code", out)
	}
}
