package agent

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/loadgen"
	"github.com/swell-pipeline/swell/router"
	"github.com/swell-pipeline/swell/spec"
)

// routedNode is a full agent (collector, executor, router) on its own
// loopback address, as one node of a cluster on this host.
type routedNode struct {
	name, addr string
}

// startAgent runs a full agent for node at addr until the test ends, and
// removes the node's containers afterwards.
func (env *execEnv) startAgent(t *testing.T, n routedNode, mod func(*Options)) {
	t.Helper()
	o := Options{
		NATS: bus.ConnOptions{URL: env.url}, Node: n.name, Addr: n.addr,
		Inputs: []string{"mem"}, Interval: time.Second, DataDir: t.TempDir(), Logger: testLogger(t),
		DrainTimeout: 20 * time.Second,
	}
	if mod != nil {
		mod(&o)
	}
	ag, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent %s: %v", n.name, err)
		}
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		cs, _ := env.rt.List(cctx, n.name)
		for _, c := range cs {
			_ = env.rt.Remove(cctx, c.ID)
		}
	})
}

// routedService is the test app behind servicePort, each instance
// answering /version with its own name.
func (env *execEnv) routedService(t *testing.T, servicePort int) spec.Service {
	s := *env.webService(t)
	s.ID = "/it/routed"
	s.PortMappings[0].ServicePort = servicePort
	return s
}

func (env *execEnv) putService(t *testing.T, s spec.Service) {
	t.Helper()
	kv, err := env.js.KeyValue(t.Context(), bus.BucketServices)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(state.ServiceRecord{Spec: s, Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), state.ServiceKey(s.ID), b); err != nil {
		t.Fatal(err)
	}
}

// placeOn writes a placement of s on node; the instance answers
// /version with its id.
func (env *execEnv) placeOn(t *testing.T, node, id string, s spec.Service, stop bool) {
	t.Helper()
	s.Env = map[string]string{"VERSION": id}
	p := state.Placement{ID: id, Service: s.ID, Node: node, Version: "v1", Stop: stop, At: time.Now().UTC(), Spec: &s}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.placeKV.Put(t.Context(), p.Key(), b); err != nil {
		t.Fatal(err)
	}
}

func (env *execEnv) waitRecord(t *testing.T, node, id, what string, ok func(state.Instance) bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last state.Instance
	for time.Now().Before(deadline) {
		e, err := env.instKV.Get(t.Context(), state.InstanceKey(node, id))
		if err == nil {
			var in state.Instance
			if json.Unmarshal(e.Value(), &in) == nil {
				last = in
				if ok(in) {
					return
				}
			}
		} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("instance %s on %s: not %s within 60s; last record %+v", id, node, what, last)
}

func version(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", errors.New(resp.Status)
	}
	return strings.TrimSpace(string(b)), err
}

