package dashboards

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeGrafana follows Grafana's documented HTTP API for what a push uses:
// bearer tokens (401 without a valid one, 403 for a Viewer's writes),
// folders by uid, datasources by uid and name (409 on a duplicate name),
// and POST /api/dashboards/db with uid, version and overwrite semantics
// (412 version-mismatch unless overwrite).
type fakeGrafana struct {
	t *testing.T
	// tokens maps a token to its role: Admin or Viewer.
	tokens map[string]string

	mu          sync.Mutex
	folders     map[string]string // uid → title
	datasources map[string]map[string]any
	nextID      int64
	dashboards  map[string]storedDashboard
	requests    []string
}

type storedDashboard struct {
	folderUID string
	version   int64
	model     map[string]any
}

func newFakeGrafana(t *testing.T) (*fakeGrafana, *httptest.Server) {
	f := &fakeGrafana{
		t: t, tokens: map[string]string{"admin-token": "Admin", "viewer-token": "Viewer"},
		folders: map[string]string{}, datasources: map[string]map[string]any{}, dashboards: map[string]storedDashboard{},
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeGrafana) reply(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

func (f *fakeGrafana) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	if r.URL.Path == "/api/health" { // no auth, like Grafana
		f.reply(w, 200, map[string]string{"database": "ok", "version": "11.2.0"})
		return
	}
	role := f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if role == "" {
		f.reply(w, 401, map[string]string{"message": "Invalid API key"})
		return
	}
	if role != "Admin" && r.Method != http.MethodGet {
		f.reply(w, 403, map[string]string{"message": "You'll need additional permissions to perform this action."})
		return
	}
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			f.reply(w, 400, map[string]string{"message": "bad request data"})
			return
		}
	}
	p := r.URL.Path
	switch {
	case r.Method == "GET" && strings.HasPrefix(p, "/api/folders/"):
		uid := strings.TrimPrefix(p, "/api/folders/")
		if title, ok := f.folders[uid]; ok {
			f.reply(w, 200, map[string]any{"id": 1, "uid": uid, "title": title, "url": "/dashboards/f/" + uid})
			return
		}
		f.reply(w, 404, map[string]string{"message": "folder not found", "status": "not-found"})
	case r.Method == "POST" && p == "/api/folders":
		uid, _ := body["uid"].(string)
		title, _ := body["title"].(string)
		if _, ok := f.folders[uid]; ok {
			f.reply(w, 409, map[string]string{"message": "a folder with the same uid already exists"})
			return
		}
		f.folders[uid] = title
		f.reply(w, 200, map[string]any{"id": 1, "uid": uid, "title": title})
	case r.Method == "PUT" && strings.HasPrefix(p, "/api/folders/"):
		f.folders[strings.TrimPrefix(p, "/api/folders/")], _ = body["title"].(string)
		f.reply(w, 200, map[string]any{"uid": strings.TrimPrefix(p, "/api/folders/")})
	case r.Method == "GET" && strings.HasPrefix(p, "/api/datasources/uid/"):
		if ds, ok := f.datasources[strings.TrimPrefix(p, "/api/datasources/uid/")]; ok {
			f.reply(w, 200, ds)
			return
		}
		f.reply(w, 404, map[string]string{"message": "Data source not found"})
	case r.Method == "GET" && strings.HasPrefix(p, "/api/datasources/name/"):
		for _, ds := range f.datasources {
			if ds["name"] == strings.TrimPrefix(p, "/api/datasources/name/") {
				f.reply(w, 200, ds)
				return
			}
		}
		f.reply(w, 404, map[string]string{"message": "Data source not found"})
	case r.Method == "POST" && p == "/api/datasources":
		for _, ds := range f.datasources {
			if ds["name"] == body["name"] {
				f.reply(w, 409, map[string]string{"message": "data source with the same name already exists"})
				return
			}
		}
		f.nextID++
		body["id"] = f.nextID
		f.datasources[body["uid"].(string)] = body
		f.reply(w, 200, map[string]any{"id": f.nextID, "message": "Datasource added", "name": body["name"]})
	case r.Method == "PUT" && strings.HasPrefix(p, "/api/datasources/uid/"):
		uid := strings.TrimPrefix(p, "/api/datasources/uid/")
		if _, ok := f.datasources[uid]; !ok {
			f.reply(w, 404, map[string]string{"message": "Data source not found"})
			return
		}
		f.datasources[uid] = body
		f.reply(w, 200, map[string]any{"message": "Datasource updated"})
	case r.Method == "POST" && p == "/api/dashboards/db":
		f.saveDashboard(w, body)
	default:
		f.t.Errorf("fake grafana: unexpected %s %s", r.Method, p)
		f.reply(w, 404, map[string]string{"message": "Not found"})
	}
}

