//go:build !swellnode

package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/swell-pipeline/swell/dashboards"
)

// influxDSFlags say which InfluxDB Grafana should query.
type influxDSFlags struct {
	url, db, token string
}

func (f *influxDSFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.url, "influx-url", "http://127.0.0.1:8086", "InfluxDB as Grafana reaches it")
	fs.StringVar(&f.db, "influx-db", "swell", "InfluxDB database (on 2.x/3.x: the database mapped to the bucket, DBRP)")
	fs.StringVar(&f.token, "influx-token", "", "InfluxDB token (2.x/3.x), or user:password for 1.x with auth (prefer SWELL_INFLUX_TOKEN)")
}

func (f *influxDSFlags) datasource() dashboards.Datasource {
	return dashboards.NewDatasource(f.url, f.db, f.token)
}

func newDashboardsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dashboards",
		Short: "Export swell's Grafana dashboards as provisioning files, or push them to a Grafana",
		Long: `swell's dashboards — Cluster, Service, Hosts, Containers, Alerts and
Pipeline — query InfluxDB with InfluxQL, so they work with InfluxDB 1.8,
2.x (through a DBRP mapping) and 3.x. Their uids are fixed: exporting or
pushing again replaces them.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newDashboardsExportCmd(g), newDashboardsPushCmd(g))
	return cmd
}

func newDashboardsExportCmd(g *globals) *cobra.Command {
	var (
		dir, grafanaDir, folder string
		ds                      influxDSFlags
	)
	cmd := &cobra.Command{
		Use:   "export --dir DIR",
		Short: "Write Grafana provisioning: the InfluxDB datasource, a dashboard provider and the dashboard JSON",
		Long: `Writes DIR/datasources/swell.yaml, DIR/dashboards/swell.yaml (the provider)
and DIR/dashboards/json/<uid>.json. Point Grafana's provisioning path
(GF_PATHS_PROVISIONING) at DIR, or copy the files into it; when Grafana sees
DIR under another path (a container mount), give that path as --grafana-dir.`,
		Example: `  swell dashboards export --dir ./provisioning --influx-url http://influxdb:8086 --grafana-dir /etc/grafana/provisioning`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return errUsage(cmd, "--dir is required")
			}
			opts := []dashboards.ProvisionOption{dashboards.WithFolder(folder)}
			if grafanaDir != "" {
				opts = append(opts, dashboards.WithGrafanaDir(grafanaDir))
			}
			paths, err := dashboards.WriteProvisioning(dir, ds.datasource(), opts...)
			if err != nil {
				return err
			}
			for _, p := range paths {
				if _, err := fmt.Fprintln(g.stdout, p); err != nil {
					return err
				}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&dir, "dir", "", "directory to write the provisioning files to")
	fs.StringVar(&grafanaDir, "grafana-dir", "", "where Grafana sees --dir (default: --dir itself)")
	fs.StringVar(&folder, "folder", dashboards.DefaultFolder, "Grafana folder for the dashboards")
	ds.register(fs)
	return cmd
}

func newDashboardsPushCmd(g *globals) *cobra.Command {
	var (
		url, token, folder string
		timeout            time.Duration
		ds                 influxDSFlags
	)
	cmd := &cobra.Command{
		Use:   "push --grafana-url URL --grafana-token TOKEN",
		Short: "Create or update the folder, the InfluxDB datasource and every dashboard in a Grafana",
		Long: `Uses Grafana's HTTP API with a service account token (role Admin, since it
manages a datasource). Running it again updates everything in place.`,
		Example: `  SWELL_GRAFANA_TOKEN=glsa_… swell dashboards push --grafana-url http://grafana:3000 --influx-url http://influxdb:8086`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				return errUsage(cmd, "--grafana-url is required")
			}
			res, err := dashboards.Push(cmd.Context(), dashboards.PushOptions{
				URL: url, Token: token, Folder: folder, Datasource: ds.datasource(),
				Timeout: timeout, Logger: g.logger,
			})
			if err != nil {
				return err
			}
			for _, d := range res.Dashboards {
				if _, err := fmt.Fprintf(g.stdout, "%-22s version %-3d %s\n", d.Title, d.Version, d.URL); err != nil {
					return err
				}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&url, "grafana-url", "", "Grafana's base URL, e.g. http://grafana:3000")
	fs.StringVar(&token, "grafana-token", "", "Grafana service account token (prefer SWELL_GRAFANA_TOKEN)")
	fs.StringVar(&folder, "folder", dashboards.DefaultFolder, "Grafana folder for the dashboards")
	fs.DurationVar(&timeout, "timeout", 30*time.Second, "timeout of each request to Grafana")
	ds.register(fs)
	return cmd
}