// waitAnswered polls url until every name in want has answered.
func waitAnswered(t *testing.T, url string, want ...string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	seen := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if v, err := version(c, url); err == nil {
			seen[v] = true
		}
		all := true
		for _, w := range want {
			all = all && seen[w]
		}
		if all {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: answered by %v within 30s, want every one of %v", url, seen, want)
}

func TestIntegrationRouterScaleDownUnderLoadDropsNothing(t *testing.T) {
	env := newExecEnv(t)
	a := routedNode{name: env.node, addr: "127.0.0.2"}
	b := routedNode{name: env.node + "-b", addr: "127.0.0.3"}
	sp := testenv.FreePort(t)
	s := env.routedService(t, sp)
	env.putService(t, s)
	env.startAgent(t, a, nil)
	env.startAgent(t, b, nil)
	env.placeOn(t, a.name, "web-1", s, false)
	env.placeOn(t, a.name, "web-2", s, false)
	env.placeOn(t, b.name, "web-3", s, false)
	for _, x := range []struct{ node, id string }{{a.name, "web-1"}, {a.name, "web-2"}, {b.name, "web-3"}} {
		env.waitRecord(t, x.node, x.id, "running and healthy", func(in state.Instance) bool { return in.State == state.Running && in.Healthy })
	}
	// Either node's router reaches every instance, on its node or not.
	for _, n := range []routedNode{a, b} {
		waitAnswered(t, "http://"+n.addr+":"+strconv.Itoa(sp)+"/version", "web-1", "web-2", "web-3")
	}

	// 20 clients (10 on each router) send POSTs, which a router never
	// repeats: a request sent to an instance going away would fail.
	ctx, stopLoad := context.WithCancel(t.Context())
	defer stopLoad()
	var (
		wg      sync.WaitGroup
		results [2]loadgen.Result
		errs    [2]error
	)
	for i, n := range []routedNode{a, b} {
		wg.Go(func() {
			results[i], errs[i] = loadgen.Run(ctx, loadgen.Options{
				URL: "http://" + n.addr + ":" + strconv.Itoa(sp) + "/?ms=20", Method: http.MethodPost,
				Concurrency: 10, Duration: 2 * time.Minute,
			})
		})
	}
	// Requests longer than the app's own 5 s shutdown grace, spread over
	// the three instances: the ones on instances going away survive only
	// if the stop waits for them (the drain).
	long := make(chan string, 6)
	for i := range cap(long) {
		n := []routedNode{a, b}[i%2]
		go func() {
			req, _ := http.NewRequest(http.MethodPost, "http://"+n.addr+":"+strconv.Itoa(sp)+"/?ms=6500", nil)
			resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
			if err != nil {
				long <- err.Error()
				return
			}
			resp.Body.Close()
			long <- resp.Status
		}()
	}
	time.Sleep(time.Second) // load running before the scale-down
	env.placeOn(t, a.name, "web-2", s, true)
	env.placeOn(t, b.name, "web-3", s, true)
	env.waitRecord(t, a.name, "web-2", "stopped", func(in state.Instance) bool { return in.State == state.Stopped })
	env.waitRecord(t, b.name, "web-3", "stopped", func(in state.Instance) bool { return in.State == state.Stopped })
	time.Sleep(time.Second) // load running after the scale-down
	stopLoad()
	wg.Wait()
	for range cap(long) {
		if st := <-long; st != "200 OK" {
			t.Errorf("a long request in flight during the scale-down ended with %q, want 200 OK", st)
		}
	}
	for i, r := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		t.Logf("router %d: %s", i+1, r.Line())
		if r.Errors != 0 || r.Requests < 100 {
			t.Errorf("router %d under the 3→1 scale-down: %d requests, %d errors (first: %s); want zero errors", i+1, r.Requests, r.Errors, r.FirstError)
		}
	}
	c := &http.Client{Timeout: 5 * time.Second}
	for range 20 {
		if v, err := version(c, "http://"+b.addr+":"+strconv.Itoa(sp)+"/version"); err != nil || v != "web-1" {
			t.Fatalf("after the scale-down, answered by %q (%v); want only web-1", v, err)
		}
	}
}

func TestIntegrationRouterScaleFromZeroAnswersTheFirstRequest(t *testing.T) {
	env := newExecEnv(t)
	a := routedNode{name: env.node, addr: "127.0.0.2"}
	sp := testenv.FreePort(t)
	s := env.routedService(t, sp)
	s.Autoscale = &spec.Autoscale{Min: 0, Max: 1, ScaleToZero: spec.ScaleToZero{Enabled: true}}
	env.putService(t, s)
	env.startAgent(t, a, func(o *Options) { o.HoldTimeout = time.Minute })
	signals := make(chan *nats.Msg, 1024)
	sub, err := env.nc.ChanSubscribe(router.SignalSubject(s.ID), signals)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	addr := net.JoinHostPort(a.addr, strconv.Itoa(sp))
	waitUntil(t, "the router to listen on the servicePort", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	answer := make(chan string, 1)
	go func() {
		v, err := version(&http.Client{Timeout: 2 * time.Minute}, "http://"+addr+"/version")
		if err != nil {
			v = err.Error()
		}
		answer <- v
	}()
	// The autoscaler's part, by hand: the router says it holds a request,
	// and an instance is placed.
	deadline := time.After(30 * time.Second)
	for held := false; !held; {
		select {
		case m := <-signals:
			var sig router.Signal
			held = json.Unmarshal(m.Data, &sig) == nil && sig.Kind == router.SignalKind && sig.Queued == 1
		case <-deadline:
			t.Fatal("no signal of the held request within 30s")
		}
	}
	env.placeOn(t, a.name, "web-1", s, false)
	if got := <-answer; got != "web-1" {
		t.Errorf("the first request got %q, want the answer of web-1", got)
	}
}
