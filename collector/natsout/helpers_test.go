package natsout

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/natsd"
	"github.com/swell-pipeline/swell/internal/testenv"
)

const testNode = "node-a"

// ensureStreams creates SWELL_METRICS on a server, retrying while its
// JetStream is still starting.
func ensureStreams(t testing.TB, js jetstream.JetStream) {
	t.Helper()
	eventually(t, 15*time.Second, "streams created", func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		return bus.EnsureStreams(ctx, js, bus.StreamLimits{}) == nil
	})
}

// upNATS is a running server with the streams, and a client of it.
func upNATS(t testing.TB) (*natsd.Server, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	srv := testenv.NATS(t)
	nc, js := testenv.Connect(t, srv.ClientURL())
	ensureStreams(t, js)
	return srv, nc, js
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// pendingConn is a connection to a port nothing listens on yet, as an agent
// has when it boots before NATS. It connects once a server appears there.
func pendingConn(t testing.TB, port int) *nats.Conn {
	t.Helper()
	nc, err := bus.ConnOptions{
		URL:                  "nats://127.0.0.1:" + strconv.Itoa(port),
		Name:                 t.Name(),
		RetryOnFailedConnect: true,
		MaxReconnectWait:     300 * time.Millisecond,
	}.Connect(nil)
	if err != nil {
		t.Fatalf("connect with retry: %v", err)
	}
	t.Cleanup(nc.Close)
	if nc.IsConnected() {
		t.Fatal("connected although no server listens")
	}
	return nc
}

// smallNATS starts a JetStream server with a plain server's kind of payload
// limit instead of the embedded server's 8 MiB.
func smallNATS(t testing.TB, port int, maxPayload int32) string {
	t.Helper()
	if port == 0 {
		port = server.RANDOM_PORT
	}
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: t.TempDir(),
		MaxPayload: maxPayload, NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(15 * time.Second) {
		t.Fatal("small NATS server did not start")
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv.ClientURL()
}

// started is an Output with Run going.
type started struct {
	*Output
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

func newOutput(t testing.TB, o Options) (*Output, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if o.Node == "" {
		o.Node = testNode
	}
	o.Registerer = reg
	out, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = out.Close() })
	return out, reg
}

func start(t testing.TB, o Options) *started {
	t.Helper()
	out, reg := newOutput(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{Output: out, reg: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- out.Run(ctx) }()
	t.Cleanup(func() { _ = s.stop(t) })
	// Writes before Run takes over go to the spool; tests of live
	// publishing need it running.
	eventually(t, 5*time.Second, "Run started", func() bool {
		out.mu.Lock()
		defer out.mu.Unlock()
		return out.state == running
	})
	return s
}

// stop ends Run and returns its error; it is safe to call twice.
func (s *started) stop(t testing.TB) error {
	t.Helper()
	s.cancel()
	select {
	case err, ok := <-s.done:
		if ok {
			close(s.done)
		}
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30s of its context ending")
		return nil
	}
}

func stat(out *Output, key string) int64 { return out.PipelineStats()[key].(int64) }

// metric reads one of the output's metrics from its registry.
func metric(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// seqBatch encodes points whose "seq" field runs from..from+n-1, padded so
// that a point takes about 80 bytes.
func seqBatch(t testing.TB, from, n int) collector.Batch {
	t.Helper()
	var enc lineprotocol.Encoder
	enc.SetPrecision(lineprotocol.Nanosecond)
	for i := from; i < from+n; i++ {
		enc.StartLine("seqtest")
		enc.AddTag("container", "web-1")
		enc.AddTag("node", testNode)
		enc.AddField("seq", lineprotocol.IntValue(int64(i)))
		enc.AddField("usage", lineprotocol.MustNewValue(float64(i)*0.5))
		enc.EndLine(time.Unix(1700000000, int64(i)))
	}
	if err := enc.Err(); err != nil {
		t.Fatal(err)
	}
	return collector.Batch{Data: bytes.Clone(enc.Bytes()), Points: n}
}

// storedMsg is one message read back from SWELL_METRICS.
type storedMsg struct {
	subject, id string
	size        int
	seqs        []int64
}

func readStream(t testing.TB, js jetstream.JetStream) []storedMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, bus.StreamMetrics)
	if err != nil {
		t.Fatalf("stream %s: %v", bus.StreamMetrics, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []storedMsg
	if info.State.Msgs == 0 {
		return nil
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("get message %d: %v", seq, err)
		}
		out = append(out, storedMsg{
			subject: m.Subject,
			id:      m.Header.Get(jetstream.MsgIDHeader),
			size:    len(m.Data) + len(m.Header),
			seqs:    decodeSeqs(t, m.Data),
		})
	}
	return out
}

func decodeSeqs(t testing.TB, data []byte) []int64 {
	t.Helper()
	var seqs []int64
	dec := lineprotocol.NewDecoderWithBytes(data)
	for dec.Next() {
		for {
			key, val, err := dec.NextField()
			if err != nil {
				t.Fatalf("decode stored line protocol: %v", err)
			}
			if key == nil {
				break
			}
			if string(key) == "seq" {
				seqs = append(seqs, val.IntV())
			}
		}
	}
	return seqs
}

// seqCounts counts how often each seq is stored.
func seqCounts(msgs []storedMsg) map[int64]int {
	c := make(map[int64]int)
	for _, m := range msgs {
		for _, s := range m.seqs {
			c[s]++
		}
	}
	return c
}

// assertExactlyOnce checks that seqs from..to-1 are stored once each and
// nothing else is stored.
func assertExactlyOnce(t testing.TB, msgs []storedMsg, from, to int) {
	t.Helper()
	counts := seqCounts(msgs)
	var missing, dup int
	for i := from; i < to; i++ {
		switch counts[int64(i)] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	if missing > 0 || dup > 0 || len(counts) != to-from {
		t.Fatalf("seqs %d..%d: %d missing, %d stored more than once, %d distinct stored in all",
			from, to-1, missing, dup, len(counts))
	}
}
