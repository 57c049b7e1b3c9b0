package testenv

import (
	"net"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/internal/bus"
)

// NATS starts an embedded NATS server with JetStream on a random port, its
// store under a fresh temporary dir, and stops it when the test ends.
func NATS(t testing.TB) *bus.Embedded {
	t.Helper()
	return NATSAt(t, t.TempDir(), 0)
}

// NATSAt starts an embedded server on the given store dir and port (0:
// random). Restart tests call it again with the same dir and port.
func NATSAt(t testing.TB, storeDir string, port int) *bus.Embedded {
	t.Helper()
	srv, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: storeDir, Port: port})
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
