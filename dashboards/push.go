package dashboards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	gapi "github.com/grafana/grafana-api-golang-client"
)

// Errors a push can end with; they are wrapped with what was tried.
var (
	// ErrUnreachable: no HTTP answer from Grafana.
	ErrUnreachable = errors.New("grafana unreachable")
	// ErrUnauthorized: Grafana rejected the token (401).
	ErrUnauthorized = errors.New("grafana rejected the token")
	// ErrForbidden: the token's account may not do this (403).
	ErrForbidden = errors.New("grafana denied the request")
)

// PushOptions says where and how to push.
type PushOptions struct {
	// URL of Grafana, e.g. http://grafana:3000.
	URL string
	// Token is a service account token (or API key) with the Admin role,
	// which managing datasources needs.
	Token string
	// Folder holds the dashboards (default "swell").
	Folder string
	// Datasource is the InfluxDB the dashboards query.
	Datasource Datasource
	// Timeout bounds each request (default 30s).
	Timeout time.Duration
	// Logger hears about each step (nil: discard).
	Logger *slog.Logger
}

// Pushed is one dashboard as Grafana stored it.
type Pushed struct {
	UID, Title, URL string
	Version         int64
}

// PushResult says what a push changed.
type PushResult struct {
	FolderUID         string
	FolderCreated     bool
	DatasourceCreated bool
	Dashboards        []Pushed
}

