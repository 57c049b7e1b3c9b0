package standalone

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/api"
	"github.com/swell-pipeline/swell/internal/agent"
	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/httpd"
	"github.com/swell-pipeline/swell/internal/server"
	"github.com/swell-pipeline/swell/internal/testenv"
)

type running struct {
	influxURL string
	httpURL   string
	natsURL   string
	stop      func() error
}

func startUp(t *testing.T, dataDir string) running {
	t.Helper()
	out := &testenv.SyncBuffer{}
	up, err := New(Options{
		DataDir:       dataDir,
		NATSHost:      "127.0.0.1",
		InfluxdBinary: testenv.InfluxdBinary(t),
		HTTPAddr:      "127.0.0.1:0",
		Agent: agent.Options{
			Node:          "test-node",
			Interval:      200 * time.Millisecond,
			FlushInterval: 100 * time.Millisecond,
			Inputs:        []string{"cpu", "mem", "system"},
		},
		Server: server.Options{},
		Out:    out,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- up.Run(ctx) }()
	var (
		once    sync.Once
		stopErr error
	)
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(60 * time.Second):
				t.Error("swell up did not stop within 60s of cancel")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "Press Ctrl-C") {
		select {
		case err := <-done:
			t.Fatalf("swell up ended before it was up: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner within 60s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := running{stop: stop}
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "InfluxDB" {
			r.influxURL = f[1]
		}
		if len(f) >= 2 && f[0] == "HTTP" {
			r.httpURL = f[1]
		}
		if len(f) >= 2 && f[0] == "NATS" {
			r.natsURL = f[1]
		}
	}
	if r.influxURL == "" || r.httpURL == "" {
		t.Fatalf("banner lacks InfluxDB or HTTP:\n%s", out.String())
	}
	return r
}

func countMem(t *testing.T, influxURL string) int {
	t.Helper()
	q := url.Values{"db": {"swell"}, "q": {`SELECT count("total") FROM "mem" WHERE "node" = 'test-node'`}}
	resp, err := http.Get(influxURL + "/query?" + q.Encode())
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var body struct {
		Results []struct {
			Series []struct {
				Values [][]any `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if len(body.Results) == 0 || len(body.Results[0].Series) == 0 {
		return 0
	}
	return int(body.Results[0].Series[0].Values[0][1].(float64))
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestUpCollectsIntoInfluxDBAndRestartsWithoutLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts influxd (-short)")
	}
	dataDir := t.TempDir()
	r := startUp(t, dataDir)

	waitFor(t, "mem points in InfluxDB", func() bool { return countMem(t, r.influxURL) >= 3 })

	resp, err := http.Get(r.httpURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var rep httpd.HealthReport
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz %d: %+v", resp.StatusCode, rep)
	}
	for _, c := range []string{"nats", "ingest", "influxdb", "agent"} {
		if rep.Checks[c] != "ok" {
			t.Errorf("check %s = %q", c, rep.Checks[c])
		}
	}

	// The API answers from the same state: the local agent's node, and
	// events published on the bus.
	c, err := api.NewClient(r.httpURL, "")
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := c.Nodes(t.Context())
	if err != nil || len(nodes) != 1 || nodes[0].Name != "test-node" || nodes[0].Status != api.NodeReady {
		t.Errorf("nodes = %+v, %v", nodes, err)
	}
	_, js := testenv.Connect(t, r.natsURL)
	if _, err := events.NewPublisher(js, nil).Publish(t.Context(), events.Event{Type: events.Node, Node: "test-node", To: "ready", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	// The scheduler tells of the node too ("node registered"); the test's
	// own event must be among them.
	evs, err := c.Events(t.Context(), events.Filter{Type: events.Node})
	if err != nil || !slices.ContainsFunc(evs, func(e events.Event) bool { return e.Reason == "test" }) {
		t.Errorf("events = %+v, %v", evs, err)
	}

	written := countMem(t, r.influxURL)
	if err := r.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	// influxd is gone with it.
	u, _ := url.Parse(r.influxURL)
	if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		c.Close()
		t.Errorf("influxd still listens on %s after swell up stopped", u.Host)
	}

	// Same data dir: what was written before is still there, and more comes.
	r2 := startUp(t, dataDir)
	var before int
	waitFor(t, "old points after restart", func() bool { before = countMem(t, r2.influxURL); return before > 0 })
	if before < written {
		t.Errorf("after restart InfluxDB holds %d mem points, before the stop it held %d", before, written)
	}
	waitFor(t, "new points after restart", func() bool { return countMem(t, r2.influxURL) > before })
}

func TestUpRejectsBadDataDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	up, err := New(Options{DataDir: filepath.Join(file, "data"), HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	err = up.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "cannot create it") {
		t.Errorf("err = %v", err)
	}
}

func TestUpRejectsBadPorts(t *testing.T) {
	for _, o := range []Options{
		{DataDir: "x", HTTPAddr: "127.0.0.1:0", NATSPort: 70000},
		{DataDir: "x", HTTPAddr: "127.0.0.1:0", InfluxPort: -1},
		{DataDir: "x", HTTPAddr: "nope"},
		{DataDir: "x", HTTPAddr: "127.0.0.1:0", InfluxURL: "influx:8086"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

func TestUpWithUnreachableInfluxDBFailsBeforeTheBanner(t *testing.T) {
	out := &testenv.SyncBuffer{}
	up, err := New(Options{
		DataDir:   t.TempDir(),
		InfluxURL: "http://127.0.0.1:1",
		HTTPAddr:  "127.0.0.1:0",
		NoAgent:   true,
		Out:       out,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = up.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "InfluxDB at http://127.0.0.1:1 does not answer") {
		t.Errorf("err = %v", err)
	}
	if strings.Contains(out.String(), "swell is up") {
		t.Errorf("banner printed although InfluxDB is unreachable:\n%s", out.String())
	}
}

// TestUpAlertsReachAWebhookOnceAcrossARestart applies a rule through the
// API of a running swell up; the local agent's own mem points cross it,
// the webhook is told once, and a restart on the same data dir does not
// tell it again.
func TestUpAlertsReachAWebhookOnceAcrossARestart(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts influxd (-short)")
	}
	var (
		mu   sync.Mutex
		got  []string
		hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var m struct {
				Status string `json:"status"`
				Alerts []struct {
					Labels map[string]string `json:"labels"`
				} `json:"alerts"`
			}
			if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
				t.Errorf("webhook body: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, a := range m.Alerts {
				got = append(got, m.Status+":"+a.Labels["alertname"]+":"+a.Labels["host"])
			}
		}))
	)
	t.Cleanup(hook.Close)
	notes := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
	dataDir := t.TempDir()
	r := startUp(t, dataDir)
	c, err := api.NewClient(r.httpURL, "")
	if err != nil {
		t.Fatal(err)
	}
	doc := `kind: AlertRule
name: mem-in-use
measurement: mem
field: used_percent
groupBy: [host]
crit: "> 0"
notify: [hook]
---
kind: Receiver
name: hook
type: webhook
url: ` + hook.URL + "\n"
	if _, err := c.Apply(t.Context(), "alerts.yaml", []byte(doc)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the webhook told of mem-in-use", func() bool { return len(notes()) == 1 })
	if n := notes()[0]; !strings.HasPrefix(n, "firing:mem-in-use:") {
		t.Errorf("notification %q", n)
	}
	waitFor(t, "swell get alerts lists it", func() bool {
		as, err := c.Alerts(t.Context())
		return err == nil && len(as) == 1 && as[0].Rule == "mem-in-use" && as[0].State == "CRITICAL"
	})
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}

	r2 := startUp(t, dataDir)
	before := countMem(t, r2.influxURL)
	// Enough new points for the restarted runner to have evaluated the
	// rule again many times over.
	waitFor(t, "new points after restart", func() bool { return countMem(t, r2.influxURL) > before+5 })
	c2, _ := api.NewClient(r2.httpURL, "")
	waitFor(t, "alert still listed after restart", func() bool {
		as, err := c2.Alerts(t.Context())
		return err == nil && len(as) == 1 && as[0].Rule == "mem-in-use"
	})
	if n := notes(); len(n) != 1 {
		t.Errorf("notifications after restart %v, want the one from before", n)
	}
}

func TestUpTellsItsEndpointsOnceReady(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts influxd (-short)")
	}
	up, err := New(Options{
		DataDir: t.TempDir(), NATSHost: "127.0.0.1", InfluxdBinary: testenv.InfluxdBinary(t), HTTPAddr: "127.0.0.1:0",
		NoAgent: true, Out: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- up.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case <-up.Ready():
	case err := <-done:
		t.Fatalf("Run ended: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("not ready within 60s")
	}
	ep := up.Endpoints()
	resp, err := http.Get(ep.HTTP + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(ep.NATS, "nats://127.0.0.1:") || !strings.HasPrefix(ep.InfluxDB, "http://") || ep.GrafanaDir == "" {
		t.Errorf("endpoints %+v", ep)
	}
}
