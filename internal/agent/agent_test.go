package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/internal/testenv"
)

func gathered(t *testing.T, reg *prometheus.Registry, input string) float64 {
	t.Helper()
	return metricValue(t, reg, "swell_collector_points_gathered_total", "input", input)
}

func metricValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	if label == "" {
		return testenv.Metric(t, reg, name, nil)
	}
	return testenv.Metric(t, reg, name, map[string]string{label: value})
}

// memTimestamps reads the whole stream and returns how often each mem
// point's timestamp occurs.
func memTimestamps(t *testing.T, js jetstream.JetStream) map[int64]int {
	t.Helper()
	ctx := t.Context()
	cons, err := js.OrderedConsumer(ctx, bus.StreamMetrics, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	for n := uint64(0); n < info.NumPending; {
		batch, err := cons.Fetch(100, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			dec := lineprotocol.NewDecoderWithBytes(msg.Data())
			for dec.Next() {
				m, err := dec.Measurement()
				if err != nil {
					t.Fatal(err)
				}
				if string(m) != "mem" {
					continue
				}
				for {
					k, _, err := dec.NextTag()
					if err != nil {
						t.Fatal(err)
					}
					if k == nil {
						break
					}
				}
				for {
					k, _, err := dec.NextField()
					if err != nil {
						t.Fatal(err)
					}
					if k == nil {
						break
					}
				}
				ts, err := dec.Time(lineprotocol.Nanosecond, time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				seen[ts.UnixNano()]++
			}
		}
		if got == 0 {
			t.Fatalf("stream said %d pending, read %d", info.NumPending, n)
		}
		n += uint64(got)
	}
	return seen
}

func TestAgentSurvivesNATSRestartWithoutLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test: restarts NATS (-short)")
	}
	storeDir, port := t.TempDir(), testenv.FreePort(t)
	ns := testenv.NATSAt(t, storeDir, port)
	_, js := testenv.Connect(t, ns.ClientURL())
	if err := bus.EnsureStreams(t.Context(), js, bus.StreamLimits{}); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	ag, err := New(Options{
		NATS:          bus.ConnOptions{URL: ns.ClientURL(), MaxReconnectWait: 200 * time.Millisecond},
		Node:          "fault-node",
		Interval:      100 * time.Millisecond,
		FlushInterval: 50 * time.Millisecond,
		Inputs:        []string{"mem", "system"},
		DataDir:       t.TempDir(),
		Registerer:    reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()

	waitUntil(t, "first gathers", func() bool { return gathered(t, reg, "mem") >= 5 })
	ns.Shutdown()
	before := gathered(t, reg, "mem")
	waitUntil(t, "gathers while NATS is down", func() bool { return gathered(t, reg, "mem") >= before+10 })
	waitUntil(t, "batches in the spool", func() bool { return metricValue(t, reg, "swell_output_spool_batches", "", "") > 0 })

	ns = testenv.NATSAt(t, storeDir, port)
	waitUntil(t, "the spool to drain", func() bool { return metricValue(t, reg, "swell_output_spool_batches", "", "") == 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if d := metricValue(t, reg, "swell_output_points_dropped_total", "", ""); d != 0 {
		t.Errorf("%v points dropped", d)
	}

	_, js = testenv.Connect(t, ns.ClientURL())
	seen := memTimestamps(t, js)
	want := int(gathered(t, reg, "mem"))
	if len(seen) != want {
		t.Errorf("stream holds %d distinct mem points, the agent gathered %d", len(seen), want)
	}
	var dups []string
	for ts, n := range seen {
		if n > 1 {
			dups = append(dups, time.Unix(0, ts).String())
		}
	}
	if len(dups) > 0 {
		t.Errorf("mem points stored more than once: %s", strings.Join(dups, ", "))
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	base := Options{Node: "n", DataDir: t.TempDir(), NATS: bus.ConnOptions{URL: "nats://127.0.0.1:4222"}}
	tests := []struct {
		name   string
		mutate func(*Options)
		want   string
	}{
		{"unknown input", func(o *Options) { o.Inputs = []string{"cpu", "gpu"} }, `unknown input "gpu"`},
		{"interval too short", func(o *Options) { o.Interval = time.Millisecond }, "too short"},
		{"no data dir", func(o *Options) { o.DataDir = "" }, "no data dir"},
		{"interval for an input not run", func(o *Options) {
			o.Inputs = []string{"cpu"}
			o.InputIntervals = map[string]time.Duration{"mem": time.Second}
		}, `--input-interval names "mem"`},
		{"two NATS auth methods", func(o *Options) { o.NATS.User, o.NATS.Token = "u", "t" }, "choose one of"},
		{"address that is not an IP", func(o *Options) { o.Addr = "node1.local" }, `--addr "node1.local" is not an IP address`},
		{"negative capacity", func(o *Options) { o.MemMiB = -1 }, "must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.mutate(&o)
			_, err := New(o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAgentRegistersItsNodeAndHeartbeats(t *testing.T) {
	ns := testenv.NATS(t)
	_, js := testenv.Connect(t, ns.ClientURL())
	run := func(o Options) {
		ag, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- ag.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	base := Options{NATS: bus.ConnOptions{URL: ns.ClientURL()}, Inputs: []string{"mem"}, Interval: time.Second}
	given := base
	given.Node, given.DataDir = "node-a", t.TempDir()
	given.Labels, given.Addr, given.CPUs, given.MemMiB = map[string]string{"rack": "r1"}, "127.0.0.2", 1.5, 512
	run(given)
	host := base
	host.Node, host.DataDir = "node-b", t.TempDir()
	run(host)

	var nodes []state.Node
	waitUntil(t, "both nodes registered", func() bool {
		kv, err := js.KeyValue(t.Context(), bus.BucketNodes)
		if err != nil {
			return false
		}
		nodes, err = state.Nodes(t.Context(), kv)
		return err == nil && len(nodes) == 2
	})
	a, b := nodes[0], nodes[1]
	if a.Name != "node-a" || a.Addr != "127.0.0.2" || a.CPUs != 1.5 || a.MemMiB != 512 || a.Labels["rack"] != "r1" {
		t.Errorf("node-a registered as %+v", a)
	}
	if b.Name != "node-b" || b.Addr != "127.0.0.1" || b.CPUs < 1 || b.MemMiB < 64 {
		t.Errorf("node-b (host capacity, default addr) registered as %+v", b)
	}
	first := a.Heartbeat
	waitUntil(t, "a later heartbeat", func() bool {
		kv, err := js.KeyValue(t.Context(), bus.BucketNodes)
		if err != nil {
			return false
		}
		ns, err := state.Nodes(t.Context(), kv)
		return err == nil && len(ns) == 2 && ns[0].Heartbeat.After(first)
	})
	if !a.Alive(a.Heartbeat.Add(time.Second), 10*time.Second) || a.Alive(a.Heartbeat.Add(11*time.Second), 10*time.Second) {
		t.Error("Alive does not follow the heartbeat and timeout")
	}
}
