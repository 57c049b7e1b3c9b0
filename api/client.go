package api

import (
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
	"github.com/swell-pipeline/swell/internal/state"
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+path, nil)
	if err != nil {
		return err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the swell server at %s: %w (is it running? see --server)", c.Base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read answer of %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e ErrorBody
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("server: %s", e.Error)
		}
		return fmt.Errorf("server answered %s for %s", resp.Status, path)
	}
	if err := json.Unmarshal(body, out); err != nil {
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
