package bus_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/testenv"
)

func jetStream(t *testing.T, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return js
}

func streamConfig(t *testing.T, js jetstream.JetStream, name string) jetstream.StreamConfig {
	t.Helper()
	st, err := js.Stream(t.Context(), name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	return st.CachedInfo().Config
}

func TestEnsureStreamsCreatesTheStreamsIdempotently(t *testing.T) {
	srv := testenv.NATS(t)
	_, js := testenv.Connect(t, srv.ClientURL())
	for i := range 2 {
		if err := bus.EnsureStreams(t.Context(), js, bus.StreamLimits{}); err != nil {
			t.Fatalf("EnsureStreams call %d: %v", i+1, err)
		}
	}

	m := streamConfig(t, js, bus.StreamMetrics)
	d := streamConfig(t, js, bus.StreamDeadLetter)
	checks := []struct {
		what      string
		got, want any
	}{
		{"metrics subjects", m.Subjects, []string{"swell.metrics.>"}},
		{"metrics storage", m.Storage, jetstream.FileStorage},
		{"metrics retention", m.Retention, jetstream.LimitsPolicy},
		{"metrics discard", m.Discard, jetstream.DiscardOld},
		{"metrics duplicate window", m.Duplicates, 10 * time.Minute},
		{"metrics max age", m.MaxAge, 72 * time.Hour},
		{"metrics max bytes", m.MaxBytes, int64(10 << 30)},
		{"metrics replicas", m.Replicas, 1},
		{"dead-letter subjects", d.Subjects, []string{"swell.deadletter.>"}},
		{"dead-letter storage", d.Storage, jetstream.FileStorage},
		{"dead-letter max age", d.MaxAge, 7 * 24 * time.Hour},
		{"dead-letter max bytes", d.MaxBytes, int64(1 << 30)},
	}
	for _, c := range checks {
		if !equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}

	names := []string{}
	for name := range js.StreamNames(t.Context()).Name() {
		names = append(names, name)
	}
	slices.Sort(names)
	if want := []string{bus.StreamDeadLetter, bus.StreamEvents, bus.StreamMetrics}; !slices.Equal(names, want) {
		t.Errorf("streams %v, want exactly %v", names, want)
	}
}

func TestStreamsCatchTheirSubjectsAndDropDuplicates(t *testing.T) {
	srv := testenv.NATS(t)
	_, js := testenv.Connect(t, srv.ClientURL())
	if err := bus.EnsureStreams(t.Context(), js, bus.StreamLimits{}); err != nil {
		t.Fatalf("EnsureStreams: %v", err)
	}
	subjects := []struct{ subject, stream string }{
		{bus.MetricsSubject("node-1"), bus.StreamMetrics},
		{bus.SubjectDeadLetterMetrics, bus.StreamDeadLetter},
	}
	for _, s := range subjects {
		ack, err := js.Publish(t.Context(), s.subject, []byte("cpu usage=1 1"), jetstream.WithMsgID("n1:boot:1"))
		if err != nil {
			t.Fatalf("publish to %s: %v", s.subject, err)
		}
		if ack.Stream != s.stream {
			t.Errorf("%s landed in %s, want %s", s.subject, ack.Stream, s.stream)
		}
	}
	// A spool replay resends the same Nats-Msg-Id; the stream must drop it.
	ack, err := js.Publish(t.Context(), bus.MetricsSubject("node-1"), []byte("cpu usage=1 1"), jetstream.WithMsgID("n1:boot:1"))
	if err != nil {
		t.Fatalf("republish: %v", err)
	}
	if !ack.Duplicate {
		t.Errorf("republished message with the same Nats-Msg-Id was stored again")
	}
}

func TestEnsureStreamsAppliesAndUpdatesLimits(t *testing.T) {
	srv := testenv.NATS(t)
	_, js := testenv.Connect(t, srv.ClientURL())

	first := bus.StreamLimits{MaxAge: time.Hour, MaxBytes: 64 << 20, Duplicates: time.Minute}
	if err := bus.EnsureStreams(t.Context(), js, first); err != nil {
		t.Fatalf("EnsureStreams: %v", err)
	}
	m, d := streamConfig(t, js, bus.StreamMetrics), streamConfig(t, js, bus.StreamDeadLetter)
	if m.MaxAge != time.Hour || m.MaxBytes != 64<<20 || m.Duplicates != time.Minute {
		t.Errorf("metrics limits: max age %s, max bytes %d, duplicates %s; want 1h, %d, 1m",
			m.MaxAge, m.MaxBytes, m.Duplicates, 64<<20)
	}
	if d.MaxBytes != 64<<20 {
		t.Errorf("dead-letter max bytes %d, want the metrics cap %d when it is below 1 GiB", d.MaxBytes, 64<<20)
	}

	if _, err := js.Publish(t.Context(), bus.MetricsSubject("n1"), []byte("cpu usage=1 1")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	second := first
	second.MaxAge = 2 * time.Hour
	second.MaxBytes = 128 << 20
	if err := bus.EnsureStreams(t.Context(), js, second); err != nil {
		t.Fatalf("EnsureStreams with changed limits: %v", err)
	}
	st, err := js.Stream(t.Context(), bus.StreamMetrics)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	info := st.CachedInfo()
	if info.Config.MaxAge != 2*time.Hour || info.Config.MaxBytes != 128<<20 {
		t.Errorf("after update: max age %s, max bytes %d; want 2h, %d", info.Config.MaxAge, info.Config.MaxBytes, 128<<20)
	}
	if info.State.Msgs != 1 {
		t.Errorf("update lost messages: %d left, want 1", info.State.Msgs)
	}
}

func TestEnsureStreamsNamesTheStreamWhenJetStreamIsOff(t *testing.T) {
	_, addr := startServer(t, nil) // plain NATS, no JetStream
	nc, err := bus.ConnOptions{URL: natsURL(addr)}.Connect(nil)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = bus.EnsureStreams(ctx, jetStream(t, nc), bus.StreamLimits{})
	if err == nil {
		t.Fatalf("EnsureStreams succeeded on a server without JetStream")
	}
	if !strings.Contains(err.Error(), bus.StreamMetrics) {
		t.Errorf("error %q does not name %s", err, bus.StreamMetrics)
	}
}

func equal(a, b any) bool {
	if as, ok := a.([]string); ok {
		bs, ok := b.([]string)
		return ok && slices.Equal(as, bs)
	}
	return a == b
}
