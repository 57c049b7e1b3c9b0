package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTime is a settable clock for the handlers.
type fakeTime struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeTime) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeTime) add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func get(t *testing.T, h http.Handler, target string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, strings.TrimSpace(string(body))
}

func TestHealthzFailureInjection(t *testing.T) {
	type step struct {
		advance time.Duration
		target  string
		want    int
	}
	tests := []struct {
		name  string
		env   map[string]string
		steps []step
	}{
		{"healthy by default", nil, []step{{0, "/healthz", 200}}},
		{"FAIL_HEALTHZ fails from the start", map[string]string{"FAIL_HEALTHZ": "1"}, []step{
			{0, "/healthz", 503}, {time.Hour, "/healthz", 503},
		}},
		{"FAIL_HEALTHZ=0 stays healthy", map[string]string{"FAIL_HEALTHZ": "0"}, []step{{0, "/healthz", 200}}},
		{"FAIL_HEALTHZ_AFTER fails once the time has passed", map[string]string{"FAIL_HEALTHZ_AFTER": "10s"}, []step{
			{0, "/healthz", 200}, {9 * time.Second, "/healthz", 200}, {time.Second, "/healthz", 503},
		}},
		{"FAIL_HEALTHZ_AFTER takes plain seconds", map[string]string{"FAIL_HEALTHZ_AFTER": "5"}, []step{
			{4 * time.Second, "/healthz", 200}, {time.Second, "/healthz", 503},
		}},
		{"/fail?healthz=N fails for N seconds", nil, []step{
			{0, "/fail?healthz=3", 200}, {0, "/healthz", 503}, {2 * time.Second, "/healthz", 503}, {time.Second, "/healthz", 200},
		}},
		{"/fail?healthz=0 ends an injected failure", map[string]string{"FAIL_HEALTHZ": "1"}, []step{
			{0, "/healthz", 503}, {0, "/fail?healthz=0", 200}, {0, "/healthz", 200},
		}},
		{"/fail without a parameter is a bad request", nil, []step{{0, "/fail", 400}}},
		{"/fail with a negative duration is a bad request", nil, []step{{0, "/fail?healthz=-1", 400}, {0, "/healthz", 200}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeTime{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			a, err := newApp(env(tt.env), clk.now, func(int) { t.Error("unexpected exit") })
			if err != nil {
				t.Fatal(err)
			}
			h := a.handler()
			for i, s := range tt.steps {
				clk.add(s.advance)
				if code, body := get(t, h, s.target); code != s.want {
					t.Errorf("step %d: GET %s = %d %q, want %d", i, s.target, code, body, s.want)
				}
			}
		})
	}
}

func TestNewAppRejectsBadEnvironment(t *testing.T) {
	for _, kv := range []map[string]string{
		{"FAIL_HEALTHZ": "maybe"},
		{"FAIL_HEALTHZ_AFTER": "soon"},
		{"FAIL_HEALTHZ_AFTER": "-3s"},
	} {
		if _, err := newApp(env(kv), time.Now, func(int) {}); err == nil {
			t.Errorf("newApp(%v) accepted it", kv)
		}
	}
}

func TestFailExit(t *testing.T) {
	exited := -1
	a, err := newApp(env(nil), time.Now, func(code int) { exited = code })
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, a.handler(), "/fail?exit=3"); code != 200 || !strings.Contains(body, "status 3") {
		t.Errorf("GET /fail?exit=3 = %d %q", code, body)
	}
	if exited != 3 {
		t.Errorf("exit status = %d, want 3", exited)
	}
	if code, _ := get(t, a.handler(), "/fail?exit=300"); code != 400 {
		t.Errorf("GET /fail?exit=300 = %d, want 400", code)
	}
}

func TestWorkAndVersion(t *testing.T) {
	a, err := newApp(env(map[string]string{"VERSION": "2"}), time.Now, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	h := a.handler()
	tests := []struct {
		target   string
		wantCode int
		wantBody string
	}{
		{"/", 200, "ok"},
		{"/?ms=1", 200, "ok"},
		{"/?status=503", 503, "ok"},
		{"/?status=302", 302, "ok"},
		{"/?status=99", 400, ""},
		{"/?ms=x", 400, ""},
		{"/?ms=600000", 400, ""},
		{"/version", 200, "2"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			code, body := get(t, h, tt.target)
			if code != tt.wantCode || (tt.wantBody != "" && body != tt.wantBody) {
				t.Errorf("GET %s = %d %q, want %d %q", tt.target, code, body, tt.wantCode, tt.wantBody)
			}
		})
	}
}

func TestWorkWaitsForMs(t *testing.T) {
	a, _ := newApp(env(nil), time.Now, func(int) {})
	start := time.Now()
	if code, _ := get(t, a.handler(), "/?ms=50"); code != 200 {
		t.Fatalf("GET /?ms=50 = %d", code)
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Errorf("GET /?ms=50 answered after %v", took)
	}
}

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
		case "/redirect":
			http.Redirect(w, r, "/bad", http.StatusFound)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		path string
		ok   bool
	}{
		{"/ok", true},
		{"/redirect", true}, // 3xx is healthy and not followed
		{"/bad", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			err := probe(t.Context(), srv.URL+tt.path)
			if (err == nil) != tt.ok {
				t.Errorf("probe(%s) = %v, want ok=%v", tt.path, err, tt.ok)
			}
		})
	}
}
