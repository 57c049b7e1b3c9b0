package router

import (
	"bufio"
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

	"github.com/swell-pipeline/swell/autoscaler"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/spec"
)

func TestRequestsReachEveryReadyInstanceAndFollowTheState(t *testing.T) {
	e := newEnv(t)
	port := testenv.FreePort(t)
	bs := []*testBackend{newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")}
	e.service(t, "/t/web", port, nil, nil)
	e.instance(t, "/t/web", "a", "v1", bs[0].port, state.Running, true)
	e.instance(t, "/t/web", "b", "v1", bs[1].port, state.Running, true)
	e.instance(t, "/t/web", "c", "v1", bs[2].port, state.Starting, false)
	e.router(t, nil)
	waitAnswers(t, port, "the service", func(st int, _ string) bool { return st == 200 })

	c := &http.Client{}
	seen := map[string]int{}
	for range 60 {
		st, in, err := get(c, url(port, "/"))
		if err != nil || st != 200 {
			t.Fatalf("GET = %d, %v", st, err)
		}
		seen[in]++
	}
	if seen["a"] == 0 || seen["b"] == 0 || seen["c"] != 0 {
		t.Errorf("answers by instance = %v; want a and b, never the starting c", seen)
	}

	// c becomes healthy, a unhealthy, b is asked to stop: only c answers.
	e.instance(t, "/t/web", "c", "v1", bs[2].port, state.Running, true)
	e.instance(t, "/t/web", "a", "v1", bs[0].port, state.Running, false)
	e.putJSON(t, e.pl, state.InstanceKey("n1", "b"), state.Placement{ID: "b", Service: "/t/web", Node: "n1", Stop: true})
	// Three records change, each seen through its own watch: wait until
	// all three are in (c answers many times in a row), then hold it.
	waitFor(t, "c alone", func() bool {
		for range 20 {
			if _, in, err := get(c, url(port, "/")); err != nil || in != "c" {
				return false
			}
		}
		return true
	})
	for range 30 {
		if _, in, err := get(c, url(port, "/")); err != nil || in != "c" {
			t.Fatalf("after the change, answered by %q (%v); want only c", in, err)
		}
	}

	// The service goes: its port closes.
	if err := e.services.Delete(t.Context(), state.ServiceKey("/t/web")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the port to close", func() bool {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
}

func TestProxyKeepsTheHostAndSaysWhoAsked(t *testing.T) {
	e := newEnv(t)
	port := testenv.FreePort(t)
	b := newBackend(t, "a")
	e.service(t, "/t/web", port, nil, nil)
	e.instance(t, "/t/web", "a", "v1", b.port, state.Running, true)
	e.router(t, nil)
	waitAnswers(t, port, "the service", func(st int, _ string) bool { return st == 200 })
	req, _ := http.NewRequest(http.MethodGet, url(port, "/"), nil)
	req.Host = "shop.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := resp.Header.Get("X-Host"); h != "shop.example" {
		t.Errorf("the instance saw Host %q, want shop.example", h)
	}
}

func TestNoInstanceAnswers503WithRetryAfter(t *testing.T) {
	e := newEnv(t)
	port := testenv.FreePort(t)
	e.service(t, "/t/web", port, nil, nil)
	e.router(t, nil)
	waitAnswers(t, port, "a 503", func(st int, _ string) bool { return st == 503 })
	resp, err := http.Get(url(port, "/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("answer without instance = %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestIdempotentRequestsAreRetriedOnAnotherInstance(t *testing.T) {
	e := newEnv(t)
	port := testenv.FreePort(t)
	live := newBackend(t, "live")
	dead := testenv.FreePort(t) // nothing listens there
	e.service(t, "/t/web", port, nil, nil)
	e.instance(t, "/t/web", "live", "v1", live.port, state.Running, true)
	e.instance(t, "/t/web", "dead", "v1", dead, state.Running, true)
	e.router(t, nil)
	waitAnswers(t, port, "the service", func(st int, _ string) bool { return st == 200 })
	c := &http.Client{}
	for range 40 {
		st, in, err := get(c, url(port, "/"))
		if err != nil || st != 200 || in != "live" {
			t.Fatalf("GET = %d from %q, %v; want every GET answered by live", st, in, err)
		}
	}
	// A POST is not repeated: some reach the dead instance and fail.
	failed := 0
	for range 40 {
		resp, err := c.Post(url(port, "/"), "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusBadGateway {
			failed++
		}
	}
	if failed == 0 {
		t.Error("no POST failed: POSTs were retried, or never sent to the dead instance")
	}
}

func TestH2CBothWays(t *testing.T) {
	e := newEnv(t)
	port := testenv.FreePort(t)
	b := newBackend(t, "a")
	// The instance speaks HTTP/2 without TLS only.
	b.srv.Close()
	ps := new(http.Protocols)
	ps.SetUnencryptedHTTP2(true)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h2 := &http.Server{Handler: http.HandlerFunc(b.serve), Protocols: ps}
	go func() { _ = h2.Serve(l) }()
	t.Cleanup(func() { _ = h2.Close() })
	e.service(t, "/t/grpc", port, func(s *spec.Service) { s.Protocol = ModeH2C }, nil)
	e.instance(t, "/t/grpc", "a", "v1", l.Addr().(*net.TCPAddr).Port, state.Running, true)
	e.router(t, nil)

	tr := &http.Transport{Protocols: ps}
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	var resp *http.Response
	waitFor(t, "an h2c answer", func() bool {
		r, err := c.Get(url(port, "/"))
		if err != nil {
			return false
		}
		r.Body.Close()
		resp = r
		return r.StatusCode == 200
	})
	if resp.Proto != "HTTP/2.0" || resp.Header.Get("X-Proto") != "HTTP/2.0" {
		t.Errorf("client saw %s, instance saw %s; want HTTP/2.0 on both legs", resp.Proto, resp.Header.Get("X-Proto"))
	}
}

func TestTCPServicesAreSpliced(t *testing.T) {
	e := newEnv(t)
	port := testenv.FreePort(t)
	names := []string{"a", "b"}
	for _, name := range names {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go echo(l, name)
		e.instance(t, "/t/db", name, "v1", l.Addr().(*net.TCPAddr).Port, state.Running, true)
	}
	e.service(t, "/t/db", port, func(s *spec.Service) { s.Protocol = ModeTCP }, nil)
	e.router(t, nil)
	seen := map[string]bool{}
	deadline := time.Now().Add(10 * time.Second)
	for len(seen) < 2 && time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		_, _ = conn.Write([]byte("hello\n"))
		_ = conn.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(conn)
		conn.Close()
		if name, ok := strings.CutSuffix(string(b), ": hello\n"); ok {
			seen[name] = true
		}
	}
	if !seen["a"] || !seen["b"] {
		t.Errorf("TCP connections reached %v; want a and b, each echoing", seen)
	}
}

// echo answers each line with "<name>: <line>" until the client half-closes.
func echo(l net.Listener, name string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				_, _ = io.WriteString(c, name+": "+sc.Text()+"\n")
			}
		}()
	}
}

