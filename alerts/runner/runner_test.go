package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/alerts"
	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/alerts/receivers/webhook"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/testenv"
)

// hook is an httptest webhook receiver that keeps what it was sent.
type hook struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []received
}

type received struct {
	at  time.Time
	msg webhook.Message
}

func newHook(t testing.TB) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var m webhook.Message
		if err == nil {
			err = json.Unmarshal(body, &m)
		}
		if err != nil {
			t.Errorf("webhook body: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.got = append(h.got, received{at: time.Now(), msg: m})
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// summary lists what each notification said: "firing a,b" or "resolved a".
func (h *hook) summary() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.got {
		var ids []string
		for _, a := range r.msg.Alerts {
			ids = append(ids, a.Status+":"+a.Labels["container"])
		}
		out = append(out, fmt.Sprint(ids))
	}
	return out
}

// waitFor polls until the hook got n notifications and returns the time
// the n-th arrived.
func (h *hook) waitFor(t testing.TB, n int) time.Time {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		if len(h.got) >= n {
			at := h.got[n-1].at
			h.mu.Unlock()
			return at
		}
		h.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("webhook got %d notifications in 10s, want %d: %v", len(h.summary()), n, h.summary())
	return time.Time{}
}

func publish(t testing.TB, js jetstream.JetStream, container string, usage float64) time.Time {
	t.Helper()
	var enc lineprotocol.Encoder
	enc.StartLine("docker_container_mem")
	enc.AddTag("container", container)
	enc.AddTag("service", "/shop/web")
	enc.AddField("usage_percent", lineprotocol.MustNewValue(usage))
	enc.EndLine(time.Now())
	if err := enc.Err(); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	if _, err := js.Publish(t.Context(), bus.MetricsSubject("n1"), enc.Bytes()); err != nil {
		t.Fatal(err)
	}
	return at
}

type running struct {
	stop func()
	r    *Runner
}

func startRunner(t testing.TB, js jetstream.JetStream, h *hook, log *slog.Logger) running {
	t.Helper()
	wh, err := webhook.New(webhook.Config{URL: notify.NewSecret(h.srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Options{
		JS: js,
		Rules: []alerts.Rule{{
			Name: "container-memory", Measurement: "docker_container_mem", Field: "usage_percent",
			Where: []alerts.Matcher{alerts.MustMatcher("service", alerts.MatchEqual, "/shop/web")},
			Warn:  alerts.MustCondition("> 80"), Crit: alerts.MustCondition("> 95"),
		}},
		Routes:         []alerts.Route{{Name: "web", Receivers: []string{"hook"}, GroupBy: []string{"container"}, GroupInterval: time.Second}},
		Receivers:      map[string]notify.Notifier{"hook": wh},
		Logger:         log,
		Events:         events.NewPublisher(js, nil),
		TickInterval:   100 * time.Millisecond,
		PointsInterval: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("Run did not return 15s after its context ended")
		}
	}
	t.Cleanup(stop)
	// Run creates its consumer; points published before that are not its
	// concern (deliver from new on first start).
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := js.Consumer(t.Context(), bus.StreamMetrics, Consumer); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("consumer not created in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return running{stop: stop, r: r}
}

func TestIntegrationCrossingReachesWebhookOnceAcrossRestarts(t *testing.T) {
	srv := testenv.NATS(t)
	_, js := testenv.Connect(t, srv.ClientURL())
	if err := bus.EnsureStreams(t.Context(), js, bus.StreamLimits{}); err != nil {
		t.Fatal(err)
	}
	if err := bus.EnsureKV(t.Context(), js, 1); err != nil {
		t.Fatal(err)
	}
	var logs testenv.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHook(t)

	run := startRunner(t, js, h, log)
	sentAt := publish(t, js, "web-1", 99)
	gotAt := h.waitFor(t, 1)
	t.Logf("crossing published → webhook received: %s", gotAt.Sub(sentAt))

	publish(t, js, "web-1", 50)
	h.waitFor(t, 2)

	publish(t, js, "web-1", 97)
	h.waitFor(t, 3)
	if len(run.r.Active()) != 1 {
		t.Errorf("active alerts %+v, want web-1", run.r.Active())
	}
	run.stop()

	// A restart while web-1 still fires: web-1 is not sent again. The
	// runner sends in order, so web-2's notification arriving means any
	// duplicate would have arrived before it.
	run = startRunner(t, js, h, log)
	publish(t, js, "web-1", 98)
	publish(t, js, "web-2", 99)
	h.waitFor(t, 4)
	run.stop()

	// web-1 resolves while the runner is down: the replayed point sends
	// the resolve after the restart.
	publish(t, js, "web-1", 10)
	run = startRunner(t, js, h, log)
	h.waitFor(t, 5)
	run.stop()

	want := []string{
		"[firing:web-1]", "[resolved:web-1]", "[firing:web-1]",
		"[firing:web-2]",
		"[resolved:web-1]",
	}
	if got := h.summary(); !slices.Equal(got, want) {
		t.Errorf("notifications\n got %v\nwant %v\nlogs:\n%s", got, want, logs.String())
	}
	h.mu.Lock()
	for _, r := range h.got {
		if r.msg.Version != "4" || r.msg.Receiver != "hook" || r.msg.GroupKey == "" {
			t.Errorf("message %+v is not an Alertmanager v4 body", r.msg)
		}
	}
	h.mu.Unlock()

	evs, err := events.List(t.Context(), js, events.Filter{Type: events.Alert})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) < 5 {
		t.Errorf("%d alert events, want one per state change (5 or more): %+v", len(evs), evs)
	}
}

func TestSilenceInKVHoldsNotifications(t *testing.T) {
	srv := testenv.NATS(t)
	_, js := testenv.Connect(t, srv.ClientURL())
	if err := bus.EnsureStreams(t.Context(), js, bus.StreamLimits{}); err != nil {
		t.Fatal(err)
	}
	if err := bus.EnsureKV(t.Context(), js, 1); err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(t.Context(), bus.BucketAlerts)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := PutSilence(t.Context(), kv, alerts.Silence{
		ID: "maint-1", Matchers: []alerts.Matcher{alerts.MustMatcher("container", alerts.MatchEqual, "web-1")},
		StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour), Comment: "maintenance",
	}); err != nil {
		t.Fatal(err)
	}
	h := newHook(t)
	run := startRunner(t, js, h, slog.New(slog.DiscardHandler))
	publish(t, js, "web-1", 99)
	publish(t, js, "web-2", 99)
	h.waitFor(t, 1)
	if err := ExpireSilence(t.Context(), kv, "maint-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	// The group of web-1 is looked at every groupInterval (1s): once the
	// silence is gone it is sent.
	h.waitFor(t, 2)
	run.stop()
	if got, want := h.summary(), []string{"[firing:web-2]", "[firing:web-1]"}; !slices.Equal(got, want) {
		t.Errorf("notifications %v, want %v", got, want)
	}
	ss, err := Silences(t.Context(), kv)
	if err != nil || len(ss) != 1 || ss[0].Active(time.Now()) {
		t.Errorf("silences %+v, %v: want maint-1, expired", ss, err)
	}
}

func TestDecodeBatchReadsLineProtocol(t *testing.T) {
	data := []byte("cpu,host=a usage=1.5,count=3i,ok=true,name=\"x\" 1700000000000000000\nbad line\nmem,host=b used=7u\n")
	now := time.Unix(1800000000, 0)
	var got []alerts.Point
	n, bad, err := decodeBatch(data, now, func(p alerts.Point) {
		got = append(got, alerts.Point{Measurement: p.Measurement, Tags: maps.Clone(p.Tags), Fields: maps.Clone(p.Fields), Time: p.Time})
	})
	if n != 2 || bad != 1 || err == nil {
		t.Fatalf("points %d, bad %d, err %v; want 2, 1 and the bad line's error", n, bad, err)
	}
	if got[0].Fields["usage"] != 1.5 || got[0].Fields["count"] != int64(3) || got[0].Fields["ok"] != true || got[0].Tags["host"] != "a" || got[0].Time.UnixNano() != 1700000000000000000 {
		t.Errorf("first point %+v", got[0])
	}
	if got[1].Fields["used"] != uint64(7) || !got[1].Time.Equal(now) {
		t.Errorf("second point %+v: want used=7 stamped with now", got[1])
	}
}

// kvKeyRE is the key syntax NATS KV accepts.
var kvKeyRE = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

func TestRuleKeysAreValidAndDistinct(t *testing.T) {
	names := []string{"cpu", "a.b", "a_b", "a:b", "a=2Eb", "Service-Degraded"}
	seen := map[string]string{}
	for _, n := range names {
		k := RuleKey(n)
		if !kvKeyRE.MatchString(k) {
			t.Errorf("key %q of %q is not a valid KV key", k, n)
		}
		if other, dup := seen[k]; dup {
			t.Errorf("%q and %q share key %q", n, other, k)
		}
		seen[k] = n
	}
}
