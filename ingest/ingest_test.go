package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/ingest"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/testenv"
)

// startIngest runs an Ingest until the test ends and fails the test if Run
// does not return promptly then.
func startIngest(t *testing.T, js jetstream.JetStream, influxURL string, tune func(*ingest.Options)) (*ingest.Ingest, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o := ingest.Options{
		JS:               js,
		Influx:           ingest.InfluxOptions{URL: influxURL},
		Registerer:       reg,
		PipelineInterval: 200 * time.Millisecond,
		Node:             "test",
	}
	if tune != nil {
		tune(&o)
	}
	ing, err := ingest.New(o)
	if err != nil {
		t.Fatalf("ingest.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ing.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("Run did not return within 15s of cancel")
		}
	})
	return ing, reg
}

// batch encodes n points of measurement m with sequence numbers from first;
// every point has its own timestamp, so no two can merge in InfluxDB.
func batch(t testing.TB, m string, first, n int) []byte {
	t.Helper()
	var enc lineprotocol.Encoder
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for seq := first; seq < first+n; seq++ {
		enc.StartLine(m)
		enc.AddTag("host", fmt.Sprintf("h%03d", seq%100))
		enc.AddField("seq", lineprotocol.IntValue(int64(seq)))
		enc.AddField("value", lineprotocol.MustNewValue(float64(seq)/3))
		enc.EndLine(base.Add(time.Duration(seq) * time.Microsecond))
	}
	if err := enc.Err(); err != nil {
		t.Fatal(err)
	}
	return enc.Bytes()
}

func publish(t testing.TB, js jetstream.JetStream, subject, id string, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.Publish(ctx, subject, data, jetstream.WithMsgID(id)); err != nil {
		t.Fatalf("publish %s: %v", id, err)
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s; last state: %s", what, timeout, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitForCount(t testing.TB, url, m string, want int64, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("%d points of %s", want, m), func() (bool, string) {
		n := testenv.CountPoints(t, url, "swell", m)
		return n == want, fmt.Sprintf("%d points", n)
	})
}

