package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/httpd"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/internal/testenv"
)

// memReader holds state in memory; the JetStream reader is tested through
// swell up (internal/standalone).
type memReader struct {
	nodes  []state.Node
	evs    []events.Event
	failed error
	got    events.Filter
}

func (m *memReader) Nodes(context.Context) ([]state.Node, error) { return m.nodes, m.failed }
func (m *memReader) Instances(context.Context) ([]state.Instance, error) {
	return nil, m.failed
}
func (m *memReader) Events(_ context.Context, f events.Filter) ([]events.Event, error) {
	m.got = f
	return m.evs, m.failed
}

func startAPI(t *testing.T, token string, r StateReader, now time.Time) string {
	t.Helper()
	s, err := httpd.New(httpd.Options{Addr: "127.0.0.1:0", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	RegisterRead(s, r, ReadOptions{Now: func() time.Time { return now }})
	return testenv.Serve(t, s)
}

func TestTokenGuardsTheAPIButNotProbes(t *testing.T) {
	base := startAPI(t, "s3cret", &memReader{}, time.Now())
	tests := []struct {
		name, path, auth string
		want             int
	}{
		{"API without token", "/v1/nodes", "", 401},
		{"API with a wrong token", "/v1/nodes", "Bearer nope", 401},
		{"API with the token", "/v1/nodes", "Bearer s3cret", 200},
		{"healthz stays open", "/healthz", "", 200},
		{"metrics stay open", "/metrics", "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	c, _ := NewClient(base, "wrong")
	if _, err := c.Nodes(t.Context()); err == nil || !strings.Contains(err.Error(), "API token") {
		t.Errorf("client error = %v, want it to say the token is wrong", err)
	}
	if strings.Contains(func() string { _, err := c.Nodes(t.Context()); return err.Error() }(), "s3cret") {
		t.Error("error shows the server's token")
	}
}

func TestNodesAreReadyOrLostByHeartbeat(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	r := &memReader{nodes: []state.Node{
		{Name: "fresh", Heartbeat: now.Add(-2 * time.Second)},
		{Name: "silent", Heartbeat: now.Add(-11 * time.Second)},
	}}
	c, _ := NewClient(startAPI(t, "", r, now), "")
	nodes, err := c.Nodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].Status != NodeReady || nodes[1].Status != NodeLost {
		t.Errorf("nodes = %+v", nodes)
	}
}

func TestEventFiltersAreCheckedAndPassedOn(t *testing.T) {
	r := &memReader{}
	c, _ := NewClient(startAPI(t, "", r, time.Now()), "")
	if _, err := c.Events(t.Context(), events.Filter{Type: events.Deploy, Service: "/shop/web", Limit: 5}); err != nil {
		t.Fatal(err)
	}
	if r.got.Type != events.Deploy || r.got.Service != "/shop/web" || r.got.Limit != 5 {
		t.Errorf("filter passed on as %+v", r.got)
	}
	for _, f := range []events.Filter{{Type: "weather"}, {Service: "/x"}} {
		if _, err := c.Events(t.Context(), f); err == nil || !strings.HasPrefix(err.Error(), "server: ") {
			t.Errorf("filter %+v: err = %v, want the server's explanation", f, err)
		}
	}
	r.failed = errors.New("nats: timeout")
	if _, err := c.Instances(t.Context()); err == nil || !strings.Contains(err.Error(), "cannot read instances: nats: timeout") {
		t.Errorf("err = %v", err)
	}
}

func TestClientSaysWhenTheServerIsDown(t *testing.T) {
	c, err := NewClient("127.0.0.1:1", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Nodes(t.Context()); err == nil || !strings.Contains(err.Error(), "cannot reach the swell server at http://127.0.0.1:1") {
		t.Errorf("err = %v", err)
	}
}
