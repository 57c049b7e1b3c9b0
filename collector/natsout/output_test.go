package natsout

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/nats-io/nats.go"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/collector/spool"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/testenv"
)

func TestNewRejectsIncompleteOptions(t *testing.T) {
	srv := testenv.NATS(t)
	nc, _ := testenv.Connect(t, srv.ClientURL())
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no connection", Options{Node: "n", SpoolDir: t.TempDir()}, "no NATS connection"},
		{"no node", Options{Conn: nc, SpoolDir: t.TempDir()}, "no node name"},
		{"no spool dir", Options{Conn: nc, Node: "n"}, "no spool directory"},
		{"negative window", Options{Conn: nc, Node: "n", SpoolDir: t.TempDir(), MaxInFlight: -1}, "MaxInFlight"},
		{"negative ack timeout", Options{Conn: nc, Node: "n", SpoolDir: t.TempDir(), AckTimeout: -time.Second}, "AckTimeout"},
		{"spool cap below minimum", Options{Conn: nc, Node: "n", SpoolDir: t.TempDir(), SpoolMaxBytes: 10}, "below the minimum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestEveryBatchBecomesOneMessageWithAUniqueMsgID(t *testing.T) {
	const batches, points = 40, 100
	_, nc, js := upNATS(t)
	out := start(t, Options{Conn: nc, SpoolDir: t.TempDir()})
	for i := range batches {
		if err := out.Write(t.Context(), seqBatch(t, i*points, points)); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
	}
	eventually(t, 30*time.Second, "all points acknowledged", func() bool {
		return stat(out.Output, "points_published") == batches*points
	})

	msgs := readStream(t, js)
	if len(msgs) != batches {
		t.Fatalf("stream holds %d messages, want %d", len(msgs), batches)
	}
	idRE := regexp.MustCompile(`^` + testNode + `:` + out.BootID() + `:(\d+)$`)
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(out.BootID()) {
		t.Errorf("default boot id %q is not 8 random bytes in hex", out.BootID())
	}
	ids := map[string]bool{}
	for _, m := range msgs {
		if m.subject != bus.MetricsSubject(testNode) {
			t.Errorf("subject %q, want %q", m.subject, bus.MetricsSubject(testNode))
		}
		if !idRE.MatchString(m.id) {
			t.Errorf("Nats-Msg-Id %q does not read <node>:<boot-id>:<seq>", m.id)
		}
		if ids[m.id] {
			t.Errorf("Nats-Msg-Id %q used twice", m.id)
		}
		ids[m.id] = true
	}
	assertExactlyOnce(t, msgs, 0, batches*points)

	want := map[string]float64{
		"swell_output_points_published_total":  batches * points,
		"swell_output_batches_published_total": batches,
		"swell_output_points_spooled_total":    0,
		"swell_output_points_dropped_total":    0,
		"swell_output_publish_errors_total":    0,
		"swell_output_spool_bytes":             0,
		"swell_output_spool_batches":           0,
		"swell_output_inflight_batches":        0,
	}
	for name, v := range want {
		if got := metric(t, out.reg, name); got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
	for _, k := range []string{"points_published", "points_spooled", "points_dropped", "spool_bytes", "spool_batches", "publish_errors"} {
		if _, ok := out.PipelineStats()[k].(int64); !ok {
			t.Errorf("PipelineStats()[%q] = %#v, want an int64", k, out.PipelineStats()[k])
		}
	}
}

// TestNATSRestartUnderLoadLosesAndDuplicatesNothing is the fault test: the
// server goes away for seconds while batches keep coming, and comes back on
// the same store and port.
func TestNATSRestartUnderLoadLosesAndDuplicatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts NATS and takes ~10s; not run with -short")
	}
	const batches, points = 2000, 50
	storeDir, port := t.TempDir(), freePort(t)
	srv := testenv.NATSAt(t, storeDir, port)
	nc, js := testenv.Connect(t, srv.ClientURL())
	ensureStreams(t, js)
	out := start(t, Options{Conn: nc, SpoolDir: t.TempDir(), AckTimeout: 2 * time.Second})

	var written atomic.Int64
	writeErr := make(chan error, 1)
	go func() {
		pace := time.NewTicker(3 * time.Millisecond)
		defer pace.Stop()
		for i := range batches {
			if err := out.Write(t.Context(), seqBatch(t, i*points, points)); err != nil {
				writeErr <- fmt.Errorf("Write %d: %w", i, err)
				return
			}
			written.Add(1)
			<-pace.C
		}
		writeErr <- nil
	}()

	eventually(t, 30*time.Second, "a quarter of the batches written", func() bool { return written.Load() >= batches/4 })
	srv.Shutdown()
	downAt := written.Load()
	// The outage itself: NATS stays away while the writer keeps going.
	<-time.After(3 * time.Second)
	testenv.NATSAt(t, storeDir, port)
	upAt := written.Load()
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	t.Logf("server down after batch %d, up again after batch %d", downAt, upAt)
	if upAt >= batches {
		t.Fatalf("the writer finished during the outage; the test did not exercise writing after the restart")
	}

	eventually(t, 60*time.Second, "spool replayed and every ack in", func() bool {
		return out.spool.Len() == 0 && len(out.slots) == 0 && nc.IsConnected()
	})
	msgs := readStream(t, js)
	assertExactlyOnce(t, msgs, 0, batches*points)

	s := out.PipelineStats()
	// Whether publishes were caught in flight (publish_errors, duplicates)
	// depends on timing; a clean shutdown acks everything it read.
	t.Logf("stats %v, duplicates dropped by JetStream %d, messages %d", s, out.batchesDuplicate.Load(), len(msgs))
	if s["points_spooled"].(int64) == 0 {
		t.Error("points_spooled = 0: the outage never reached the spool")
	}
	if s["spool_batches"].(int64) != 0 || s["spool_bytes"].(int64) != 0 {
		t.Errorf("spool not drained: %d batches, %d bytes", s["spool_batches"], s["spool_bytes"])
	}
	if s["points_dropped"].(int64) != 0 {
		t.Errorf("points_dropped = %d, want 0", s["points_dropped"])
	}
}

