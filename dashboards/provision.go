package dashboards

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// DatasourceUID is the stable uid of swell's InfluxDB datasource; dashboards
// refer to it by this uid.
const DatasourceUID = "swell-influxdb"

// Datasource describes the InfluxDB that Grafana should query.
type Datasource struct {
	URL      string
	Database string
	// User and Password are written only when set (InfluxDB 1.8 with auth).
	User     string
	Password string
}

// WriteProvisioning writes Grafana provisioning files under dir
// (datasources/swell.yaml) and returns the paths written.
func WriteProvisioning(dir string, ds Datasource) ([]string, error) {
	dsDir := filepath.Join(dir, "datasources")
	if err := os.MkdirAll(dsDir, 0o755); err != nil {
		return nil, fmt.Errorf("dashboards: create %s: %w", dsDir, err)
	}
	body := "# Written by swell; Grafana reads it from its provisioning path.\n" +
		"apiVersion: 1\n" +
		"datasources:\n" +
		"  - name: swell\n" +
		"    uid: " + DatasourceUID + "\n" +
		"    type: influxdb\n" +
		"    access: proxy\n" +
		"    url: " + strconv.Quote(ds.URL) + "\n" +
		"    isDefault: true\n" +
		"    jsonData:\n" +
		"      dbName: " + strconv.Quote(ds.Database) + "\n" +
		"      httpMode: POST\n"
	if ds.User != "" {
		body += "    user: " + strconv.Quote(ds.User) + "\n" +
			"    secureJsonData:\n" +
			"      password: " + strconv.Quote(ds.Password) + "\n"
	}
	p := filepath.Join(dsDir, "swell.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		return nil, fmt.Errorf("dashboards: write %s: %w", p, err)
	}
	return []string{p}, nil
}