// Push creates or updates, in Grafana, swell's folder, its InfluxDB
// datasource (uid DatasourceUID) and every dashboard, overwriting by uid.
// Pushing again changes nothing but the dashboards' versions.
func Push(ctx context.Context, o PushOptions) (PushResult, error) {
	if o.URL == "" {
		return PushResult{}, errors.New("dashboards: push: no Grafana URL (--grafana-url)")
	}
	if o.Folder == "" {
		o.Folder = DefaultFolder
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc := &http.Client{Timeout: o.Timeout, Transport: ctxTransport{ctx: ctx, next: http.DefaultTransport}}
	c, err := gapi.New(strings.TrimRight(o.URL, "/"), gapi.Config{APIKey: o.Token, Client: hc})
	if err != nil {
		return PushResult{}, fmt.Errorf("dashboards: push: Grafana URL %q: %w", o.URL, err)
	}
	p := pusher{c: c, url: o.URL}
	var res PushResult

	if _, err := c.Health(); err != nil {
		return res, p.fail("check health", err)
	}
	res.FolderUID = folderUID(o.Folder)
	f, err := c.FolderByUID(res.FolderUID)
	switch {
	case isNotFound(err):
		if _, err := c.NewFolder(o.Folder, res.FolderUID); err != nil {
			return res, p.fail("create folder "+strconv.Quote(o.Folder), err)
		}
		res.FolderCreated = true
		log.Info("grafana folder created", "folder", o.Folder, "uid", res.FolderUID)
	case err != nil:
		return res, p.fail("read folder "+res.FolderUID, err)
	case f.Title != o.Folder:
		if err := c.UpdateFolder(res.FolderUID, o.Folder); err != nil {
			return res, p.fail("rename folder "+res.FolderUID, err)
		}
	}

	ds := gapiDatasource(o.Datasource)
	old, err := c.DataSourceByUID(DatasourceUID)
	switch {
	case isNotFound(err):
		byName, nerr := c.DataSourceByName(DatasourceName)
		if nerr == nil {
			return res, fmt.Errorf("dashboards: push to %s: a datasource named %q exists with uid %q, but swell's dashboards use uid %q: rename or delete it in Grafana, then push again",
				o.URL, DatasourceName, byName.UID, DatasourceUID)
		}
		if !isNotFound(nerr) {
			return res, p.fail("read datasource "+DatasourceName, nerr)
		}
		if _, err := c.NewDataSource(ds); err != nil {
			return res, p.fail("create datasource "+DatasourceUID, err)
		}
		res.DatasourceCreated = true
		log.Info("grafana datasource created", "uid", DatasourceUID, "url", o.Datasource.URL)
	case err != nil:
		return res, p.fail("read datasource "+DatasourceUID, err)
	default:
		ds.ID = old.ID
		if err := c.UpdateDataSourceByUID(ds); err != nil {
			return res, p.fail("update datasource "+DatasourceUID, err)
		}
	}

	for _, d := range All() {
		b, err := JSON(d)
		if err != nil {
			return res, err
		}
		var model map[string]any
		if err := json.Unmarshal(b, &model); err != nil {
			return res, fmt.Errorf("dashboards: %s: %w", d.UID, err)
		}
		r, err := c.NewDashboard(gapi.Dashboard{
			Model: model, FolderUID: res.FolderUID, Overwrite: true,
			Message: "swell dashboards push",
		})
		if err != nil {
			return res, p.fail("save dashboard "+d.UID, err)
		}
		res.Dashboards = append(res.Dashboards, Pushed{UID: r.UID, Title: d.Title, URL: strings.TrimRight(o.URL, "/") + "/d/" + r.UID + "/" + r.Slug, Version: r.Version})
		log.Debug("grafana dashboard saved", "uid", r.UID, "version", r.Version)
	}
	return res, nil
}

func gapiDatasource(d Datasource) *gapi.DataSource {
	ds := &gapi.DataSource{
		UID: DatasourceUID, Name: DatasourceName, Type: "influxdb", URL: d.URL, Access: "proxy",
		Database: d.Database, User: d.User, IsDefault: true,
		JSONData: map[string]any{"dbName": d.Database, "httpMode": "POST"},
	}
	secure := map[string]any{}
	if d.Password != "" {
		secure["password"] = d.Password
	}
	if d.Token != "" {
		ds.JSONData["httpHeaderName1"] = "Authorization"
		secure["httpHeaderValue1"] = "Token " + d.Token
	}
	if len(secure) > 0 {
		ds.SecureJSONData = secure
	}
	return ds
}

type pusher struct {
	c   *gapi.Client
	url string
}

// statusRe reads the status out of the client's errors, which it formats
// as "status: 401, body: …".
var statusRe = regexp.MustCompile(`(?s)^status: (\d{3}), body: (.*)$`)

func isNotFound(err error) bool {
	var nf gapi.ErrNotFound
	return errors.As(err, &nf)
}

// fail turns a client error into one that says what to do.
func (p pusher) fail(step string, err error) error {
	m := statusRe.FindStringSubmatch(err.Error())
	if m == nil {
		if isNotFound(err) {
			return fmt.Errorf("dashboards: push to %s: %s: 404 Not Found: is --grafana-url Grafana's base URL?", p.url, step)
		}
		return fmt.Errorf("dashboards: push to %s: %s: %w: %w (is Grafana running, and is --grafana-url right?)", p.url, step, ErrUnreachable, err)
	}
	code, _ := strconv.Atoi(m[1])
	msg := grafanaMessage(strings.TrimSpace(m[2]))
	switch code {
	case http.StatusUnauthorized:
		return fmt.Errorf("dashboards: push to %s: %s: %w (401 %s): give a valid service account token with --grafana-token or SWELL_GRAFANA_TOKEN",
			p.url, step, ErrUnauthorized, msg)
	case http.StatusForbidden:
		return fmt.Errorf("dashboards: push to %s: %s: %w (403 %s): the token's service account needs the Admin role (datasources) or at least Editor (folders, dashboards)",
			p.url, step, ErrForbidden, msg)
	case http.StatusPreconditionFailed:
		return fmt.Errorf("dashboards: push to %s: %s: Grafana refused the save (412 %s): a dashboard with the same title exists in the folder under another uid, or it is provisioned from files; remove it and push again",
			p.url, step, msg)
	}
	return fmt.Errorf("dashboards: push to %s: %s: %d %s", p.url, step, code, msg)
}

// grafanaMessage is the "message" of Grafana's JSON error body, or the
// body itself, shortened.
func grafanaMessage(body string) string {
	var b struct {
		Message string `json:"message"`
		Status  string `json:"status"`
	}
	if json.Unmarshal([]byte(body), &b) == nil && b.Message != "" {
		if b.Status != "" {
			return b.Message + " (" + b.Status + ")"
		}
		return b.Message
	}
	if len(body) > 200 {
		body = body[:200] + "…"
	}
	return body
}

// ctxTransport gives every request of the client, which has no context
// parameters, the push's context.
type ctxTransport struct {
	ctx  context.Context
	next http.RoundTripper
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.next.RoundTrip(r.WithContext(t.ctx))
}
