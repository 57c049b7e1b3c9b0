package receivertest

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/internal/clock"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// Request is one request the server received.
type Request struct {
	Method   string
	Path     string // decoded path
	RawPath  string // path as sent
	RawQuery string
	Header   http.Header
	Body     []byte
}

// Reply is one scripted answer.
type Reply struct {
	Status int
	Body   string
	Header map[string]string
}

// Server is an httptest server that records requests and answers them from
// a script; the last reply repeats, and with no script it answers 200 "{}".
type Server struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []Request
	replies []Reply
}

// NewServer starts a server closed at the end of the test.
func NewServer(t testing.TB, replies ...Reply) *Server {
	s := &Server{replies: replies}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	reply := Reply{Status: http.StatusOK, Body: "{}"}
	if len(s.replies) > 0 {
		reply = s.replies[0]
		if len(s.replies) > 1 {
			s.replies = s.replies[1:]
		}
	}
	s.mu.Unlock()
	for k, v := range reply.Header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(reply.Status)
	_, _ = io.WriteString(w, reply.Body)
}

// Requests returns what the server received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Only returns the single request the server received, failing otherwise.
func (s *Server) Only(t testing.TB) Request {
	t.Helper()
	reqs := s.Requests()
	if len(reqs) != 1 {
		t.Fatalf("server got %d requests, want 1", len(reqs))
	}
	return reqs[0]
}

// Golden compares got with testdata/name, rewriting it under -update.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Fatalf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// Now is the fixed time the receiver tests sign requests at:
// 2026-03-01 12:00:00 UTC, Unix 1772366400.
func Now() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

// Sample is a notification with one firing and one resolved alert.
func Sample() notify.Notification {
	start := time.Date(2026, 3, 1, 11, 58, 0, 0, time.UTC)
	n := notify.NewNotification("oncall", `{}:{alertname="ContainerMemory"}`, map[string]string{"alertname": "ContainerMemory"}, []notify.Alert{
		{
			Status: notify.StatusFiring, Severity: notify.SeverityCritical, Value: 97.5,
			Labels:      map[string]string{"alertname": "ContainerMemory", "node": "n1", "service": "web", "severity": "critical"},
			Annotations: map[string]string{"summary": "web memory at 97.5%", "description": "above 95% for 1m"},
			StartsAt:    start, GeneratorURL: "http://swell.example:8080/alerts/container-memory", Fingerprint: "a1b2c3d4e5f60718",
		},
		{
			Status: notify.StatusResolved, Severity: notify.SeverityWarning, Value: 41,
			Labels:      map[string]string{"alertname": "ContainerMemory", "node": "n2", "service": "web", "severity": "warning"},
			Annotations: map[string]string{"summary": "web memory back to 41%"},
			StartsAt:    start.Add(-10 * time.Minute), EndsAt: start.Add(time.Minute), Fingerprint: "0f1e2d3c4b5a6978",
		},
	})
	n.ExternalURL = "http://swell.example:8080"
	return n
}

// NoSecrets fails if any output contains any secret value (or a URL
// secret's token-bearing parts).
func NoSecrets(t testing.TB, secrets []string, outputs ...string) {
	t.Helper()
	for _, out := range outputs {
		for _, s := range secrets {
			if s != "" && strings.Contains(out, s) {
				t.Errorf("secret %.3s… appears in output:\n%s", s, out)
			}
		}
	}
}

// ThroughPipeline sends n through a one-attempt pipeline with a debug
// logger and returns the result and everything logged, so a test can check
// that secrets stay out of the pipeline's logs too.
func ThroughPipeline(t testing.TB, rcv notify.Notifier, n notify.Notification) (notify.Result, string) {
	t.Helper()
	var logs bytes.Buffer
	p, err := notify.NewPipeline(notify.PipelineOptions{
		Receiver: "under-test", Notifier: rcv, Retry: notify.RetryPolicy{MaxAttempts: 1},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	r := p.Notify(t.Context(), n)
	return r, logs.String()
}

// Clock is stopped at Now, for receivers that sign with a timestamp.
type Clock struct{}

var _ clock.Clock = Clock{}

// Now returns receivertest.Now().
func (Clock) Now() time.Time { return Now() }

// NewTicker is not used by receivers.
func (Clock) NewTicker(d time.Duration) clock.Ticker { return clock.Real{}.NewTicker(d) }

// NewTimer is not used by receivers.
func (Clock) NewTimer(d time.Duration) clock.Timer { return clock.Real{}.NewTimer(d) }

// TransportErrorHidesSecrets checks that a receiver whose endpoint refuses
// connections fails retryably, and that neither its error nor the
// pipeline's logs show any of secrets (URLs carrying tokens are the usual
// leak). build makes the receiver for an endpoint base URL.
func TransportErrorHidesSecrets(t testing.TB, build func(base string) notify.Notifier, secrets []string) {
	t.Helper()
	srv := NewServer(t)
	base := srv.URL
	srv.Close()
	r := build(base)
	retryable, err := r.Notify(t.Context(), Sample())
	if err == nil || !retryable {
		t.Fatalf("err = %v, retryable = %v; want a retryable error", err, retryable)
	}
	_, logs := ThroughPipeline(t, r, Sample())
	NoSecrets(t, secrets, err.Error(), logs)
}

// Build applies mutate (when set) to the config c and builds a receiver
// with build, failing the test if it refuses the config.
func Build[C, R any](t testing.TB, c C, mutate func(*C), build func(C) (R, error)) R {
	t.Helper()
	if mutate != nil {
		mutate(&c)
	}
	r, err := build(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
