package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/httpd"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/spec"
)

// Client talks to a swell server's API; the CLI uses it.
type Client struct {
	// Base is the server's URL, e.g. http://127.0.0.1:7070.
	Base  string
	Token string
	HTTP  *http.Client
}

// NewClient returns a client for base (a URL, or host:port).
func NewClient(base, token string) (*Client, error) {
	if base == "" {
		return nil, errors.New("no server (--server or SWELL_SERVER)")
	}
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--server %q: want http(s)://host:port", base)
	}
	return &Client{Base: strings.TrimRight(base, "/"), Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}, nil
}

// get fetches path and decodes the JSON answer into out.
func (c *Client) get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, "", nil, out)
}

// do sends a request and decodes the JSON answer into out (unless nil).
// An error answer becomes an error with the server's message.
func (c *Client) do(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the swell server at %s: %w (is it running? see --server)", c.Base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read answer of %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		var ae ApplyErrorBody
		if json.Unmarshal(data, &ae) == nil && len(ae.Problems) > 0 {
			// The file's own problems, exactly as swell would print them
			// locally: file:line: field: message.
			return &spec.Error{File: ae.File, Problems: ae.Problems}
		}
		var e httpd.ErrorBody
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("server: %s", e.Error)
		}
		return fmt.Errorf("server answered %s for %s %s", resp.Status, method, path)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer of %s: %w", path, err)
	}
	return nil
}

// Nodes lists the registered nodes with their status.
func (c *Client) Nodes(ctx context.Context) ([]NodeView, error) {
	var out []NodeView
	return out, c.get(ctx, "/v1/nodes", &out)
}

// Instances lists every instance's actual status.
func (c *Client) Instances(ctx context.Context) ([]state.Instance, error) {
	var out []state.Instance
	return out, c.get(ctx, "/v1/instances", &out)
}

// Events lists the newest events matching f, oldest first.
func (c *Client) Events(ctx context.Context, f events.Filter) ([]events.Event, error) {
	q := url.Values{}
	if f.Type != "" {
		q.Set("type", string(f.Type))
	}
	if f.Service != "" {
		q.Set("service", f.Service)
	}
	if f.Node != "" {
		q.Set("node", f.Node)
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	path := "/v1/events"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out []events.Event
	return out, c.get(ctx, path, &out)
}

// servicePath is the API path of a service id ("/shop/web"), with each
// segment escaped.
func servicePath(id string) string {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return "/v1/services/" + strings.Join(parts, "/")
}

// Apply sends a YAML or JSON file; name is used in error messages. A file
// with problems comes back as a *spec.Error and nothing of it is stored.
func (c *Client) Apply(ctx context.Context, name string, data []byte) ([]ApplyResult, error) {
	var out []ApplyResult
	return out, c.do(ctx, http.MethodPost, "/v1/apply?file="+url.QueryEscape(name), "application/yaml", data, &out)
}

// Services lists the services with their instance counts.
func (c *Client) Services(ctx context.Context) ([]ServiceView, error) {
	var out []ServiceView
	return out, c.get(ctx, "/v1/services", &out)
}

// Service returns one service.
func (c *Client) Service(ctx context.Context, id string) (ServiceView, error) {
	var out ServiceView
	return out, c.get(ctx, servicePath(id), &out)
}

// DeleteService deletes a service; its instances stop.
func (c *Client) DeleteService(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, servicePath(id), "", nil, nil)
}

// Scale sets a service's instance count.
func (c *Client) Scale(ctx context.Context, id string, instances int) (ScaleResult, error) {
	body, _ := json.Marshal(ScaleRequest{Instances: &instances})
	var out ScaleResult
	return out, c.do(ctx, http.MethodPost, servicePath(id)+"/scale", "application/json", body, &out)
}

// Drain cordons a node: it takes nothing new and its instances move off.
func (c *Client) Drain(ctx context.Context, node string) (CordonResult, error) {
	var out CordonResult
	return out, c.do(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(node)+"/drain", "", nil, &out)
}

// Uncordon lets a node take instances again.
func (c *Client) Uncordon(ctx context.Context, node string) (CordonResult, error) {
	var out CordonResult
	return out, c.do(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(node)+"/uncordon", "", nil, &out)
}

// Explain says why a service's instances are pending.
func (c *Client) Explain(ctx context.Context, id string) (ExplainView, error) {
	var out ExplainView
	return out, c.get(ctx, servicePath(id)+"/explain", &out)
}

// Rollout returns a service's rollout progress.
func (c *Client) Rollout(ctx context.Context, id string) (RolloutView, error) {
	var out RolloutView
	return out, c.get(ctx, servicePath(id)+"/rollout", &out)
}

// Alerts lists the firing alerts.
func (c *Client) Alerts(ctx context.Context) ([]AlertView, error) {
	var out []AlertView
	return out, c.get(ctx, "/v1/alerts", &out)
}

// Silences lists the silences, expired ones included.
func (c *Client) Silences(ctx context.Context) ([]SilenceView, error) {
	var out []SilenceView
	return out, c.get(ctx, "/v1/silences", &out)
}

// Silence creates a silence.
func (c *Client) Silence(ctx context.Context, req SilenceRequest) (SilenceView, error) {
	body, _ := json.Marshal(req)
	var out SilenceView
	return out, c.do(ctx, http.MethodPost, "/v1/silences", "application/json", body, &out)
}

// ExpireSilence ends a silence now.
func (c *Client) ExpireSilence(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/silences/"+url.PathEscape(id), "", nil, nil)
}

// AlertDefs lists the applied rules, routes and receivers.
func (c *Client) AlertDefs(ctx context.Context) (AlertDefsView, error) {
	var out AlertDefsView
	return out, c.get(ctx, "/v1/alerting", &out)
}

// DeleteAlertDef deletes an applied rule, route or receiver.
func (c *Client) DeleteAlertDef(ctx context.Context, kind, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/alerting/"+url.PathEscape(kind)+"/"+url.PathEscape(name), "", nil, nil)
}

// TestReceiver sends a test notification through a receiver.
func (c *Client) TestReceiver(ctx context.Context, name string) (TestResult, error) {
	var out TestResult
	err := c.do(ctx, http.MethodPost, "/v1/receivers/"+url.PathEscape(name)+"/test", "", nil, &out)
	return out, err
}

// StartRollout begins a blue/green (soak) or canary (weight) rollout of a
// service to the spec in data.
func (c *Client) StartRollout(ctx context.Context, id, strategy string, weight int, soak time.Duration, name string, data []byte) (RolloutView, error) {
	q := url.Values{"strategy": {strategy}, "file": {name}}
	if weight > 0 {
		q.Set("weight", strconv.Itoa(weight))
	}
	if soak >= 0 {
		q.Set("soak", soak.String())
	}
	var out RolloutView
	return out, c.do(ctx, http.MethodPost, servicePath(id)+"/rollout?"+q.Encode(), "application/yaml", data, &out)
}

// EndRollout promotes ("promote") or aborts ("abort") a rollout.
func (c *Client) EndRollout(ctx context.Context, id, verb string) (RolloutView, error) {
	var out RolloutView
	return out, c.do(ctx, http.MethodPost, servicePath(id)+"/"+verb, "", nil, &out)
}
