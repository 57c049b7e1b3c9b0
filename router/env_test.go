package router

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/spec"
)

// env is NATS with the state buckets, and routers started on it.
type env struct {
	nc                             *nats.Conn
	js                             jetstream.JetStream
	services, instances, nodes, pl jetstream.KeyValue
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ns := testenv.NATS(t)
	nc, js := testenv.Connect(t, ns.ClientURL())
	if err := bus.EnsureKV(t.Context(), js, 0); err != nil {
		t.Fatal(err)
	}
	e := &env{nc: nc, js: js}
	for b, kv := range map[string]*jetstream.KeyValue{
		bus.BucketServices: &e.services, bus.BucketInstances: &e.instances,
		bus.BucketNodes: &e.nodes, bus.BucketPlacements: &e.pl,
	} {
		v, err := js.KeyValue(t.Context(), b)
		if err != nil {
			t.Fatal(err)
		}
		*kv = v
	}
	e.putNode(t, "n1", "127.0.0.1")
	return e
}

func (e *env) putJSON(t *testing.T, kv jetstream.KeyValue, key string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), key, b); err != nil {
		t.Fatal(err)
	}
}

func (e *env) putNode(t *testing.T, name, addr string) {
	e.putJSON(t, e.nodes, bus.Token(name), state.Node{Name: name, Addr: addr, Heartbeat: time.Now()})
}

// service stores a service whose first port mapping has servicePort port.
func (e *env) service(t *testing.T, id string, port int, mod func(*spec.Service), traffic *Traffic) {
	t.Helper()
	s := spec.NewService(id, "web:1")
	s.PortMappings = []spec.PortMapping{{ContainerPort: 8080, ServicePort: port, Protocol: "tcp"}}
	if mod != nil {
		mod(&s)
	}
	e.putJSON(t, e.services, state.ServiceKey(id), state.ServiceRecord{Spec: s, Version: "v1", Traffic: traffic})
}

// instance stores an instance of service on node n1 at hostPort.
func (e *env) instance(t *testing.T, service, id, version string, hostPort int, st state.InstanceState, healthy bool) {
	t.Helper()
	in := state.Instance{ID: id, Service: service, Node: "n1", Version: version, State: st, Healthy: healthy, HostPorts: []int{hostPort}}
	e.putJSON(t, e.instances, in.Key(), in)
}

func (e *env) router(t *testing.T, mod func(*Options)) *Router {
	t.Helper()
	o := Options{Node: "r1", Addr: "127.0.0.1", JS: e.js, SignalInterval: 50 * time.Millisecond, HoldTimeout: 5 * time.Second,
		Registerer: prometheus.NewRegistry(), Logger: testLogger(t)}
	if mod != nil {
		mod(&o)
	}
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router Run: %v", err)
		}
	})
	return r
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

// backend is an HTTP server that names itself in X-Instance and, with
// ?hold=1, answers only once released.
type testBackend struct {
	srv     *httptest.Server
	name    string
	port    int
	release chan struct{}
	mu      sync.Mutex
	hits    int
	started chan struct{}
}

func newBackend(t *testing.T, name string) *testBackend {
	t.Helper()
	b := &testBackend{name: name, release: make(chan struct{}), started: make(chan struct{}, 100)}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	b.port = b.srv.Listener.Addr().(*net.TCPAddr).Port
	return b
}

func (b *testBackend) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.hits++
	b.mu.Unlock()
	if r.URL.Query().Get("hold") == "1" {
		b.started <- struct{}{}
		<-b.release
	}
	w.Header().Set("X-Instance", b.name)
	w.Header().Set("X-Proto", r.Proto)
	w.Header().Set("X-Host", r.Host)
	_, _ = w.Write([]byte("ok " + b.name))
}

func (b *testBackend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits
}

func url(port int, path string) string { return "http://127.0.0.1:" + strconv.Itoa(port) + path }

// get returns the status and the answering instance, or an error.
func get(c *http.Client, u string) (int, string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var buf [256]byte
	for {
		if _, err := resp.Body.Read(buf[:]); err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header.Get("X-Instance"), nil
}

// waitAnswers polls until a GET on port is answered by one of want.
func waitAnswers(t *testing.T, port int, what string, ok func(status int, instance string) bool) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		st, in, err := get(c, url(port, "/"))
		if err == nil && ok(st, in) {
			return
		}
		last = strconv.Itoa(st) + " " + in
		if err != nil {
			last = err.Error()
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s on :%d (last: %s)", what, port, last)
}

// capture is a collector.Output keeping what it is given.
type capture struct {
	mu      sync.Mutex
	batches []collector.Batch
}

func (c *capture) Write(_ context.Context, b collector.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches = append(c.batches, b)
	return nil
}

func (c *capture) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var sb strings.Builder
	for _, b := range c.batches {
		sb.Write(b.Data)
	}
	return sb.String()
}

var _ collector.Output = (*capture)(nil)