// scalar runs a query that returns one value.
func scalar(t testing.TB, url, q string) int64 {
	t.Helper()
	series := testenv.Query(t, url, "swell", q)
	if len(series) != 1 || len(series[0].Values) != 1 || len(series[0].Values[0]) < 2 {
		t.Fatalf("%s: unexpected result %+v", q, series)
	}
	n, err := series[0].Values[0][1].(json.Number).Int64()
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func metricValue(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	return testenv.Metric(t, reg, name, nil)
}

func consumerSettled(t testing.TB, js jetstream.JetStream) (bool, string) {
	t.Helper()
	// The consumer's pending counts trail a publish by a moment; the ack
	// floor against the stream's last sequence does not.
	st, err := js.Stream(t.Context(), bus.StreamMetrics)
	if err != nil {
		return false, err.Error()
	}
	sinfo, err := st.Info(t.Context())
	if err != nil {
		return false, err.Error()
	}
	c, err := js.Consumer(t.Context(), bus.StreamMetrics, bus.ConsumerIngest)
	if err != nil {
		return false, err.Error()
	}
	info, err := c.Info(t.Context())
	if err != nil {
		return false, err.Error()
	}
	last := sinfo.State.LastSeq
	return info.AckFloor.Stream >= last && info.NumAckPending == 0,
		fmt.Sprintf("ack floor %d of %d, pending %d, ack pending %d", info.AckFloor.Stream, last, info.NumPending, info.NumAckPending)
}

func TestWritesEveryPublishedPointOnce(t *testing.T) {
	t.Parallel()
	srv := testenv.NATS(t)
	_, js := testenv.Connect(t, srv.ClientURL())
	influx := testenv.Influx(t)
	ing, reg := startIngest(t, js, influx.URL(), nil)

	const batches, per = 20, 250
	for i := range batches {
		publish(t, js, bus.MetricsSubject("node1"), fmt.Sprintf("node1:boot:%d", i), batch(t, "happy", i*per, per))
	}
	// A retried publish with the same id must not become a second message.
	publish(t, js, bus.MetricsSubject("node1"), "node1:boot:0", batch(t, "happy", 0, per))

	waitForCount(t, influx.URL(), "happy", batches*per, 30*time.Second)
	waitFor(t, 10*time.Second, "consumer drained", func() (bool, string) { return consumerSettled(t, js) })
	if got := scalar(t, influx.URL(), `SELECT count(distinct("seq")) FROM "happy"`); got != batches*per {
		t.Errorf("distinct seq = %d, want %d", got, batches*per)
	}
	s := ing.Stats()
	if s.PointsWritten != batches*per || s.MessagesAcked != batches || s.DeadLetterLines != 0 {
		t.Errorf("stats = %+v, want %d points, %d acked, 0 dead", s, batches*per, batches)
	}
	if got := metricValue(t, reg, "swell_ingest_points_written_total"); got != batches*per {
		t.Errorf("swell_ingest_points_written_total = %v, want %d", got, batches*per)
	}
	if got := metricValue(t, reg, "swell_ingest_messages_acked_total"); got != batches {
		t.Errorf("swell_ingest_messages_acked_total = %v, want %d", got, batches)
	}
	if err := ing.Healthy(); err != nil {
		t.Errorf("Healthy = %v", err)
	}
	if err := ing.Check(t.Context()); err != nil {
		t.Errorf("Check = %v", err)
	}
	waitFor(t, 10*time.Second, "swell_pipeline point with the final counts", func() (bool, string) {
		series := testenv.Query(t, influx.URL(), "swell",
			`SELECT last("points_written") FROM "swell_pipeline" WHERE "component" = 'ingest' AND "node" = 'test'`)
		if len(series) == 0 {
			return false, "no swell_pipeline point"
		}
		v := series[0].Values[0][1]
		return fmt.Sprint(v) == fmt.Sprint(batches*per), fmt.Sprintf("points_written = %v", v)
	})
}

func TestRefusedLinesGoToDeadLetters(t *testing.T) {
	t.Parallel()
	srv := testenv.NATS(t)
	_, js := testenv.Connect(t, srv.ClientURL())
	influx := testenv.Influx(t)
	_, reg := startIngest(t, js, influx.URL(), nil)

	// The measurement "conflict" has a float field v before the batch comes.
	preset := batch(t, "conflict", 0, 1)
	pctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := presetPoint(pctx, influx.URL(), string(preset)); err != nil {
		t.Fatal(err)
	}

	type dead struct{ text, reason []string }
	tests := []struct {
		name    string
		m       string
		lines   []string
		landed  int64
		dead    []dead
		counter float64
	}{
		{
			name: "garbled line is refused by the parser, the rest land",
			m:    "garbled",
			lines: []string{
				"garbled,host=a v=1 1000",
				"this is not line protocol",
				"garbled,host=b v=2 2000",
			},
			landed: 2,
			dead:   []dead{{[]string{"this is not line protocol"}, []string{"line 2:", "invalid line protocol"}}},
		},
		{
			name: "field type conflict and garbage in one batch: good lines land",
			m:    "conflict",
			lines: []string{
				"conflict,host=a seq=10i,value=1.5 1000",
				"conflict,host=b seq=11i,value=2.5 2000",
				"conflict,host=c seq=,value 3000",
				`conflict,host=d seq=13i,value="text" 4000`,
				"conflict,host=e seq=14i,value=4.5 5000",
			},
			landed: 1 + 3,
			dead: []dead{
				{[]string{"conflict,host=c seq=,value 3000"}, []string{"line 3:", "invalid line protocol"}},
				{[]string{`conflict,host=d`, `value="text"`}, []string{"line 4:", "rejected by InfluxDB", "field type conflict"}},
			},
		},
		{
			name: "out-of-range value refused by InfluxDB gets the parser's reason",
			m:    "outofrange",
			lines: []string{
				"outofrange v=1i 1000",
				"outofrange v=99999999999999999999i 2000",
				"outofrange v=3i 3000",
			},
			landed: 2,
			dead:   []dead{{[]string{"outofrange v=99999999999999999999i 2000"}, []string{"line 2:", "invalid line protocol", "out of range"}}},
		},
		{
			name: "line only InfluxDB refuses is found by bisecting",
			m:    "unsigned",
			lines: []string{
				"unsigned v=1i 1000",
				"unsigned v=2i 2000",
				"unsigned v=3u 3000", // InfluxDB 1.8 has no unsigned fields
				"unsigned v=4i 4000",
				"unsigned v=5i 5000",
			},
			landed: 4,
			dead:   []dead{{[]string{"unsigned v=3u 3000"}, []string{"line 3:", "rejected by InfluxDB", "HTTP 400"}}},
		},
	}
	var deadSoFar float64
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			subject := bus.MetricsSubject(tc.m)
			publish(t, js, subject, fmt.Sprintf("refused:%d", i), []byte(strings.Join(tc.lines, "\n")+"\n"))
			waitFor(t, 30*time.Second, "message acked", func() (bool, string) { return consumerSettled(t, js) })
			if n := testenv.CountPoints(t, influx.URL(), "swell", tc.m); n != tc.landed {
				t.Errorf("%s has %d points, want %d", tc.m, n, tc.landed)
			}
			letters := deadLetters(t, js, subject)
			if len(letters) != len(tc.dead) {
				t.Fatalf("got %d dead letters %v, want %d", len(letters), letters, len(tc.dead))
			}
			for j, want := range tc.dead {
				got := letters[j]
				for _, s := range want.text {
					if !strings.Contains(string(got.Data), s) {
						t.Errorf("dead letter %d = %q, want it to contain %q", j, got.Data, s)
					}
				}
				reason := got.Header.Get(bus.HeaderDeadLetterReason)
				t.Logf("dead letter %q: %s", got.Data, reason)
				for _, s := range want.reason {
					if !strings.Contains(reason, s) {
						t.Errorf("dead letter %d reason %q, want it to contain %q", j, reason, s)
					}
				}
			}
			deadSoFar += float64(len(tc.dead))
			if got := metricValue(t, reg, "swell_ingest_deadletter_lines_total"); got != deadSoFar {
				t.Errorf("swell_ingest_deadletter_lines_total = %v, want %v", got, deadSoFar)
			}
		})
	}
}

