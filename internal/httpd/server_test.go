package httpd_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/internal/httpd"
	"github.com/swell-pipeline/swell/internal/testenv"
)

func startServer(t *testing.T, checks map[string]httpd.Check) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "swell_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	s, err := httpd.New(httpd.Options{Addr: "127.0.0.1:0", Gatherer: reg})
	if err != nil {
		t.Fatal(err)
	}
	for n, f := range checks {
		s.AddCheck(n, f)
	}
	return testenv.Serve(t, s)
}

func TestHealthz(t *testing.T) {
	ok := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("connection refused") }
	slow := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	tests := []struct {
		name       string
		checks     map[string]httpd.Check
		wantStatus int
		wantChecks map[string]string
	}{
		{"all checks pass gives 200", map[string]httpd.Check{"nats": ok, "influxdb": ok}, 200,
			map[string]string{"nats": "ok", "influxdb": "ok"}},
		{"one failing check gives 503 and names it", map[string]httpd.Check{"nats": ok, "influxdb": down}, 503,
			map[string]string{"nats": "ok", "influxdb": "connection refused"}},
		{"a hung check times out instead of hanging the endpoint", map[string]httpd.Check{"ingest": slow}, 503,
			map[string]string{"ingest": "context deadline exceeded"}},
		{"no checks is healthy", nil, 200, map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := startServer(t, tc.checks)
			resp, err := http.Get(base + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			var rep httpd.HealthReport
			if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
				t.Fatal(err)
			}
			if len(rep.Checks) != len(tc.wantChecks) {
				t.Errorf("checks %v, want %v", rep.Checks, tc.wantChecks)
			}
			for k, v := range tc.wantChecks {
				if rep.Checks[k] != v {
					t.Errorf("check %s = %q, want %q", k, rep.Checks[k], v)
				}
			}
		})
	}
}

func TestMetricsServesRegistry(t *testing.T) {
	base := startServer(t, nil)
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "swell_test_total 3") {
		t.Errorf("/metrics lacks the registered counter:\n%s", b)
	}
}

func TestNewRejectsBadAddress(t *testing.T) {
	for _, addr := range []string{"", "7070", "localhost"} {
		if _, err := httpd.New(httpd.Options{Addr: addr}); err == nil {
			t.Errorf("New(%q) succeeded", addr)
		}
	}
}