func TestDrainWaitsForRequestsInFlight(t *testing.T) {
	e := newEnv(t)
	port := testenv.FreePort(t)
	a, b := newBackend(t, "a"), newBackend(t, "b")
	e.service(t, "/t/web", port, nil, nil)
	e.instance(t, "/t/web", "a", "v1", a.port, state.Running, true)
	e.router(t, nil)
	waitAnswers(t, port, "a", func(_ int, in string) bool { return in == "a" })

	// A request to a stays in flight.
	slow := make(chan error, 1)
	go func() {
		st, in, err := get(http.DefaultClient, url(port, "/?hold=1"))
		if err == nil && (st != 200 || in != "a") {
			err = errors.New("answered " + strconv.Itoa(st) + " by " + in)
		}
		slow <- err
	}()
	<-a.started
	e.instance(t, "/t/web", "b", "v1", b.port, state.Running, true)
	waitAnswers(t, port, "b", func(_ int, in string) bool { return in == "b" })

	// The executor says a is stopping, then waits.
	e.instance(t, "/t/web", "a", "v1", a.port, state.Stopping, false)
	dw, err := NewDrainWaiter(DrainOptions{Conn: e.nc, SignalInterval: 50 * time.Millisecond, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	drained := make(chan error, 1)
	go func() { drained <- dw.Wait(t.Context(), "/t/web", "n1", "a") }()

	before := a.count()
	for range 20 {
		if _, in, err := get(http.DefaultClient, url(port, "/")); err != nil || in != "b" {
			t.Fatalf("a new request went to %q (%v) while a drains", in, err)
		}
	}
	if a.count() != before {
		t.Error("a draining instance got new requests")
	}
	select {
	case err := <-drained:
		t.Fatalf("drain ended (%v) with a request still in flight", err)
	case <-time.After(500 * time.Millisecond): // ten signal intervals
	}
	close(a.release)
	if err := <-slow; err != nil {
		t.Errorf("the request in flight during the drain: %v", err)
	}
	if err := <-drained; err != nil {
		t.Errorf("drain: %v", err)
	}
}

func TestDrainTimesOut(t *testing.T) {
	e := newEnv(t)
	port := testenv.FreePort(t)
	a := newBackend(t, "a")
	t.Cleanup(func() { close(a.release) })
	e.service(t, "/t/web", port, nil, nil)
	e.instance(t, "/t/web", "a", "v1", a.port, state.Running, true)
	e.router(t, nil)
	waitAnswers(t, port, "a", func(_ int, in string) bool { return in == "a" })
	go func() { _, _, _ = get(http.DefaultClient, url(port, "/?hold=1")) }()
	<-a.started
	e.instance(t, "/t/web", "a", "v1", a.port, state.Stopping, false)
	dw, err := NewDrainWaiter(DrainOptions{Conn: e.nc, SignalInterval: 50 * time.Millisecond, Timeout: 600 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := dw.Wait(t.Context(), "/t/web", "n1", "a"); !errors.Is(err, ErrDrainTimeout) {
		t.Errorf("Wait with a request stuck = %v, want ErrDrainTimeout", err)
	}
}

func TestScaleFromZeroHoldsRequestsAndSignalsDemand(t *testing.T) {
	e := newEnv(t)
	port := testenv.FreePort(t)
	a := newBackend(t, "a")
	e.service(t, "/t/lazy", port, func(s *spec.Service) {
		s.Autoscale = &spec.Autoscale{ScaleToZero: spec.ScaleToZero{Enabled: true}}
	}, nil)
	sigs := make(chan *nats.Msg, 1024)
	sub, err := e.nc.ChanSubscribe(SignalSubject("/t/lazy"), sigs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	e.router(t, func(o *Options) { o.SignalInterval = time.Hour }) // demand must not wait for a tick
	waitFor(t, "the port", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	answered := make(chan string, 1)
	go func() {
		st, in, err := get(http.DefaultClient, url(port, "/"))
		if err != nil {
			in = err.Error()
		}
		answered <- strconv.Itoa(st) + " " + in
	}()
	deadline := time.After(10 * time.Second)
	for demand := false; !demand; {
		select {
		case m := <-sigs:
			var s Signal
			if json.Unmarshal(m.Data, &s) == nil && s.Kind == SignalKind && s.Queued == 1 {
				demand = true
			}
		case <-deadline:
			t.Fatal("no signal with the held request as demand")
		}
	}
	e.instance(t, "/t/lazy", "a", "v1", a.port, state.Running, true)
	if got := <-answered; got != "200 a" {
		t.Errorf("the held request was answered %q, want 200 by a", got)
	}
}

func TestSignalsAndPointsCountRequestsInFlight(t *testing.T) {
	e := newEnv(t)
	port := testenv.FreePort(t)
	a := newBackend(t, "a")
	e.service(t, "/t/web", port, nil, nil)
	e.instance(t, "/t/web", "a", "v1", a.port, state.Running, true)
	out := &capture{}
	// The test ends the metrics periods itself.
	r := e.router(t, func(o *Options) { o.Metrics = out; o.MetricsInterval = time.Hour })
	waitAnswers(t, port, "a", func(_ int, in string) bool { return in == "a" })

	sigs := make(chan *nats.Msg, 1024)
	sub, err := e.nc.ChanSubscribe(SignalSubject("/t/web"), sigs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { _, _, _ = get(http.DefaultClient, url(port, "/?hold=1")) })
	}
	for range 3 {
		<-a.started
	}
	deadline := time.After(10 * time.Second)
	for {
		var (
			s   Signal
			raw []byte
		)
		select {
		case m := <-sigs:
			if json.Unmarshal(m.Data, &s) != nil || len(s.Instances) != 1 {
				continue
			}
			raw = m.Data
		case <-deadline:
			t.Fatal("no signal showing three requests in flight for a whole period")
		}
		in := s.Instances[0]
		if in.InFlightNow == 3 && in.InFlight == 3 && in.InFlightMax == 3 {
			if s.Node != "r1" || s.Service != "/t/web" || in.ID != "a" || in.Node != "n1" || in.Draining || s.PeriodMS < 40 {
				t.Errorf("signal = %+v", s)
			}
			// The autoscaler reads the same message.
			as, err := autoscaler.DecodeSignal(raw)
			if err != nil {
				t.Fatalf("the autoscaler cannot read the signal %s: %v", raw, err)
			}
			if as.Service != "/t/web" || as.Node != "r1" || len(as.Instances) != 1 || as.Instances[0].ID != "a" ||
				as.Instances[0].InFlight != 3 || as.Instances[0].InFlightMax != 3 || as.Period() != time.Duration(s.PeriodMS)*time.Millisecond {
				t.Errorf("the autoscaler read %+v from %s", as, raw)
			}
			break
		}
	}
	// A metrics period with three in flight from start to end.
	r.points()
	time.Sleep(20 * time.Millisecond)
	b, n := r.points()
	want := "swell_concurrency,instance=a,node=n1,router=r1,service=/t/web,service_port=" + strconv.Itoa(port) + ",source=router in_flight=3,in_flight_max=3i,rps=0,p50_ms=0,p99_ms=0,requests=0i "
	if n != 1 || !strings.HasPrefix(string(b), want) {
		t.Errorf("points = %d: %s\nwant %s<time>", n, b, want)
	}
	close(a.release)
	wg.Wait()
	r.writePoints(t.Context())
	if got := out.text(); !strings.Contains(got, "in_flight_max=3i") || !strings.Contains(got, "requests=3i") {
		t.Errorf("points written after the three ended:\n%s\nwant the three counted", got)
	}
}

// TestRouterStopsCleanly checks Run returns and frees the port when its
// context ends, even with an idle keep-alive connection open.
func TestRouterStopsCleanly(t *testing.T) {
	e := newEnv(t)
	port := testenv.FreePort(t)
	a := newBackend(t, "a")
	e.service(t, "/t/web", port, nil, nil)
	e.instance(t, "/t/web", "a", "v1", a.port, state.Running, true)
	r, err := New(Options{Node: "r1", JS: e.js})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	waitAnswers(t, port, "a", func(_ int, in string) bool { return in == "a" })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err != nil {
		t.Errorf("port still taken after Run returned: %v", err)
	} else {
		l.Close()
	}
}

func TestTrafficSplitSwitchesVersions(t *testing.T) {
	e := newEnv(t)
	port := testenv.FreePort(t)
	blue, green := newBackend(t, "blue"), newBackend(t, "green")
	e.service(t, "/t/web", port, nil, nil)
	e.instance(t, "/t/web", "blue", "v1", blue.port, state.Running, true)
	e.instance(t, "/t/web", "green", "v2", green.port, state.Running, true)
	e.router(t, nil)
	waitAnswers(t, port, "green", func(_ int, in string) bool { return in == "green" })
	waitAnswers(t, port, "blue", func(_ int, in string) bool { return in == "blue" })

	e.service(t, "/t/web", port, nil, &Traffic{Weights: map[string]int{"v2": 1}})
	waitFor(t, "the switch", func() bool {
		// Fifty answers in a row from green: blue is out.
		for range 50 {
			if _, in, err := get(http.DefaultClient, url(port, "/")); err != nil || in != "green" {
				return false
			}
		}
		return true
	})
	before := blue.count()
	for range 50 {
		if _, in, err := get(http.DefaultClient, url(port, "/")); err != nil || in != "green" {
			t.Fatalf("after the switch answered by %q (%v)", in, err)
		}
	}
	if blue.count() != before {
		t.Error("blue got requests after the switch")
	}
}
