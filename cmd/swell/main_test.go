//go:build !swellnode

package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/swell-pipeline/swell/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestBadConfigurationIsOneClearLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown flag", []string{"agent", "--bogus"}, nil, "unknown flag: --bogus (see 'swell agent --help')"},
		{"bad duration", []string{"agent", "--interval", "soon"}, nil, `invalid argument "soon" for "--interval"`},
		{"bad size", []string{"up", "--spool-max-bytes", "lots"}, nil, `"lots" is not a size`},
		{"bad log level", []string{"--log-level", "loud", "version"}, nil, `--log-level "loud"`},
		{"bad labels", []string{"agent", "--labels", "rack"}, nil, "--labels"},
		{"bad env value names the variable", []string{"agent"}, map[string]string{"SWELL_INTERVAL": "x"}, "environment variable SWELL_INTERVAL"},
		{"unknown input", []string{"collect", "--once", "--inputs", "cpu,gpu"}, nil, `unknown input "gpu"`},
		{"collect without --once", []string{"collect"}, nil, "collect needs --once"},
		{"data dir that cannot be created", []string{"up", "--data-dir", "/proc/swell-cannot-exist/data"}, nil, "data dir /proc/swell-cannot-exist/data: cannot create it"},
		{"bad ingest workers", []string{"server", "--ingest-workers", "0"}, nil, "--ingest-workers 0"},
		{"API open to others without a token", []string{"server", "--http", "0.0.0.0:7070"}, nil, "set --api-token"},
		{"get from a server that is down", []string{"get", "nodes", "--server", "127.0.0.1:1"}, nil, "cannot reach the swell server at http://127.0.0.1:1"},
		{"get with a bad output format", []string{"get", "nodes", "-o", "xml"}, nil, `-o "xml": want table, json or yaml`},
		{"get something unknown", []string{"get", "pods"}, nil, `cannot get "pods"`},
		{"unreachable NATS at server start", []string{"server", "--nats-url", "nats://127.0.0.1:1", "--http", "127.0.0.1:0"}, nil, "nats: connect to nats://127.0.0.1:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, _, stderr := runCLI(t, tc.args...)
			if code == 0 {
				t.Fatalf("exit 0, want non-zero; stderr:\n%s", stderr)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "swell: error: ") || !strings.Contains(last, tc.want) {
				t.Errorf("last stderr line %q, want it to start with 'swell: error: ' and contain %q", last, tc.want)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
				t.Errorf("stack trace in output:\n%s", stderr)
			}
		})
	}
}

func TestServerWithUnreachableInfluxDBExitsWithOneLine(t *testing.T) {
	ns := testenv.NATS(t)
	code, _, stderr := runCLI(t, "server", "--nats-url", ns.ClientURL(), "--influx-url", "http://127.0.0.1:1", "--http", "127.0.0.1:0")
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if code == 0 || !strings.Contains(last, "swell: error: ") || !strings.Contains(last, "InfluxDB at http://127.0.0.1:1 does not answer") {
		t.Errorf("code %d, last line %q", code, last)
	}
}

func TestEnvironmentSetsFlagsAndCommandLineWins(t *testing.T) {
	t.Setenv("SWELL_LOG_FORMAT", "yaml")
	code, _, stderr := runCLI(t, "version")
	if code == 0 || !strings.Contains(stderr, `--log-format "yaml"`) {
		t.Errorf("SWELL_LOG_FORMAT was not applied: code %d, stderr %q", code, stderr)
	}
	code, out, stderr := runCLI(t, "--log-format", "json", "version")
	if code != 0 || !strings.HasPrefix(out, "swell ") {
		t.Errorf("command-line flag did not win over the environment: code %d, out %q, stderr %q", code, out, stderr)
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"1048576", 1 << 20}, {"256MiB", 256 << 20}, {"1GiB", 1 << 30}, {"2GB", 2e9},
		{"512K", 512 << 10}, {"1.5MiB", 3 << 19}, {"10 MiB", 10 << 20},
	}
	for _, tc := range tests {
		var b byteSize
		if err := b.Set(tc.in); err != nil || int64(b) != tc.want {
			t.Errorf("Set(%q) = %d, %v; want %d", tc.in, b, err, tc.want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "ten"} {
		var b byteSize
		if err := b.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
}

// TestCLIReference keeps docs/cli.md equal to the commands' --help output.
func TestCLIReference(t *testing.T) {
	var doc strings.Builder
	doc.WriteString("# Command reference\n\n")
	doc.WriteString("Generated from `swell --help` by `go test ./cmd/swell -run TestCLIReference -update`; do not edit by hand.\n")
	doc.WriteString("Every flag can also be set with an environment variable: `SWELL_` and the flag name in upper case, `-` as `_`.\n")
	root := newRootCmd(&bytes.Buffer{}, &bytes.Buffer{})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		var b bytes.Buffer
		c.SetOut(&b)
		// Defaults that depend on the machine are shown as placeholders.
		if f := c.Flags().Lookup("node"); f != nil {
			f.DefValue = "<hostname>"
		}
		if err := c.Help(); err != nil {
			t.Fatal(err)
		}
		doc.WriteString("\n## " + c.CommandPath() + "\n\n```\n" + b.String() + "```\n")
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	path := filepath.Join("..", "..", "docs", "cli.md")
	if *update {
		if err := os.WriteFile(path, []byte(doc.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/swell -run TestCLIReference -update)", err)
	}
	if string(got) != doc.String() {
		t.Errorf("docs/cli.md is out of date with --help; run: go test ./cmd/swell -run TestCLIReference -update")
	}
}

func TestCollectOnceExitCodes(t *testing.T) {
	// A Docker endpoint that does not exist makes the docker input fail.
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	code, out, stderr := runCLI(t, "collect", "--once")
	if code != 0 {
		t.Errorf("default inputs with one unavailable: exit %d, want 0; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(out, "\nmem,") && !strings.HasPrefix(out, "mem,") {
		t.Errorf("no mem line printed:\n%s", out)
	}
	if !strings.Contains(stderr, "docker") {
		t.Errorf("the failing input is not named on stderr:\n%s", stderr)
	}
	code, _, stderr = runCLI(t, "collect", "--once", "--inputs", "mem,docker")
	if code == 0 {
		t.Errorf("an input named with --inputs failed, yet exit 0; stderr:\n%s", stderr)
	}
	code, out, _ = runCLI(t, "collect", "--once", "--inputs", "mem", "--node", "n1", "--tags", "dc=x")
	if code != 0 || !strings.HasPrefix(out, "mem,dc=x,host=n1,node=n1 ") {
		t.Errorf("exit %d, output %q", code, out)
	}
}
