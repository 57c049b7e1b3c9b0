package dashboards

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteProvisioningWritesTheInfluxDBDatasource(t *testing.T) {
	tests := []struct {
		name     string
		ds       Datasource
		want     []string
		wantNone []string
	}{
		{
			name:     "without auth",
			ds:       Datasource{URL: "http://127.0.0.1:8086", Database: "swell"},
			want:     []string{"apiVersion: 1", "uid: " + DatasourceUID, "type: influxdb", `url: "http://127.0.0.1:8086"`, `dbName: "swell"`},
			wantNone: []string{"secureJsonData", "user:"},
		},
		{
			name:     "a token for InfluxDB 2.x and 3.x goes in an Authorization header",
			ds:       Datasource{URL: "https://influx:8086", Database: "swell", Token: "t0k"},
			want:     []string{"httpHeaderName1: Authorization", "secureJsonData:", `httpHeaderValue1: "Token t0k"`},
			wantNone: []string{"user:", "password:"},
		},
		{
			name: "with auth the password is secure json data",
			ds:   Datasource{URL: "http://influx:8086", Database: "metrics", User: "grafana", Password: "p\"w"},
			want: []string{`user: "grafana"`, "secureJsonData:", `password: "p\"w"`, `dbName: "metrics"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			paths, err := WriteProvisioning(dir, tc.ds)
			if err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(dir, "datasources", "swell.yaml")
			if len(paths) != 2+len(All()) || paths[0] != want {
				t.Fatalf("paths %v, want %s first, then the provider and %d dashboards", paths, want, len(All()))
			}
			b, err := os.ReadFile(want)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.want {
				if !strings.Contains(string(b), s) {
					t.Errorf("missing %q in:\n%s", s, b)
				}
			}
			for _, s := range tc.wantNone {
				if strings.Contains(string(b), s) {
					t.Errorf("unexpected %q in:\n%s", s, b)
				}
			}
			if fi, _ := os.Stat(want); fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600 (it may hold a password)", fi.Mode().Perm())
			}
		})
	}
}

func TestWriteProvisioningReportsAnUnwritableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteProvisioning(filepath.Join(file, "x"), Datasource{}); err == nil || !strings.Contains(err.Error(), "dashboards: create") {
		t.Errorf("err = %v", err)
	}
}

func TestWriteProvisioningWritesProviderAndDashboards(t *testing.T) {
	tests := []struct {
		name     string
		opts     []ProvisionOption
		wantPath func(dir string) string
		folder   string
	}{
		{
			name:     "the provider names the JSON by the directory written",
			wantPath: func(dir string) string { return filepath.Join(dir, "dashboards", "json") },
			folder:   `folder: "swell"`,
		},
		{
			name:     "a Grafana that mounts the directory elsewhere",
			opts:     []ProvisionOption{WithGrafanaDir("/etc/grafana/provisioning"), WithFolder("Ops Team")},
			wantPath: func(string) string { return "/etc/grafana/provisioning/dashboards/json" },
			folder:   `folderUid: "swell-ops-team"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := WriteProvisioning(dir, Datasource{URL: "http://influx:8086", Database: "swell"}, tc.opts...); err != nil {
				t.Fatal(err)
			}
			p, err := os.ReadFile(filepath.Join(dir, "dashboards", "swell.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"apiVersion: 1", "type: file", `path: "` + tc.wantPath(dir) + `"`, tc.folder} {
				if !strings.Contains(string(p), s) {
					t.Errorf("provider lacks %q:\n%s", s, p)
				}
			}
			for _, d := range All() {
				b, err := os.ReadFile(filepath.Join(dir, "dashboards", "json", d.UID+".json"))
				if err != nil {
					t.Fatal(err)
				}
				want, _ := JSON(d)
				if string(b) != string(want) {
					t.Errorf("%s.json is not the dashboard's JSON", d.UID)
				}
			}
		})
	}
}
