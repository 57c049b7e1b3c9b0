package server_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/ingest"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/server"
	"github.com/swell-pipeline/swell/internal/testenv"
)

func TestNewRejectsOptionsThatCannotWork(t *testing.T) {
	nats := testenv.NATS(t)
	nc, _ := testenv.Connect(t, nats.ClientURL())
	influx := ingest.InfluxOptions{URL: "http://127.0.0.1:8086"}

	tests := []struct {
		name string
		opts server.Options
		want string // "" means New succeeds
	}{
		{name: "NATS URL and InfluxDB URL are enough",
			opts: server.Options{NATS: bus.ConnOptions{URL: nats.ClientURL()}, Influx: influx}},
		{name: "a shared connection stands in for NATS options",
			opts: server.Options{Conn: nc, Influx: influx}},
		{name: "no InfluxDB URL",
			opts: server.Options{NATS: bus.ConnOptions{URL: nats.ClientURL()}},
			want: "no InfluxDB URL"},
		{name: "no NATS URL",
			opts: server.Options{Influx: influx},
			want: "no server URL"},
		{name: "two NATS auth methods",
			opts: server.Options{NATS: bus.ConnOptions{URL: nats.ClientURL(), User: "u", Token: "t"}, Influx: influx},
			want: "choose one"},
		{name: "NATS TLS cert without key",
			opts: server.Options{NATS: bus.ConnOptions{URL: nats.ClientURL(), TLSCertFile: "c.pem"}, Influx: influx},
			want: "go together"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := server.New(tc.opts)
			if tc.want == "" {
				if err != nil || srv == nil {
					t.Fatalf("New = %v, %v; want a server", srv, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New succeeded, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "server: ") {
				t.Errorf("error %q: want it to start with \"server: \" and contain %q", err, tc.want)
			}
		})
	}
}

func TestRunFailsPromptlyWhenADependencyDoesNotAnswer(t *testing.T) {
	nats := testenv.NATS(t)
	closedURL := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))
	closedNATS := fmt.Sprintf("nats://127.0.0.1:%d", testenv.FreePort(t))
	// An InfluxDB that accepts the connection and never answers: only the
	// start timeout can end the wait.
	hanging := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(hanging.Close)

	tests := []struct {
		name      string
		natsURL   string
		influxURL string
		want      []string
	}{
		{name: "InfluxDB refuses connections", natsURL: nats.ClientURL(), influxURL: closedURL,
			want: []string{"does not answer", closedURL}},
		{name: "InfluxDB hangs past the start timeout", natsURL: nats.ClientURL(), influxURL: hanging.URL,
			want: []string{"does not answer", hanging.URL}},
		{name: "NATS refuses connections", natsURL: closedNATS, influxURL: closedURL,
			want: []string{"is NATS running", strings.TrimPrefix(closedNATS, "nats://")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := server.New(server.Options{
				NATS:         bus.ConnOptions{URL: tc.natsURL},
				Influx:       ingest.InfluxOptions{URL: tc.influxURL},
				StartTimeout: time.Second,
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			start := time.Now()
			err = runWithin(t, srv, 10*time.Second)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Run took %s to give up, want about the 1s start timeout at most", took)
			}
			if err == nil {
				t.Fatalf("Run returned nil, want an error")
			}
			t.Logf("error: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestRunReturnsNilWhenCancelledDuringStartChecks(t *testing.T) {
	nats := testenv.NATS(t)
	checked := make(chan struct{}, 1)
	hanging := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case checked <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	t.Cleanup(hanging.Close)
	srv, err := server.New(server.Options{
		NATS:         bus.ConnOptions{URL: nats.ClientURL()},
		Influx:       ingest.InfluxOptions{URL: hanging.URL},
		StartTimeout: time.Minute,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	select {
	case <-checked:
	case <-time.After(10 * time.Second):
		t.Fatalf("Run never asked InfluxDB whether it answers")
	}
	// Ctrl-C while InfluxDB is slow to answer is a shutdown, not an outage.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Run did not return within 10s of cancel")
	}
}

func TestRunLeavesASharedConnectionOpen(t *testing.T) {
	nats := testenv.NATS(t)
	nc, _ := testenv.Connect(t, nats.ClientURL())
	srv, err := server.New(server.Options{
		Conn:   nc,
		Influx: ingest.InfluxOptions{URL: fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := runWithin(t, srv, 10*time.Second); err == nil {
		t.Fatalf("Run returned nil with InfluxDB down, want an error")
	}
	if !nc.IsConnected() {
		t.Errorf("Run closed the connection it was given (status %s)", nc.Status())
	}
}

func TestRunIngestsMetricsAndReportsHealth(t *testing.T) {
	nats := testenv.NATS(t)
	influx := testenv.Influx(t)
	srv, err := server.New(server.Options{
		NATS:       bus.ConnOptions{URL: nats.ClientURL(), MaxReconnectWait: 100 * time.Millisecond},
		Influx:     ingest.InfluxOptions{URL: influx.URL(), Database: influx.Database()},
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for name, err := range checkResults(t, srv) {
		if err == nil {
			t.Errorf("check %q passes before Run", name)
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	var runErr error
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		runErr = srv.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(15 * time.Second):
			t.Errorf("Run still running 15s after cancel")
		}
	})

	waitFor(t, 30*time.Second, "every health check passes", func() bool {
		for _, err := range checkResults(t, srv) {
			if err != nil {
				return false
			}
		}
		return true
	})
	if got, want := slices.Sorted(maps.Keys(srv.Checks())), []string{"influxdb", "ingest", "nats"}; !slices.Equal(got, want) {
		t.Errorf("checks %v, want %v", got, want)
	}

	_, js := testenv.Connect(t, nats.ClientURL())
	const measurement, points = "swell_server_test", 3
	if _, err := js.Publish(t.Context(), bus.MetricsSubject("n1"), lineBatch(t, measurement, points),
		jetstream.WithMsgID("n1:test:1")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	waitFor(t, 30*time.Second, "the batch lands in InfluxDB", func() bool {
		return testenv.CountPoints(t, influx.URL(), influx.Database(), measurement) == points
	})

	nats.Shutdown()
	waitFor(t, 10*time.Second, "the nats check fails once NATS is gone", func() bool {
		return checkResults(t, srv)["nats"] != nil
	})

	cancel()
	select {
	case <-stopped:
		if runErr != nil {
			t.Errorf("Run after cancel = %v, want nil", runErr)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("Run did not return within 15s of cancel")
	}
}

// runWithin runs srv until it returns, failing the test if it is still
// running after d.
func runWithin(t *testing.T, srv *server.Server, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		cancel()
		t.Fatalf("Run still running after %s (once cancelled it returned %v)", d, <-done)
		return nil
	}
}

// checkResults runs every health check once, each bounded like /healthz
// bounds it.
func checkResults(t *testing.T, srv *server.Server) map[string]error {
	t.Helper()
	out := map[string]error{}
	for name, check := range srv.Checks() {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		out[name] = check(ctx)
		cancel()
	}
	return out
}

// lineBatch encodes n points of one measurement, each with its own
// timestamp so InfluxDB cannot merge them.
func lineBatch(t *testing.T, measurement string, n int) []byte {
	t.Helper()
	var enc lineprotocol.Encoder
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	for i := range n {
		enc.StartLine(measurement)
		enc.AddTag("node", "n1")
		enc.AddField("value", lineprotocol.IntValue(int64(i)))
		enc.EndLine(base.Add(time.Duration(i) * time.Millisecond))
	}
	if err := enc.Err(); err != nil {
		t.Fatalf("encode line protocol: %v", err)
	}
	return enc.Bytes()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		<-tick.C
	}
}
