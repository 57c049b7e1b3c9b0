package bus_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/internal/bus"
)

func TestStartEmbeddedRefusesWhatCannotWork(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { _ = busy.Close() })
	busyAddr := busy.Addr().String()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	tests := []struct {
		name string
		opts bus.EmbeddedOptions
		want []string
	}{
		{name: "no store dir", opts: bus.EmbeddedOptions{}, want: []string{"store dir"}},
		{name: "port in use names the address",
			opts: bus.EmbeddedOptions{StoreDir: t.TempDir(), Port: busyPort},
			want: []string{busyAddr, "address already in use"}},
		{name: "store dir that is a file",
			opts: bus.EmbeddedOptions{StoreDir: writeFile(t, "not-a-dir", nil)},
			want: []string{"JetStream"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			srv, err := bus.StartEmbedded(tc.opts)
			if err == nil {
				srv.Shutdown()
				t.Fatalf("StartEmbedded succeeded, want an error")
			}
			t.Logf("error: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			// The start-up timeout is 15 s; a failure nats-server reports
			// must not wait it out.
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %s to fail", took)
			}
		})
	}
}

func TestStartEmbeddedServesClientsOnARandomPort(t *testing.T) {
	srv, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	port := srv.Addr().(*net.TCPAddr).Port
	if port == 0 || port == 4222 {
		t.Errorf("listening on port %d, want a random one", port)
	}
	if want := fmt.Sprintf(":%d", port); !strings.HasSuffix(srv.ClientURL(), want) {
		t.Errorf("ClientURL %s does not end in %s", srv.ClientURL(), want)
	}
	nc, err := bus.ConnOptions{URL: srv.ClientURL()}.Connect(nil)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer nc.Close()
	if err := bus.EnsureStreams(t.Context(), jetStream(t, nc), bus.StreamLimits{}); err != nil {
		t.Fatalf("JetStream not usable: %v", err)
	}
}
