//go:build !swellnode

package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/swell-pipeline/swell/dashboards"
)

// withDashboards adds the dashboards command until root.go registers it.
func withDashboards(root *cobra.Command, out io.Writer) *cobra.Command {
	if c, _, err := root.Find([]string{"dashboards"}); err != nil || c == root {
		root.AddCommand(newDashboardsCmd(&globals{stdout: out, stderr: io.Discard}))
	}
	return root
}

func runSwell(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := withDashboards(newRootCmd(&out, io.Discard), &out)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

func TestDashboardsExportWritesProvisioning(t *testing.T) {
	dir := t.TempDir()
	out, err := runSwell(t, "dashboards", "export", "--dir", dir, "--influx-url", "http://influxdb:8086",
		"--influx-token", "grafana:pw", "--grafana-dir", "/etc/grafana/provisioning")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "\n"); n != 2+len(dashboards.All()) {
		t.Errorf("printed %d paths, want %d:\n%s", n, 2+len(dashboards.All()), out)
	}
	ds, err := os.ReadFile(filepath.Join(dir, "datasources", "swell.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`url: "http://influxdb:8086"`, `user: "grafana"`, `password: "pw"`} {
		if !strings.Contains(string(ds), want) {
			t.Errorf("datasource lacks %q:\n%s", want, ds)
		}
	}
	prov, err := os.ReadFile(filepath.Join(dir, "dashboards", "swell.yaml"))
	if err != nil || !strings.Contains(string(prov), `path: "/etc/grafana/provisioning/dashboards/json"`) {
		t.Errorf("provider: %v\n%s", err, prov)
	}
}

func TestDashboardsCommandsNeedTheirTarget(t *testing.T) {
	for _, args := range [][]string{{"dashboards", "export"}, {"dashboards", "push"}} {
		if _, err := runSwell(t, args...); err == nil || !strings.Contains(err.Error(), "is required") {
			t.Errorf("%v: err = %v", args, err)
		}
	}
}

func TestDashboardsPushSaysGrafanaIsUnreachable(t *testing.T) {
	_, err := runSwell(t, "dashboards", "push", "--grafana-url", "http://127.0.0.1:1", "--grafana-token", "s3cret")
	if err == nil || !strings.Contains(err.Error(), "is Grafana running") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("err = %v", err)
	}
}

// TestDeployFilesUseFlagsThatExist parses every swell command line and
// every SWELL_* setting in deploy/ with swell's own commands.
func TestDeployFilesUseFlagsThatExist(t *testing.T) {
	deploy := filepath.Join("..", "..", "deploy")
	var lines [][]string

	b, err := os.ReadFile(filepath.Join(deploy, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Image   string   `yaml:"image"`
			Command []string `yaml:"command"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Services {
		if strings.HasPrefix(s.Image, "swell:") || strings.HasPrefix(s.Image, "swell-node:") {
			lines = append(lines, s.Command)
		}
	}
	for _, unit := range []string{"swell-agent.service", "swell-server.service"} {
		b, err := os.ReadFile(filepath.Join(deploy, "systemd", unit))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(l, "ExecStart=/usr/local/bin/swell "); ok {
				lines = append(lines, strings.Fields(rest))
			}
		}
	}
	if len(lines) != 5 {
		t.Fatalf("found %d swell command lines, want 5 (3 in compose, 2 units)", len(lines))
	}
	for _, args := range lines {
		root := withDashboards(newRootCmd(io.Discard, io.Discard), io.Discard)
		cmd, rest, err := root.Find(args)
		if err != nil || cmd == root {
			t.Errorf("%v: no such command (%v)", args, err)
			continue
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Errorf("swell %s: %v", strings.Join(args, " "), err)
		}
	}

	for file, command := range map[string]string{"agent.env": "agent", "server.env": "server"} {
		root := newRootCmd(io.Discard, io.Discard)
		cmd, _, err := root.Find([]string{command})
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(deploy, "systemd", file))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			line := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "#"))
			name, value, ok := strings.Cut(line, "=")
			if !ok || !strings.HasPrefix(name, "SWELL_") || strings.Contains(name, " ") {
				continue
			}
			n++
			flag := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "SWELL_"), "_", "-"))
			fl := cmd.Flags().Lookup(flag)
			if fl == nil {
				fl = cmd.InheritedFlags().Lookup(flag)
			}
			if fl == nil {
				t.Errorf("%s: %s sets --%s, which swell %s does not have", file, name, flag, command)
				continue
			}
			if value != "…" {
				if err := fl.Value.Set(value); err != nil {
					t.Errorf("%s: %s=%s: %v", file, name, value, err)
				}
			}
		}
		_ = f.Close()
		if n < 3 {
			t.Errorf("%s: only %d settings found", file, n)
		}
	}
}
