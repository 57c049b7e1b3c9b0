package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/client"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/scheduler/health"
	"github.com/swell-pipeline/swell/scheduler/runtime"
	"github.com/swell-pipeline/swell/spec"
)

// bindIP is a loopback alias: a port reachable there and not on 127.0.0.1
// proves the executor binds to the agent's --addr.
const bindIP = "127.0.0.2"

type execEnv struct {
	url     string
	nc      *nats.Conn
	js      jetstream.JetStream
	placeKV jetstream.KeyValue
	instKV  jetstream.KeyValue
	cli     *client.Client
	rt      *runtime.Docker
	img     string
	node    string
}

func newExecEnv(t *testing.T) *execEnv {
	t.Helper()
	cli := testenv.Docker(t)
	img := testenv.TestImage(t, cli)
	ns := testenv.NATS(t)
	nc, js := testenv.Connect(t, ns.ClientURL())
	ctx := t.Context()
	if err := bus.EnsureKV(ctx, js, 0); err != nil {
		t.Fatal(err)
	}
	if err := bus.EnsureStreams(ctx, js, bus.StreamLimits{}); err != nil {
		t.Fatal(err)
	}
	pkv, err := js.KeyValue(ctx, bus.BucketPlacements)
	if err != nil {
		t.Fatal(err)
	}
	ikv, err := js.KeyValue(ctx, bus.BucketInstances)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.NewDocker(runtime.DockerOptions{Client: cli, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	env := &execEnv{url: ns.ClientURL(), nc: nc, js: js, placeKV: pkv, instKV: ikv, cli: cli, rt: rt, img: img, node: "ex-" + hex.EncodeToString(b)}
	t.Cleanup(func() {
		// The test's context is over when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cs, err := rt.List(ctx, env.node)
		if err != nil {
			t.Errorf("cleanup: %v", err)
		}
		for _, c := range cs {
			_ = rt.Remove(ctx, c.ID)
		}
	})
	return env
}

// start runs an executor for the node until the returned stop is called
// (or the test ends).
func (env *execEnv) start(t *testing.T) (*prometheus.Registry, func()) {
	t.Helper()
	return env.startWith(t, ExecutorOptions{
		Runtime:         env.rt,
		Execer:          env.rt,
		PollInterval:    200 * time.Millisecond,
		ResyncInterval:  time.Second,
		RefreshInterval: time.Second,
		SettleDelay:     500 * time.Millisecond,
		StopGrace:       time.Second,
	})
}

// startWith is start with o's runtime and timings.
func (env *execEnv) startWith(t *testing.T, o ExecutorOptions) (*prometheus.Registry, func()) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o.Node, o.Addr, o.JS, o.Logger, o.Registerer = env.node, bindIP, env.js, testLogger(t), reg
	ex, err := NewExecutor(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ex.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("executor Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return reg, stop
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// webService is the test app serving HTTP on one port, checked on
// /healthz every second, killed after two failures in a row.
func (env *execEnv) webService(t *testing.T) *spec.Service {
	s := spec.NewService("/it/web", env.img)
	s.PortMappings = []spec.PortMapping{{ContainerPort: 8080, Protocol: "tcp"}}
	hc := spec.NewHealthCheck()
	hc.Path, hc.GracePeriodSeconds, hc.IntervalSeconds, hc.TimeoutSeconds, hc.MaxConsecutiveFailures = "/healthz", 0, 1, 1, 2
	s.HealthChecks = []spec.HealthCheck{hc}
	s.Labels = map[string]string{testenv.LabelTest: t.Name()}
	s.Cpus, s.Mem = 0.25, 64
	return &s
}

func (env *execEnv) place(t *testing.T, id string, s *spec.Service, stop bool) state.Placement {
	t.Helper()
	p := state.Placement{ID: id, Service: s.ID, Node: env.node, Version: "v1", Stop: stop, At: time.Now().UTC(), Spec: s}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.placeKV.Put(t.Context(), p.Key(), b); err != nil {
		t.Fatal(err)
	}
	return p
}

func (env *execEnv) instance(t *testing.T, id string) (state.Instance, bool) {
	t.Helper()
	e, err := env.instKV.Get(t.Context(), state.InstanceKey(env.node, id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return state.Instance{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	var in state.Instance
	if err := json.Unmarshal(e.Value(), &in); err != nil {
		t.Fatal(err)
	}
	return in, true
}

// waitInstance polls the instance record until ok accepts it.
func (env *execEnv) waitInstance(t *testing.T, id, what string, ok func(state.Instance) bool) state.Instance {
	t.Helper()
	var last state.Instance
	deadline := time.Now().Add(30 * time.Second)
	for {
		in, found := env.instance(t, id)
		if found {
			last = in
			if ok(in) {
				return in
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s: no %s within 30s; last record: %+v", id, what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (env *execEnv) containers(t *testing.T) []runtime.Container {
	t.Helper()
	cs, err := env.rt.List(t.Context(), env.node)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func httpStatus(url string) (int, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestIntegrationExecutorRunsPlacementOnAgentAddrAndStopsIt(t *testing.T) {
	env := newExecEnv(t)
	signals := make(chan *nats.Msg, 64)
	sub, err := env.nc.ChanSubscribe(SignalSubject("/it/web"), signals)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	points := make(chan *nats.Msg, 64)
	psub, err := env.nc.ChanSubscribe(bus.MetricsSubject(env.node), points)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = psub.Unsubscribe() }()

	env.start(t)
	env.place(t, "web-1", env.webService(t), false)
	in := env.waitInstance(t, "web-1", "running and healthy", func(in state.Instance) bool {
		return in.State == state.Running && in.Healthy
	})
	if len(in.HostPorts) != 1 || in.HostPorts[0] == 0 || in.ContainerID == "" || in.Image != env.img ||
		in.StartedAt.IsZero() || in.Service != "/it/web" || in.Node != env.node || in.Version != "v1" {
		t.Fatalf("record %+v: want one host port, container, image %s, start time, service, node, version", in, env.img)
	}
	port := strconv.Itoa(in.HostPorts[0])
	if code, err := httpStatus("http://" + net.JoinHostPort(bindIP, port) + "/healthz"); err != nil || code != http.StatusOK {
		t.Errorf("GET /healthz on %s:%s: %d %v", bindIP, port, code, err)
	}
	if _, err := httpStatus("http://127.0.0.1:" + port + "/healthz"); err == nil {
		t.Errorf("port %s answers on 127.0.0.1 too: not bound to the agent's address only", port)
	}

	info, err := env.cli.ContainerInspect(t.Context(), in.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{runtime.LabelService: "/it/web", runtime.LabelInstance: "web-1", runtime.LabelNode: env.node, runtime.LabelVersion: "v1", testenv.LabelTest: t.Name()} {
		if got := info.Config.Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	if info.HostConfig.NanoCPUs != 250_000_000 || info.HostConfig.Memory != 64<<20 {
		t.Errorf("limits: %d nano CPUs, %d bytes; want 0.25 CPU, 64 MiB", info.HostConfig.NanoCPUs, info.HostConfig.Memory)
	}

	waitSignal(t, signals, func(s HealthSignal) bool { return s.Instance == "web-1" && s.Node == env.node && s.Healthy })
	waitPoint(t, points, "swell_health,instance=web-1,node="+env.node+",service=/it/web healthy=true,consecutive_failures=0i")

	env.place(t, "web-1", env.webService(t), true)
	env.waitInstance(t, "web-1", "stopped", func(in state.Instance) bool { return in.State == state.Stopped && !in.Healthy })
	if cs := env.containers(t); len(cs) != 0 {
		t.Errorf("after stop, the node still has containers: %+v", cs)
	}
}

func waitSignal(t *testing.T, ch <-chan *nats.Msg, ok func(HealthSignal) bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-ch:
			var s HealthSignal
			if err := json.Unmarshal(m.Data, &s); err != nil {
				t.Fatalf("signal %q: %v", m.Data, err)
			}
			if ok(s) {
				return
			}
		case <-deadline:
			t.Fatal("no matching health signal within 15s")
		}
	}
}

func waitPoint(t *testing.T, ch <-chan *nats.Msg, prefix string) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	var seen []string
	for {
		select {
		case m := <-ch:
			for line := range strings.Lines(string(m.Data)) {
				if strings.HasPrefix(line, prefix+" ") {
					return
				}
				seen = append(seen, strings.TrimSpace(line))
			}
		case <-deadline:
			t.Fatalf("no point %q within 15s; saw %q", prefix, seen)
		}
	}
}

func TestIntegrationExecutorKillsAndRelaunchesInstanceFailingHealthChecks(t *testing.T) {
	env := newExecEnv(t)
	reg, _ := env.start(t)
	env.place(t, "web-1", env.webService(t), false)
	in := env.waitInstance(t, "web-1", "running and healthy", func(in state.Instance) bool {
		return in.State == state.Running && in.Healthy
	})
	url := "http://" + net.JoinHostPort(bindIP, strconv.Itoa(in.HostPorts[0])) + "/fail?healthz=60"
	if code, err := httpStatus(url); err != nil || code != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, code, err)
	}
	env.waitInstance(t, "web-1", "unhealthy while running", func(in state.Instance) bool {
		return in.State == state.Running && !in.Healthy
	})
	failed := env.waitInstance(t, "web-1", "failed", func(in state.Instance) bool { return in.State == state.Failed })
	if !strings.Contains(failed.Reason, "health check failures") || failed.Healthy {
		t.Errorf("failed record %+v: want unhealthy, reason naming health check failures", failed)
	}
	if n := testenv.Metric(t, reg, "swell_executor_health_kills_total", nil); n != 1 {
		t.Errorf("%v health kills, want 1", n)
	}
	// After the backoff the agent relaunches the instance in a fresh
	// container, and the killed one is gone.
	again := env.waitInstance(t, "web-1", "relaunched, running and healthy", func(in state.Instance) bool {
		return in.State == state.Running && in.Healthy && in.ContainerID != failed.ContainerID
	})
	if cs := env.containers(t); len(cs) != 1 || cs[0].ID != again.ContainerID {
		t.Errorf("containers %+v: want only the relaunched one", cs)
	}
	// A placement deleted while its container runs: stopped, removed, and
	// the record goes too.
	if err := env.placeKV.Delete(t.Context(), state.InstanceKey(env.node, "web-1")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the container to go", func() bool { return len(env.containers(t)) == 0 })
	waitUntil(t, "the record to go", func() bool { _, ok := env.instance(t, "web-1"); return !ok })
}

func TestIntegrationExecutorReportsExitAsFailedAndRelaunches(t *testing.T) {
	env := newExecEnv(t)
	env.start(t)
	s := env.webService(t)
	s.HealthChecks = nil // healthy once running
	env.place(t, "web-1", s, false)
	in := env.waitInstance(t, "web-1", "running and healthy", func(in state.Instance) bool {
		return in.State == state.Running && in.Healthy
	})
	url := "http://" + net.JoinHostPort(bindIP, strconv.Itoa(in.HostPorts[0])) + "/fail?exit=3"
	_, _ = httpStatus(url) // the process may go before the answer arrives
	failed := env.waitInstance(t, "web-1", "failed", func(in state.Instance) bool { return in.State == state.Failed })
	if failed.Reason != "container exited with code 3" || failed.Healthy {
		t.Errorf("record %+v, want unhealthy with the exit code as reason", failed)
	}
	env.waitInstance(t, "web-1", "relaunched after the backoff", func(in state.Instance) bool {
		return in.State == state.Running && in.ContainerID != failed.ContainerID
	})
}

func TestIntegrationExecutorMissingImageFailsWithBackoff(t *testing.T) {
	env := newExecEnv(t)
	reg, _ := env.start(t)
	s := env.webService(t)
	s.Image = "swell-no-such-image:" + env.node
	s.BackoffSeconds, s.BackoffFactor, s.MaxLaunchDelaySeconds = 1, 2, 60
	env.place(t, "web-1", s, false)
	in := env.waitInstance(t, "web-1", "failed", func(in state.Instance) bool { return in.State == state.Failed })
	if !strings.Contains(in.Reason, "not on this node") || !strings.Contains(in.Reason, s.Image) {
		t.Errorf("reason %q: want it to say the image is missing", in.Reason)
	}
	first := time.Now()
	attempts := func() float64 {
		return testenv.Metric(t, reg, "swell_executor_launches_total", map[string]string{"result": "failed"})
	}
	waitUntil(t, "a retry after the backoff", func() bool { return attempts() >= 2 })
	// Delays 1 s then 2 s: at most 3 attempts in the first 3.5 s (a
	// retry storm at the 200 ms poll would make ~17).
	time.Sleep(time.Until(first.Add(3500 * time.Millisecond))) // counting over a window
	if n := attempts(); n > 3 {
		t.Errorf("%v launch attempts in 3.5 s: backoff not applied", n)
	}
	if cs := env.containers(t); len(cs) != 0 {
		t.Errorf("containers left by failed launches: %+v", cs)
	}
	// The state stays failed between attempts, with the reason and the
	// failures in a row the scheduler moves an instance after.
	if in, _ := env.instance(t, "web-1"); in.State != state.Failed || in.Reason == "" || in.Restarts < 2 {
		t.Errorf("record %+v: want failed with a reason and at least 2 restarts", in)
	}
}

func TestIntegrationExecutorRestartAdoptsContainerAndRemovesOrphan(t *testing.T) {
	env := newExecEnv(t)
	_, stop := env.start(t)
	s := env.webService(t)
	env.place(t, "web-1", s, false)
	before := env.waitInstance(t, "web-1", "running and healthy", func(in state.Instance) bool {
		return in.State == state.Running && in.Healthy
	})
	stop()

	// While no agent runs: a container of this node that no placement wants.
	ghost, err := env.rt.Create(t.Context(), runtime.Spec{Service: "/it/ghost", Instance: "ghost-1", Node: env.node, Image: env.img,
		Cmd: []string{"sleep"}, Labels: map[string]string{testenv.LabelTest: t.Name()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.rt.Start(t.Context(), ghost.ID); err != nil {
		t.Fatal(err)
	}

	env.start(t)
	waitUntil(t, "the orphan to be removed", func() bool {
		for _, c := range env.containers(t) {
			if c.ID == ghost.ID {
				return false
			}
		}
		return true
	})
	after := env.waitInstance(t, "web-1", "a refreshed record", func(in state.Instance) bool {
		return in.UpdatedAt.After(before.UpdatedAt.Add(time.Second)) && in.Healthy
	})
	if after.ContainerID != before.ContainerID || after.State != state.Running || !after.StartedAt.Equal(before.StartedAt) {
		t.Errorf("after restart %+v; want the same container %s still running", after, before.ContainerID)
	}
	if cs := env.containers(t); len(cs) != 1 || cs[0].ID != before.ContainerID {
		t.Errorf("containers %+v: want only the adopted one", cs)
	}
}

func TestContainerSpecFromPlacement(t *testing.T) {
	base := func() *spec.Service {
		s := spec.NewService("/shop/web", "web:1")
		s.Env = map[string]string{"A": "1"}
		s.Labels = map[string]string{"team": "x"}
		s.Cpus, s.Mem = 0.5, 256
		s.PortMappings = []spec.PortMapping{{ContainerPort: 8080, Protocol: "tcp"}, {ContainerPort: 53, HostPort: 5353, Protocol: "udp"}}
		return &s
	}
	tests := []struct {
		name           string
		edit           func(*spec.Service)
		wantEntrypoint []string
		wantCmd        []string
	}{
		{name: "image's entrypoint and command kept", edit: func(*spec.Service) {}},
		{name: "cmd replaces the entrypoint", edit: func(s *spec.Service) { s.Cmd = []string{"/web", "--port", "8080"} },
			wantEntrypoint: []string{"/web", "--port", "8080"}, wantCmd: []string{}},
		{name: "args go to the entrypoint", edit: func(s *spec.Service) { s.Args = []string{"sleep"} }, wantCmd: []string{"sleep"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.edit(s)
			rs, err := containerSpec(state.Placement{ID: "web-1", Service: s.ID, Node: "n1", Version: "v7", Spec: s}, "n1", "10.0.0.5")
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprint(runtime.Spec{Service: "/shop/web", Instance: "web-1", Node: "n1", Version: "v7", Image: "web:1",
				Entrypoint: tt.wantEntrypoint, Cmd: tt.wantCmd, Env: s.Env, CPUs: 0.5, MemMiB: 256, BindIP: "10.0.0.5", Labels: s.Labels,
				Ports: []runtime.PortMapping{{ContainerPort: 8080, Protocol: "tcp"}, {ContainerPort: 53, HostPort: 5353, Protocol: "udp"}}})
			if got := fmt.Sprint(rs); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
	if _, err := containerSpec(state.Placement{ID: "x"}, "n1", ""); err == nil {
		t.Error("a placement without spec: no error")
	}
}

func TestHealthChecksFromSpec(t *testing.T) {
	hc := func(edit func(*spec.HealthCheck)) spec.HealthCheck {
		h := spec.NewHealthCheck()
		edit(&h)
		return h
	}
	tests := []struct {
		name      string
		checks    []spec.HealthCheck
		ports     int
		want      []health.Check
		wantExtra []int
		wantErr   string
	}{
		{
			name:   "HTTP on a port index with Marathon's timings",
			checks: []spec.HealthCheck{hc(func(h *spec.HealthCheck) { h.Path, h.PortIndex, h.IgnoreHTTP1xx = "/healthz", 1, true })},
			ports:  2,
			want: []health.Check{{Protocol: health.HTTP, Path: "/healthz", PortIndex: 1, GracePeriod: 300 * time.Second,
				Interval: 60 * time.Second, Timeout: 20 * time.Second, MaxConsecutiveFailures: 3, IgnoreHTTP1xx: true}},
		},
		{
			name:      "a fixed port becomes an extra host port",
			checks:    []spec.HealthCheck{hc(func(h *spec.HealthCheck) { h.Protocol, h.Port = "TCP", 9000 })},
			ports:     1,
			want:      []health.Check{{Protocol: health.TCP, PortIndex: 1, GracePeriod: 300 * time.Second, Interval: 60 * time.Second, Timeout: 20 * time.Second, MaxConsecutiveFailures: 3}},
			wantExtra: []int{9000},
		},
		{
			name:   "COMMAND runs through a shell",
			checks: []spec.HealthCheck{hc(func(h *spec.HealthCheck) { h.Protocol, h.Command = "COMMAND", &spec.CommandCheck{Value: "test -f /ok"} })},
			want: []health.Check{{Protocol: health.COMMAND, Command: []string{"/bin/sh", "-c", "test -f /ok"}, GracePeriod: 300 * time.Second,
				Interval: 60 * time.Second, Timeout: 20 * time.Second, MaxConsecutiveFailures: 3}},
		},
		{
			name:    "a port index the instance lacks",
			checks:  []spec.HealthCheck{hc(func(h *spec.HealthCheck) { h.PortIndex = 2 })},
			ports:   1,
			wantErr: "healthChecks[0]: health check HTTP: portIndex 2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, extra, err := healthChecks(tt.checks, tt.ports)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || fmt.Sprint(extra) != fmt.Sprint(tt.wantExtra) {
				t.Errorf("got %+v extra %v\nwant %+v extra %v", got, extra, tt.want, tt.wantExtra)
			}
		})
	}
}

func TestLaunchBackoffFromSpec(t *testing.T) {
	s := spec.NewService("/a", "img")
	s.BackoffSeconds, s.BackoffFactor, s.MaxLaunchDelaySeconds = 2, 3, 60
	tests := []struct {
		name string
		in   *spec.Service
		want runtime.Backoff
	}{
		{"the spec's fields", &s, runtime.Backoff{Initial: 2 * time.Second, Factor: 3, MaxLaunchDelay: time.Minute}},
		{"no spec: Marathon's defaults", nil, runtime.DefaultBackoff()},
		{"an impossible factor: Marathon's defaults", &spec.Service{BackoffSeconds: 1, BackoffFactor: 0.5}, runtime.DefaultBackoff()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := launchBackoff(tt.in); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestIntegrationAgentRunsPlacementsWhenDockerAnswers(t *testing.T) {
	env := newExecEnv(t)
	points := make(chan *nats.Msg, 256)
	psub, err := env.nc.ChanSubscribe(bus.MetricsSubject(env.node), points)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = psub.Unsubscribe() }()
	ag, err := New(Options{
		NATS: bus.ConnOptions{URL: env.url}, Node: env.node, Addr: bindIP,
		Inputs: []string{"mem"}, Interval: time.Second, DataDir: t.TempDir(), Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	env.place(t, "web-1", env.webService(t), false)
	in := env.waitInstance(t, "web-1", "running and healthy", func(in state.Instance) bool {
		return in.State == state.Running && in.Healthy
	})
	if code, err := httpStatus("http://" + net.JoinHostPort(bindIP, strconv.Itoa(in.HostPorts[0])) + "/healthz"); err != nil || code != http.StatusOK {
		t.Errorf("GET /healthz: %d %v", code, err)
	}
	// Health points go through the agent's output, beside its metrics.
	waitPoint(t, points, "swell_health,instance=web-1,node="+env.node+",service=/it/web healthy=true,consecutive_failures=0i")
}

func TestAgentSaysOnceThatContainersCannotRunWithoutDocker(t *testing.T) {
	ns := testenv.NATS(t)
	var logs testenv.SyncBuffer
	ag, err := New(Options{
		NATS: bus.ConnOptions{URL: ns.ClientURL()}, Node: "no-docker", DockerHost: "unix:///nonexistent/docker.sock",
		Inputs: []string{"mem"}, Interval: 100 * time.Millisecond, DataDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ag.engineRetry = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	const said = "containers cannot run on this node"
	waitUntil(t, "the agent to say containers cannot run", func() bool { return strings.Contains(logs.String(), said) })
	// Many retries later, still said once, and the agent still collects.
	time.Sleep(300 * time.Millisecond) // proving that something does not happen needs a wait
	if err := ag.Check(t.Context()); err != nil {
		t.Errorf("agent check: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := strings.Count(logs.String(), said); n != 1 {
		t.Errorf("said %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "unix:///nonexistent/docker.sock") {
		t.Errorf("the message does not name the engine address:\n%s", logs.String())
	}
}

func TestIntegrationExecutorCmdReplacesEntrypoint(t *testing.T) {
	env := newExecEnv(t)
	env.start(t)
	s := spec.NewService("/it/sleeper", env.img)
	s.Cmd = []string{"/testapp", "sleep"}
	s.Labels = map[string]string{testenv.LabelTest: t.Name()}
	env.place(t, "sleeper-1", &s, false)
	in := env.waitInstance(t, "sleeper-1", "running", func(in state.Instance) bool { return in.State == state.Running })
	info, err := env.cli.ContainerInspect(t.Context(), in.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(info.Config.Entrypoint, info.Config.Cmd); got != "[/testapp sleep] []" {
		t.Errorf("entrypoint and cmd %s, want [/testapp sleep] []", got)
	}
	if !in.Healthy || len(in.HostPorts) != 0 {
		t.Errorf("record %+v: want healthy (no checks) and no ports", in)
	}
}

// TestIntegrationExecutorStopsAdoptedContainersOfLostRecords replays a
// node coming back: its agent died with containers running, the
// scheduler marked their records lost, and the placements turn Stop
// around the start of the next agent — before it, at once after, and
// once it has adopted the container (that one then deleted at once, as
// the scheduler does with a stopped placement reported lost). The new
// agent must stop and remove every container, and report the stops or
// drop the deleted one's record.
func TestIntegrationExecutorStopsAdoptedContainersOfLostRecords(t *testing.T) {
	env := newExecEnv(t)
	// As an agent process would: its own engine client, default timings.
	startAgent := func() func() {
		rt, err := runtime.NewDocker(runtime.DockerOptions{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rt.Close() })
		_, stop := env.startWith(t, ExecutorOptions{Runtime: rt, Execer: rt, StopGrace: 2 * time.Second, SettleDelay: time.Second})
		return stop
	}
	stopA := startAgent()
	s := env.webService(t)
	ids := []string{"web-1", "web-2", "web-3"}
	for _, id := range ids {
		env.place(t, id, s, false)
	}
	for _, id := range ids {
		env.waitInstance(t, id, "running and healthy", func(in state.Instance) bool {
			return in.State == state.Running && in.Healthy
		})
	}
	stopA()

	// What the scheduler does to the records of a node gone silent.
	markLost := func(id string) {
		update(t, env.instKV, state.InstanceKey(env.node, id), func(b []byte) []byte {
			var in state.Instance
			if err := json.Unmarshal(b, &in); err != nil {
				t.Fatal(err)
			}
			in.State, in.Healthy, in.Reason = state.Lost, false, "node silent"
			out, _ := json.Marshal(in)
			return out
		})
	}

	for _, id := range ids {
		markLost(id)
	}
	stopPlacement := func(id string) {
		update(t, env.placeKV, state.InstanceKey(env.node, id), func(b []byte) []byte {
			var p state.Placement
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			p.Stop, p.Reason = true, "node is back"
			out, _ := json.Marshal(p)
			return out
		})
	}

	stopPlacement("web-1")
	startAgent()
	stopPlacement("web-2")
	env.waitInstance(t, "web-3", "adopted", func(in state.Instance) bool { return in.State == state.Running })
	// The scheduler, a pass behind, still thinks the node silent and marks
	// over what the new agent wrote; then, seeing a stopped placement
	// reported lost, it deletes placement and record at once.
	markLost("web-3")
	stopPlacement("web-3")
	key3 := state.InstanceKey(env.node, "web-3")
	if err := env.placeKV.Delete(t.Context(), key3); err != nil {
		t.Fatal(err)
	}
	if err := env.instKV.Delete(t.Context(), key3); err != nil {
		t.Fatal(err)
	}

	for _, id := range []string{"web-1", "web-2"} {
		env.waitInstance(t, id, "stopped", func(in state.Instance) bool { return in.State == state.Stopped })
	}
	waitUntil(t, "every container removed", func() bool { return len(env.containers(t)) == 0 })
	waitUntil(t, "web-3's record gone", func() bool {
		_, ok := env.instance(t, "web-3")
		return !ok
	})
}

// update rewrites a key with a revision check, as the scheduler does.
func update(t *testing.T, kv jetstream.KeyValue, key string, f func([]byte) []byte) {
	t.Helper()
	e, err := kv.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if _, err := kv.Update(t.Context(), key, f(e.Value()), e.Revision()); err != nil {
		t.Fatalf("update %s: %v", key, err)
	}
}

// TestResyncDropsQueuedUpdatesOfDeletedPlacements: an update of a
// placement still queued from the watch when a resync finds the
// placement deleted must not bring it back.
func TestResyncDropsQueuedUpdatesOfDeletedPlacements(t *testing.T) {
	ns := testenv.NATS(t)
	_, js := testenv.Connect(t, ns.ClientURL())
	ctx := t.Context()
	if err := bus.EnsureKV(ctx, js, 0); err != nil {
		t.Fatal(err)
	}
	pkv, err := js.KeyValue(ctx, bus.BucketPlacements)
	if err != nil {
		t.Fatal(err)
	}
	// The runtime is never reached: only the placement bookkeeping runs.
	ex, err := NewExecutor(ExecutorOptions{Node: "n1", JS: js, Runtime: struct{ runtime.Runtime }{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.tryOpen(ctx); err != nil {
		t.Fatal(err)
	}
	put := func(id string, stop bool) jetstream.KeyValueEntry {
		p := state.Placement{ID: id, Service: "/s", Node: "n1", Version: "v1", Stop: stop}
		b, _ := json.Marshal(p)
		if _, err := pkv.Put(ctx, p.Key(), b); err != nil {
			t.Fatal(err)
		}
		e, err := pkv.Get(ctx, p.Key())
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	queuedRun := put("a", false)
	queuedStop := put("b", true)
	put("c", false)
	for _, id := range []string{"a", "b"} {
		if err := pkv.Delete(ctx, state.InstanceKey("n1", id)); err != nil {
			t.Fatal(err)
		}
	}
	ex.resync(ctx)
	if !ex.synced {
		t.Fatal("resync did not complete")
	}
	ex.apply(queuedRun)
	ex.apply(queuedStop)
	got := make([]string, 0, len(ex.placements))
	for k := range ex.placements {
		got = append(got, k)
	}
	if want := state.InstanceKey("n1", "c"); len(got) != 1 || got[0] != want {
		t.Errorf("placements after resync and stale updates: %v, want only %s", got, want)
	}
}

func TestOnlyInstancesThatMayBeRoutedAreDrained(t *testing.T) {
	plain := spec.NewService("/it/worker", "w:1")
	plain.PortMappings = []spec.PortMapping{{ContainerPort: 8080, Protocol: "tcp"}}
	routedSvc := plain
	routedSvc.PortMappings = []spec.PortMapping{{ContainerPort: 8080, Protocol: "tcp"}, {ContainerPort: 9090, ServicePort: 10001, Protocol: "tcp"}}
	tests := []struct {
		name string
		s    *spec.Service
		want bool
	}{
		{"no servicePort: nobody routes to it", &plain, false},
		{"a servicePort on any mapping", &routedSvc, true},
		{"spec unknown (an orphan): drain to be safe", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := routed(tt.s); got != tt.want {
				t.Errorf("routed = %v, want %v", got, tt.want)
			}
		})
	}
}