// deadLetters returns the dead letters that came from subject, oldest first.
func deadLetters(t testing.TB, js jetstream.JetStream, subject string) []*jetstream.RawStreamMsg {
	t.Helper()
	stream, err := js.Stream(t.Context(), bus.StreamDeadLetter)
	if err != nil {
		t.Fatalf("dead-letter stream: %v", err)
	}
	info, err := stream.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := stream.GetMsg(t.Context(), seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Header.Get(bus.HeaderDeadLetterSource) == subject {
			out = append(out, m)
		}
	}
	return out
}

// TestSurvivesInfluxOutage kills InfluxDB while 100,000 points flow, keeps
// publishing through a 15 s outage, restarts it, and requires every point
// exactly once.
func TestSurvivesInfluxOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("takes over 15 s of real outage; run without -short")
	}
	t.Parallel()
	srv := testenv.NATS(t)
	_, js := testenv.Connect(t, srv.ClientURL())
	influx := testenv.Influx(t)
	ing, _ := startIngest(t, js, influx.URL(), nil)

	const batches, per, total = 200, 500, 200 * 500
	next := 0
	send := func(n int, gap time.Duration) {
		for ; n > 0 && next < batches; n-- {
			publish(t, js, bus.MetricsSubject("node1"), fmt.Sprintf("node1:boot:%d", next), batch(t, "fault", next*per, per))
			next++
			time.Sleep(gap) // pacing, so publishing spans the outage
		}
	}

	send(60, 0)
	waitFor(t, 30*time.Second, "some points landed before the kill", func() (bool, string) {
		s := ing.Stats()
		return s.PointsWritten >= 10*per, fmt.Sprintf("%d written", s.PointsWritten)
	})
	influx.Kill()
	killed := time.Now()
	t.Logf("killed influxd after %d points were written", ing.Stats().PointsWritten)

	// Keep publishing through most of the outage.
	send(100, 130*time.Millisecond)
	waitFor(t, 10*time.Second, "ingest reports the outage", func() (bool, string) {
		err := ing.Healthy()
		return err != nil && strings.Contains(err.Error(), "InfluxDB"), fmt.Sprint(err)
	})
	if rest := 15*time.Second - time.Since(killed); rest > 0 {
		time.Sleep(rest) // the outage length is the point of the test
	}
	t.Logf("restarting influxd after %s; %d batches published, %d points written",
		time.Since(killed).Round(time.Millisecond), next, ing.Stats().PointsWritten)
	if err := influx.Restart(t.Context()); err != nil {
		t.Fatalf("restart influxd: %v", err)
	}
	send(batches, 0)

	start := time.Now()
	waitForCount(t, influx.URL(), "fault", total, 2*time.Minute)
	t.Logf("all %d points in InfluxDB %s after the restart", total, time.Since(start).Round(time.Millisecond))
	if got := scalar(t, influx.URL(), `SELECT count(distinct("seq")) FROM "fault"`); got != total {
		t.Errorf("distinct seq = %d, want %d", got, total)
	}
	if lo, hi := scalar(t, influx.URL(), `SELECT min("seq") FROM "fault"`), scalar(t, influx.URL(), `SELECT max("seq") FROM "fault"`); lo != 0 || hi != total-1 {
		t.Errorf("seq range %d..%d, want 0..%d", lo, hi, total-1)
	}
	waitFor(t, 10*time.Second, "consumer drained", func() (bool, string) { return consumerSettled(t, js) })
	s := ing.Stats()
	if s.PointsWritten != total || s.MessagesAcked != batches || s.DeadLetterLines != 0 {
		t.Errorf("stats = %+v, want each of %d points written once in %d acked messages, no dead letters", s, total, batches)
	}
	waitFor(t, 10*time.Second, "healthy again", func() (bool, string) {
		err := ing.Healthy()
		return err == nil, fmt.Sprint(err)
	})
}

