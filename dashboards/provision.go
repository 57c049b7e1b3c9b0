package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DatasourceUID is the stable uid of swell's InfluxDB datasource; dashboards
// refer to it by this uid.
const DatasourceUID = "swell-influxdb"

// DatasourceName is the datasource's name in Grafana.
const DatasourceName = "swell"

// DefaultFolder is the Grafana folder of swell's dashboards.
const DefaultFolder = "swell"

// Datasource describes the InfluxDB that Grafana should query.
type Datasource struct {
	URL      string
	Database string
	// User and Password are written only when set (InfluxDB 1.8 with auth).
	User     string
	Password string
	// Token, when set, is sent as "Authorization: Token …": InfluxDB 2.x
	// and 3.x answer InfluxQL with a token, for the database mapped to a
	// bucket (DBRP).
	Token string
}

// NewDatasource is the datasource of an InfluxDB at url, database db,
// with token as swell takes it everywhere: a 2.x/3.x token, or
// user:password for 1.x with auth (tokens never hold a colon).
func NewDatasource(url, db, token string) Datasource {
	ds := Datasource{URL: url, Database: db}
	if user, pass, ok := strings.Cut(token, ":"); ok {
		ds.User, ds.Password = user, pass
	} else {
		ds.Token = token
	}
	return ds
}

// provisionConfig is what the ProvisionOptions set.
type provisionConfig struct {
	grafanaDir string
	folder     string
}

// ProvisionOption adjusts WriteProvisioning.
type ProvisionOption func(*provisionConfig)

// WithGrafanaDir says where Grafana will find dir, when that differs from
// dir itself (a container that mounts it at /etc/grafana/provisioning):
// the dashboard provider names the JSON files by that path.
func WithGrafanaDir(path string) ProvisionOption {
	return func(c *provisionConfig) { c.grafanaDir = path }
}

// WithFolder puts the dashboards in the named Grafana folder (default
// "swell").
func WithFolder(name string) ProvisionOption {
	return func(c *provisionConfig) { c.folder = name }
}

// WriteProvisioning writes Grafana provisioning files under dir: the
// datasource (datasources/swell.yaml), the dashboard provider
// (dashboards/swell.yaml) and every dashboard as JSON
// (dashboards/json/<uid>.json). It returns the paths written. Grafana reads
// the directory as its provisioning path (GF_PATHS_PROVISIONING).
func WriteProvisioning(dir string, ds Datasource, opts ...ProvisionOption) ([]string, error) {
	cfg := provisionConfig{folder: DefaultFolder}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.grafanaDir == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("dashboards: %s: %w", dir, err)
		}
		cfg.grafanaDir = abs
	}
	jsonDir := filepath.Join(dir, "dashboards", "json")
	for _, d := range []string{filepath.Join(dir, "datasources"), jsonDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("dashboards: create %s: %w", d, err)
		}
	}
	var paths []string
	write := func(p string, body []byte, mode os.FileMode) error {
		if err := os.WriteFile(p, body, mode); err != nil {
			return fmt.Errorf("dashboards: write %s: %w", p, err)
		}
		paths = append(paths, p)
		return nil
	}
	// The datasource may hold a password or token: readable by its owner only.
	if err := write(filepath.Join(dir, "datasources", "swell.yaml"), DatasourceYAML(ds), 0o600); err != nil {
		return nil, err
	}
	provider := "# Written by swell; Grafana reads it from its provisioning path.\n" +
		"apiVersion: 1\n" +
		"providers:\n" +
		"  - name: swell\n" +
		"    orgId: 1\n" +
		"    folder: " + strconv.Quote(cfg.folder) + "\n" +
		"    folderUid: " + strconv.Quote(folderUID(cfg.folder)) + "\n" +
		"    type: file\n" +
		"    disableDeletion: false\n" +
		"    allowUiUpdates: false\n" +
		"    updateIntervalSeconds: 30\n" +
		"    options:\n" +
		"      path: " + strconv.Quote(filepath.ToSlash(filepath.Join(cfg.grafanaDir, "dashboards", "json"))) + "\n"
	if err := write(filepath.Join(dir, "dashboards", "swell.yaml"), []byte(provider), 0o644); err != nil {
		return nil, err
	}
	for _, d := range All() {
		b, err := JSON(d)
		if err != nil {
			return nil, err
		}
		if err := write(filepath.Join(jsonDir, d.UID+".json"), b, 0o644); err != nil {
			return nil, err
		}
	}
	return paths, nil
}

// DatasourceYAML is the provisioning file of swell's InfluxDB datasource.
func DatasourceYAML(ds Datasource) []byte {
	body := "# Written by swell; Grafana reads it from its provisioning path.\n" +
		"apiVersion: 1\n" +
		"datasources:\n" +
		"  - name: " + DatasourceName + "\n" +
		"    uid: " + DatasourceUID + "\n" +
		"    type: influxdb\n" +
		"    access: proxy\n" +
		"    url: " + strconv.Quote(ds.URL) + "\n" +
		"    isDefault: true\n" +
		"    jsonData:\n" +
		"      dbName: " + strconv.Quote(ds.Database) + "\n" +
		"      httpMode: POST\n"
	if ds.Token != "" {
		body += "      httpHeaderName1: Authorization\n"
	}
	if ds.User != "" {
		body += "    user: " + strconv.Quote(ds.User) + "\n"
	}
	if ds.Password != "" || ds.Token != "" {
		body += "    secureJsonData:\n"
		if ds.Password != "" {
			body += "      password: " + strconv.Quote(ds.Password) + "\n"
		}
		if ds.Token != "" {
			body += "      httpHeaderValue1: " + strconv.Quote("Token "+ds.Token) + "\n"
		}
	}
	return []byte(body)
}

// JSON is the dashboard as Grafana imports it, indented, with a final
// newline.
func JSON(d Dashboard) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("dashboards: encode %s: %w", d.UID, err)
	}
	return buf.Bytes(), nil
}

// folderUID is the stable uid of the folder named name.
func folderUID(name string) string {
	if name == DefaultFolder {
		return "swell"
	}
	return "swell-" + slug(name)
}

func slug(s string) string {
	out := make([]byte, 0, len(s))
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			out = append(out, c)
		case c >= 'A' && c <= 'Z':
			out = append(out, c+'a'-'A')
		default:
			if len(out) > 0 && out[len(out)-1] != '-' {
				out = append(out, '-')
			}
		}
	}
	if len(out) > 30 {
		out = out[:30]
	}
	return string(out)
}