func (f *fakeGrafana) saveDashboard(w http.ResponseWriter, body map[string]any) {
	model, _ := body["dashboard"].(map[string]any)
	uid, _ := model["uid"].(string)
	folder, _ := body["folderUid"].(string)
	overwrite, _ := body["overwrite"].(bool)
	if _, ok := f.folders[folder]; folder != "" && !ok {
		f.reply(w, 400, map[string]string{"message": "folder not found"})
		return
	}
	old, exists := f.dashboards[uid]
	if exists && !overwrite {
		v, _ := model["version"].(float64)
		if int64(v) != old.version {
			f.reply(w, 412, map[string]string{"status": "version-mismatch", "message": "The dashboard has been changed by someone else"})
			return
		}
	}
	next := int64(1)
	if exists {
		next = old.version + 1
	}
	f.dashboards[uid] = storedDashboard{folderUID: folder, version: next, model: model}
	f.reply(w, 200, map[string]any{"id": 1, "uid": uid, "url": "/d/" + uid + "/x", "status": "success", "version": next, "slug": "x"})
}

func TestPushCreatesThenUpdatesIdempotently(t *testing.T) {
	g, srv := newFakeGrafana(t)
	o := PushOptions{URL: srv.URL, Token: "admin-token", Datasource: Datasource{URL: "http://influxdb:8086", Database: "swell", Token: "secret-influx"}}

	first, err := Push(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !first.FolderCreated || !first.DatasourceCreated || len(first.Dashboards) != len(All()) {
		t.Fatalf("first push: %+v", first)
	}
	// Someone edits a dashboard in Grafana: the next push overwrites it.
	g.mu.Lock()
	d := g.dashboards[UIDService]
	d.version = 7
	g.dashboards[UIDService] = d
	g.mu.Unlock()

	o.Datasource.URL = "http://influx-2:8086"
	second, err := Push(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if second.FolderCreated || second.DatasourceCreated {
		t.Errorf("second push created again: %+v", second)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.folders) != 1 || g.folders["swell"] != "swell" {
		t.Errorf("folders %v", g.folders)
	}
	if len(g.datasources) != 1 || g.datasources[DatasourceUID]["url"] != "http://influx-2:8086" {
		t.Errorf("datasources %v: want one, updated", g.datasources)
	}
	sec, _ := g.datasources[DatasourceUID]["secureJsonData"].(map[string]any)
	if sec["httpHeaderValue1"] != "Token secret-influx" {
		t.Errorf("secureJsonData %v", sec)
	}
	if len(g.dashboards) != len(All()) {
		t.Errorf("%d dashboards stored, want %d", len(g.dashboards), len(All()))
	}
	for _, want := range All() {
		got := g.dashboards[want.UID]
		if got.folderUID != "swell" || got.model["title"] != want.Title {
			t.Errorf("%s: folder %q title %v", want.UID, got.folderUID, got.model["title"])
		}
		if _, ok := got.model["id"]; ok {
			t.Errorf("%s: the model carries an id; Grafana must match it by uid", want.UID)
		}
	}
	if g.dashboards[UIDService].version != 8 || g.dashboards[UIDCluster].version != 2 {
		t.Errorf("versions: service %d (want 8), cluster %d (want 2)", g.dashboards[UIDService].version, g.dashboards[UIDCluster].version)
	}
}

func TestPushFailsClearly(t *testing.T) {
	_, srv := newFakeGrafana(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	tests := []struct {
		name  string
		url   string
		token string
		is    error
		want  string
	}{
		{"a bad token is a 401", srv.URL, "wrong-token", ErrUnauthorized, "--grafana-token"},
		{"no token is a 401", srv.URL, "", ErrUnauthorized, "401 Invalid API key"},
		{"a viewer token is a 403", srv.URL, "viewer-token", ErrForbidden, "Admin role"},
		{"an unreachable Grafana", closedURL, "admin-token", ErrUnreachable, "is Grafana running"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Push(t.Context(), PushOptions{URL: tc.url, Token: tc.token})
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tc.is, tc.want)
			}
			if tc.token != "" && strings.Contains(err.Error(), tc.token) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

func TestPushRefusesAForeignDatasourceNamedSwell(t *testing.T) {
	g, srv := newFakeGrafana(t)
	g.datasources["abc"] = map[string]any{"id": 9, "uid": "abc", "name": DatasourceName, "type": "influxdb"}
	_, err := Push(t.Context(), PushOptions{URL: srv.URL, Token: "admin-token"})
	if err == nil || !strings.Contains(err.Error(), `uid "abc"`) || !strings.Contains(err.Error(), "rename or delete") {
		t.Fatalf("err = %v", err)
	}
}

func TestFakeGrafanaRejectsAStaleVersionWithoutOverwrite(t *testing.T) {
	g, srv := newFakeGrafana(t)
	g.dashboards["x"] = storedDashboard{version: 3}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/api/dashboards/db",
		strings.NewReader(`{"dashboard":{"uid":"x","version":2},"overwrite":false}`))
	req.Header.Set("Authorization", "Bearer admin-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("status %d, want 412", resp.StatusCode)
	}
	// Through the pusher's error path, a 412 names the cause.
	err = pusher{url: srv.URL}.fail("save dashboard x", errors.New(`status: 412, body: {"status":"version-mismatch","message":"The dashboard has been changed by someone else"}`))
	if !strings.Contains(err.Error(), "412 The dashboard has been changed by someone else (version-mismatch)") {
		t.Errorf("err = %v", err)
	}
}