func TestWaitsForInfluxToAppear(t *testing.T) {
	t.Parallel()
	srv := testenv.NATS(t)
	_, js := testenv.Connect(t, srv.ClientURL())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ing, _ := startIngest(t, js, "http://"+addr, nil)

	for i := range 10 {
		publish(t, js, bus.MetricsSubject("early"), fmt.Sprintf("early:%d", i), batch(t, "early", i*100, 100))
	}
	waitFor(t, 15*time.Second, "ingest reports InfluxDB unavailable", func() (bool, string) {
		err := ing.Healthy()
		return err != nil && strings.Contains(err.Error(), addr), fmt.Sprint(err)
	})
	if s := ing.Stats(); s.PointsWritten != 0 || s.MessagesAcked != 0 {
		t.Fatalf("stats %+v before InfluxDB exists", s)
	}

	influx := testenv.InfluxAt(t, t.TempDir(), addr)
	waitForCount(t, influx.URL(), "early", 1000, 60*time.Second)
	waitFor(t, 10*time.Second, "healthy", func() (bool, string) {
		err := ing.Healthy()
		return err == nil, fmt.Sprint(err)
	})
}

func TestInstancesShareTheConsumer(t *testing.T) {
	t.Parallel()
	srv := testenv.NATS(t)
	_, js := testenv.Connect(t, srv.ClientURL())
	influx := testenv.Influx(t)
	small := func(o *ingest.Options) { o.Workers, o.FetchBatch = 1, 2 }
	a, _ := startIngest(t, js, influx.URL(), small)
	b, _ := startIngest(t, js, influx.URL(), small)

	const batches, per = 100, 100
	var wg sync.WaitGroup
	for i := range batches {
		wg.Go(func() {
			publish(t, js, bus.MetricsSubject("shared"), fmt.Sprintf("shared:%d", i), batch(t, "shared", i*per, per))
		})
	}
	wg.Wait()
	waitForCount(t, influx.URL(), "shared", batches*per, 30*time.Second)
	waitFor(t, 10*time.Second, "consumer drained", func() (bool, string) { return consumerSettled(t, js) })
	sa, sb := a.Stats(), b.Stats()
	t.Logf("instance a acked %d messages, b %d", sa.MessagesAcked, sb.MessagesAcked)
	if sa.MessagesAcked+sb.MessagesAcked != batches || sa.PointsWritten+sb.PointsWritten != batches*per {
		t.Errorf("a %+v + b %+v: want %d messages and %d points in total, each once", sa, sb, batches, batches*per)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	srv := testenv.NATS(t)
	_, js := testenv.Connect(t, srv.ClientURL())
	tests := []struct {
		name string
		opts ingest.Options
		want string
	}{
		{"no NATS", ingest.Options{Influx: ingest.InfluxOptions{URL: "http://127.0.0.1:8086"}}, "no NATS connection"},
		{"no InfluxDB URL", ingest.Options{JS: js}, "no InfluxDB URL"},
		{"URL without scheme", ingest.Options{JS: js, Influx: ingest.InfluxOptions{URL: "127.0.0.1:8086"}}, "want http(s)://host:port"},
		{"negative workers", ingest.Options{JS: js, Influx: ingest.InfluxOptions{URL: "http://x:1"}, Workers: -1}, "Workers -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ingest.New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	t.Run("same registerer twice", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		o := ingest.Options{JS: js, Influx: ingest.InfluxOptions{URL: "http://x:1"}, Registerer: reg}
		if _, err := ingest.New(o); err != nil {
			t.Fatal(err)
		}
		if _, err := ingest.New(o); err == nil || !strings.Contains(err.Error(), "same registerer") {
			t.Fatalf("second New = %v, want a registerer error", err)
		}
	})
	t.Run("not healthy before Run", func(t *testing.T) {
		ing, err := ingest.New(ingest.Options{JS: js, Influx: ingest.InfluxOptions{URL: "http://x:1"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := ing.Healthy(); err == nil {
			t.Fatal("Healthy before Run = nil")
		}
	})
}

// presetPoint writes straight to InfluxDB, bypassing ingest.
func presetPoint(ctx context.Context, url, lines string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/write?db=swell", strings.NewReader(lines))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("preset write: %s", resp.Status)
	}
	return nil
}

// A Telegraf-like agent publishes plain NATS messages (no JetStream ack, no
// Nats-Msg-Id) under swell.metrics.>; the stream captures them and ingest
// writes them like its own.
func TestTelegrafStylePublisherIsAValidCollector(t *testing.T) {
	t.Parallel()
	srv := testenv.NATS(t)
	nc, js := testenv.Connect(t, srv.ClientURL())
	if err := bus.EnsureStreams(t.Context(), js, bus.StreamLimits{}); err != nil {
		t.Fatal(err)
	}
	influx := testenv.Influx(t)
	startIngest(t, js, influx.URL(), nil)

	// One metric per message, as Telegraf's outputs.nats sends them, with
	// and without a timestamp.
	msgs := []string{
		"telegraf_cpu,cpu=cpu-total,host=tg1 usage_idle=97.5,usage_user=1.5 1767225600000000000\n",
		"telegraf_cpu,cpu=cpu0,host=tg1 usage_idle=96,usage_user=2 1767225600000000000\n",
		"telegraf_cpu,cpu=cpu1,host=tg1 usage_idle=99,usage_user=0.5\n",
	}
	for _, m := range msgs {
		if err := nc.Publish("swell.metrics.telegraf-tg1", []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	waitForCount(t, influx.URL(), "telegraf_cpu", int64(len(msgs)), 30*time.Second)
}
