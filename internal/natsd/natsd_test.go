package natsd_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/natsd"
)

func TestStartRefusesWhatCannotWork(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { _ = busy.Close() })
	busyAddr := busy.Addr().String()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	tests := []struct {
		name string
		opts natsd.Options
		want []string
	}{
		{name: "no store dir", opts: natsd.Options{}, want: []string{"store dir"}},
		{name: "port in use names the address",
			opts: natsd.Options{StoreDir: t.TempDir(), Port: busyPort},
			want: []string{busyAddr, "address already in use"}},
		{name: "store dir that is a file",
			opts: natsd.Options{StoreDir: notADir(t)},
			want: []string{"JetStream"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			srv, err := natsd.Start(tc.opts)
			if err == nil {
				srv.Shutdown()
				t.Fatalf("Start succeeded, want an error")
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

func TestStartServesClientsOnARandomPort(t *testing.T) {
	srv, err := natsd.Start(natsd.Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Start: %v", err)
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
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	if err := bus.EnsureStreams(t.Context(), js, bus.StreamLimits{}); err != nil {
		t.Fatalf("JetStream not usable: %v", err)
	}
}

// notADir is a path that exists but is a file, so no store can go there.
func notADir(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return path
}
