package testenv

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/natsd"
)

// NATS starts an embedded NATS server with JetStream on a random port, its
// store under a fresh temporary dir, and stops it when the test ends.
func NATS(t testing.TB) *natsd.Server {
	t.Helper()
	return NATSAt(t, t.TempDir(), 0)
}

// NATSAt starts an embedded server on the given store dir and port (0:
// random). Restart tests call it again with the same dir and port.
func NATSAt(t testing.TB, storeDir string, port int) *natsd.Server {
	t.Helper()
	srv, err := natsd.Start(natsd.Options{StoreDir: storeDir, Port: port})
	if err != nil {
		t.Fatalf("start embedded NATS: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// Connect opens a client connection to url and closes it when the test ends.
func Connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := bus.ConnOptions{URL: url, Name: t.Name()}.Connect(nil)
	if err != nil {
		t.Fatalf("connect to NATS: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// servers that must come back on the same port after a restart.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// NATSCluster starts a cluster of n embedded servers with clustered
// JetStream, each with its own store dir, client port and route port, and
// waits until JetStream answers on every one.
func NATSCluster(t testing.TB, n int) []*natsd.Server {
	t.Helper()
	opts := clusterOptions(t, n)
	servers := make([]*natsd.Server, n)
	errs := make(chan error, n)
	for i := range opts {
		go func() {
			srv, err := natsd.Start(opts[i])
			servers[i] = srv
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("start NATS cluster: %v", err)
		}
	}
	for _, s := range servers {
		t.Cleanup(s.Shutdown)
	}
	for _, s := range servers {
		waitJetStream(t, s.ClientURL())
	}
	return servers
}

func clusterOptions(t testing.TB, n int) []natsd.Options {
	t.Helper()
	routes := make([]string, n)
	cports := make([]int, n)
	for i := range n {
		cports[i] = FreePort(t)
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", cports[i])
	}
	opts := make([]natsd.Options, n)
	for i := range n {
		opts[i] = natsd.Options{
			StoreDir:    t.TempDir(),
			ServerName:  fmt.Sprintf("swell-test-%d", i),
			ClusterName: "swell-test",
			ClusterPort: cports[i],
			Routes:      routes,
		}
	}
	return opts
}

// waitJetStream waits until a clustered JetStream has elected its meta
// leader and answers account requests through url.
func waitJetStream(t testing.TB, url string) {
	t.Helper()
	nc, js := Connect(t, url)
	defer nc.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("JetStream at %s not ready within 30s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
