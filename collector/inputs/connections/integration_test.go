package connections

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/swell-pipeline/swell/collector/collectortest"
	"github.com/swell-pipeline/swell/internal/testenv"
)

// TestIntegrationCountsConnectionsOfARealContainer runs the test app
// (HTTP on 8080) as a swell instance of a node, holds open connections to
// it through its published port, and checks the points and the signals
// against them; a routed container and another node's container beside
// it must not be reported.
func TestIntegrationCountsConnectionsOfARealContainer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test against the Docker engine; run without -short")
	}
	cli := testenv.Docker(t)
	img := testenv.TestImage(t, cli)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	node := "conn-" + hex.EncodeToString(b)

	server := testenv.RunContainer(t, cli, img, testenv.ContainerOptions{
		PublishHTTP: true,
		Labels:      map[string]string{LabelService: "/it/tcp", LabelInstance: "tcp-1", LabelNode: node, LabelPorts: "8080/tcp"},
	})
	testenv.RunContainer(t, cli, img, testenv.ContainerOptions{
		Labels: map[string]string{LabelService: "/it/web", LabelInstance: "web-1", LabelNode: node, LabelRouted: "true"},
	})
	testenv.RunContainer(t, cli, img, testenv.ContainerOptions{
		Labels: map[string]string{LabelService: "/it/other", LabelInstance: "other-1", LabelNode: node + "-other"},
	})
	addr := testenv.HostAddr(t, cli, server)
	waitHTTP(t, "http://"+addr+"/healthz")

	in, err := New(Options{Node: node, SignalInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close() })

	const n = 5
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = openKeptAlive(t, addr)
	}

	pts := waitPoints(t, in, n)
	if len(pts) != 1 {
		t.Fatalf("points %+v, want exactly one: tcp-1 port 8080 (the routed and the other node's containers are left out)", pts)
	}
	p := pts[0]
	wantTags := map[string]string{"service": "/it/tcp", "instance": "tcp-1", "node": node, "port": "8080", "source": "connections"}
	for k, v := range wantTags {
		if p.Tags[k] != v {
			t.Errorf("tag %s = %q, want %q (tags %v)", k, p.Tags[k], v, p.Tags)
		}
	}
	if p.Fields["in_flight"] != float64(n) {
		t.Errorf("in_flight = %#v, want %v as a float, the router's type", p.Fields["in_flight"], float64(n))
	}

	t.Run("signals carry the count to the autoscaler", func(t *testing.T) {
		ns := testenv.NATS(t)
		nc, _ := testenv.Connect(t, ns.ClientURL())
		msgs := make(chan *nats.Msg, 64)
		sub, err := nc.ChanSubscribe("swell.signal.>", msgs)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Unsubscribe() })
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- in.RunSignals(ctx, nc) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("RunSignals: %v", err)
			}
		}()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case m := <-msgs:
				if m.Subject != SignalSubject("/it/tcp") {
					t.Fatalf("a signal on %s: only /it/tcp's subject %s should have one", m.Subject, SignalSubject("/it/tcp"))
				}
				var s Signal
				if err := json.Unmarshal(m.Data, &s); err != nil {
					t.Fatal(err)
				}
				if s.Kind == SignalKind && len(s.Instances) == 1 && s.Instances[0].ID == "tcp-1" && s.Instances[0].Connections == n {
					return
				}
			case <-deadline:
				t.Fatalf("no signal with tcp-1 at %d connections within 20s", n)
			}
		}
	})

	for _, c := range conns {
		_ = c.Close()
	}
	waitPoints(t, in, 0)
}

// waitPoints gathers until tcp-1 reports want connections on 8080 and
// returns that gather's points.
func waitPoints(t *testing.T, in *Input, want int64) []collectortest.Point {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last []collectortest.Point
	for {
		pts, err := collectortest.Gather(t, in)
		if err != nil {
			t.Fatalf("gather: %v", err)
		}
		last = collectortest.Filter(pts, Measurement)
		for _, p := range last {
			if p.Tags["instance"] == "tcp-1" && p.Tags["port"] == "8080" && p.Fields["connections"] == want {
				return last
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no point with %d connections on tcp-1:8080 within 20s; last gather: %+v", want, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// openKeptAlive opens a connection, sends one request on it and keeps it
// open: the test app closes idle keep-alive connections never, and raw
// connections without a request after 5 s.
func openKeptAlive(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %s", resp.Status)
	}
	return c
}

// waitHTTP polls url until it answers 200, on connections it closes, so
// none of them is left to count.
func waitHTTP(t *testing.T, url string) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := hc.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: no 200 within 20s (last error %v)", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
