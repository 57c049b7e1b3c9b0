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
			if len(paths) != 1 || paths[0] != want {
				t.Fatalf("paths %v, want [%s]", paths, want)
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