func TestSpoolFromAStoppedProcessIsReplayedByTheNextOne(t *testing.T) {
	const batches, points = 30, 20
	port := freePort(t)
	spoolDir := t.TempDir()

	first := start(t, Options{Conn: pendingConn(t, port), SpoolDir: spoolDir})
	for i := range batches {
		if err := first.Write(t.Context(), seqBatch(t, i*points, points)); err != nil {
			t.Fatal(err)
		}
	}
	if err := first.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := stat(first.Output, "spool_batches"); got != batches {
		t.Fatalf("spool holds %d batches after stopping while NATS was down, want %d", got, batches)
	}
	if err := first.Write(t.Context(), seqBatch(t, 0, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Run returned = %v, want ErrClosed", err)
	}

	srv := testenv.NATSAt(t, t.TempDir(), port)
	nc, js := testenv.Connect(t, srv.ClientURL())
	ensureStreams(t, js)
	second := start(t, Options{Conn: nc, SpoolDir: spoolDir})
	if second.BootID() == first.BootID() {
		t.Fatal("two processes got the same boot id")
	}
	eventually(t, 30*time.Second, "spool replayed", func() bool {
		return stat(second.Output, "points_published") == batches*points
	})
	msgs := readStream(t, js)
	assertExactlyOnce(t, msgs, 0, batches*points)
	for i, m := range msgs {
		want := testNode + ":" + first.BootID() + ":" + strconv.Itoa(i+1)
		if m.id != want {
			t.Fatalf("message %d has id %q, want the id it was spooled with, %q (in order)", i, m.id, want)
		}
	}
	if got := stat(second.Output, "spool_batches"); got != 0 {
		t.Fatalf("spool holds %d batches after replay", got)
	}
}

func TestFullSpoolDropsOldestAndDeliversNewest(t *testing.T) {
	const batches, points, capBytes = 100, 50, 64 << 10
	port := freePort(t)
	out := start(t, Options{Conn: pendingConn(t, port), SpoolDir: t.TempDir(), SpoolMaxBytes: capBytes})
	for i := range batches {
		if err := out.Write(t.Context(), seqBatch(t, i*points, points)); err != nil {
			t.Fatal(err)
		}
	}
	if b := stat(out.Output, "spool_bytes"); b > capBytes {
		t.Fatalf("spool_bytes = %d, over the cap of %d", b, capBytes)
	}
	dropped := stat(out.Output, "points_dropped")
	if dropped == 0 || dropped%points != 0 {
		t.Fatalf("points_dropped = %d, want a positive multiple of %d", dropped, points)
	}

	srv := testenv.NATSAt(t, t.TempDir(), port)
	_, js := testenv.Connect(t, srv.ClientURL())
	ensureStreams(t, js)
	eventually(t, 30*time.Second, "spool replayed", func() bool {
		return stat(out.Output, "points_published")+dropped == batches*points
	})
	// Oldest first: what survived is exactly the tail.
	assertExactlyOnce(t, readStream(t, js), int(dropped), batches*points)
	if got := metric(t, out.reg, "swell_output_points_dropped_total"); got != float64(dropped) {
		t.Fatalf("swell_output_points_dropped_total = %v, want %d", got, dropped)
	}
}

func TestSpooledRecordPublishedTwiceIsStoredOnce(t *testing.T) {
	_, nc, js := upNATS(t)
	spoolDir := t.TempDir()
	b := seqBatch(t, 0, 10)
	rec := spool.Record{ID: testNode + ":0123456789abcdef:7", Data: b.Data, Points: b.Points}
	spoolOne := func() {
		sp, err := spool.Open(spoolDir, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := sp.Append(rec); err != nil {
			t.Fatal(err)
		}
		if err := sp.Close(); err != nil {
			t.Fatal(err)
		}
	}

	var dups int64
	for round := range 2 {
		spoolOne()
		out := start(t, Options{Conn: nc, SpoolDir: spoolDir})
		eventually(t, 30*time.Second, "spool replayed", func() bool {
			return stat(out.Output, "spool_batches") == 0 && len(out.slots) == 0
		})
		if err := out.stop(t); err != nil {
			t.Fatal(err)
		}
		dups += out.batchesDuplicate.Load()
		if round == 1 && metric(t, out.reg, "swell_output_batches_duplicate_total") != 1 {
			t.Errorf("second replay: swell_output_batches_duplicate_total = %v, want 1",
				metric(t, out.reg, "swell_output_batches_duplicate_total"))
		}
	}
	msgs := readStream(t, js)
	if len(msgs) != 1 || msgs[0].id != rec.ID {
		t.Fatalf("stream holds %d messages (%+v), want the one with id %s", len(msgs), msgs, rec.ID)
	}
	if dups != 1 {
		t.Fatalf("JetStream reported %d duplicates, want 1", dups)
	}
}

func TestUnacknowledgedBatchesAreSpooledForTheNextStart(t *testing.T) {
	// No stream, but a plain subscriber on the subject: messages get
	// through and no ack ever comes back, as with a server that dies after
	// reading them.
	srv := testenv.NATS(t)
	nc, _ := testenv.Connect(t, srv.ClientURL())
	sink, _ := testenv.Connect(t, srv.ClientURL())
	var seen atomic.Int64
	if _, err := sink.Subscribe(bus.MetricsSubject(testNode), func(*nats.Msg) { seen.Add(1) }); err != nil {
		t.Fatal(err)
	}
	if err := sink.Flush(); err != nil {
		t.Fatal(err)
	}
	spoolDir := t.TempDir()
	out := start(t, Options{Conn: nc, SpoolDir: spoolDir, AckTimeout: 300 * time.Millisecond})
	for i := range 5 {
		if err := out.Write(t.Context(), seqBatch(t, i*10, 10)); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.stop(t); err != nil {
		t.Fatal(err)
	}
	if seen.Load() == 0 {
		t.Fatal("the subscriber saw no message: nothing was published live")
	}
	if got := stat(out.Output, "publish_errors"); got == 0 {
		t.Error("publish_errors = 0 although no ack came")
	}

	sp, err := spool.Open(spoolDir, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	recs, err := sp.Peek(100, 0)
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[int64]bool{}
	for _, r := range recs {
		if !strings.HasPrefix(r.ID, testNode+":"+out.BootID()+":") {
			t.Errorf("spooled record has id %q, not the one it was published under", r.ID)
		}
		for _, s := range decodeSeqs(t, r.Data) {
			seqs[s] = true
		}
	}
	if len(seqs) != 50 {
		t.Fatalf("spool holds %d distinct points after stopping, want all 50", len(seqs))
	}
}

func TestBatchOverTheServersMaxPayloadIsSplitOnLines(t *testing.T) {
	const maxPayload = 64 << 10
	url := smallNATS(t, 0, maxPayload)
	nc, js := testenv.Connect(t, url)
	ensureStreams(t, js)
	out := start(t, Options{Conn: nc, SpoolDir: t.TempDir()})

	b := seqBatch(t, 0, 3000) // ~240 KB
	huge := hugeLine(t, maxPayload)
	b.Data = append(b.Data, huge...)
	b.Points++
	if err := out.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "split batch acknowledged", func() bool {
		return stat(out.Output, "points_published") == 3000
	})
	msgs := readStream(t, js)
	if len(msgs) < 4 {
		t.Fatalf("%d messages, want the ~240 KB batch split into at least 4", len(msgs))
	}
	for _, m := range msgs {
		if m.size > maxPayload {
			t.Errorf("message %s is %d bytes, over the server's %d", m.id, m.size, maxPayload)
		}
	}
	assertExactlyOnce(t, msgs, 0, 3000)
	if got := stat(out.Output, "points_dropped"); got != 1 {
		t.Fatalf("points_dropped = %d, want 1 (the line larger than any message)", got)
	}
}

func TestSpooledBatchOverTheServersMaxPayloadIsSplitOnReplay(t *testing.T) {
	const maxPayload = 64 << 10
	port := freePort(t)
	out := start(t, Options{Conn: pendingConn(t, port), SpoolDir: t.TempDir()})
	// The server's limit is unknown before the first connect, so this is
	// spooled whole.
	if err := out.Write(t.Context(), seqBatch(t, 0, 3000)); err != nil {
		t.Fatal(err)
	}
	if got := stat(out.Output, "spool_batches"); got != 1 {
		t.Fatalf("spool_batches = %d, want 1", got)
	}
	spooledID := testNode + ":" + out.BootID() + ":1"

	url := smallNATS(t, port, maxPayload)
	_, js := testenv.Connect(t, url)
	ensureStreams(t, js)
	eventually(t, 30*time.Second, "spool replayed", func() bool {
		return stat(out.Output, "points_published") == 3000
	})
	msgs := readStream(t, js)
	for i, m := range msgs {
		if want := spooledID + "." + strconv.Itoa(i); m.id != want {
			t.Errorf("part %d has id %q, want %q", i, m.id, want)
		}
	}
	assertExactlyOnce(t, msgs, 0, 3000)
}

func TestRunStopsPromptlyAndRefusesToRunTwice(t *testing.T) {
	_, nc, _ := upNATS(t)
	out := start(t, Options{Conn: nc, SpoolDir: t.TempDir()})
	begin := time.Now()
	if err := out.stop(t); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("idle Run took %s to stop", d)
	}
	if err := out.Run(t.Context()); err == nil {
		t.Fatal("second Run returned nil")
	}
}

// hugeLine is one point whose string field alone is larger than limit.
func hugeLine(t testing.TB, limit int) []byte {
	t.Helper()
	var enc lineprotocol.Encoder
	enc.StartLine("seqtest")
	enc.AddField("blob", lineprotocol.MustNewValue(strings.Repeat("x", limit)))
	enc.AddField("seq", lineprotocol.IntValue(-1))
	enc.EndLine(time.Unix(1700000000, 0))
	if err := enc.Err(); err != nil {
		t.Fatal(err)
	}
	return enc.Bytes()
}

func BenchmarkPublish(b *testing.B) {
	const points = 5000
	_, nc, _ := upNATS(b)
	out := start(b, Options{Conn: nc, SpoolDir: b.TempDir()})
	batch := seqBatch(b, 0, points)
	b.SetBytes(int64(len(batch.Data)))
	begin := time.Now()
	n := 0
	for b.Loop() {
		if err := out.Write(b.Context(), collector.Batch{Data: batch.Data, Points: points}); err != nil {
			b.Fatal(err)
		}
		n++
	}
	eventually(b, 120*time.Second, "every batch acknowledged", func() bool {
		return stat(out.Output, "points_published") == int64(n*points)
	})
	elapsed := time.Since(begin)
	b.ReportMetric(float64(n*points)/elapsed.Seconds(), "points/s")
	b.ReportMetric(float64(stat(out.Output, "points_spooled"))/float64(n*points), "spooled/point")
}
