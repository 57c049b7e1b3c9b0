//go:build !swellnode

package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// controlPlane are packages the node build must not link: each adds code
// that every agent would otherwise map and, through its init, touch.
var controlPlane = []string{
	"github.com/nats-io/nats-server/v2/server",
	"github.com/influxdata/influxdb-client-go/v2",
	"github.com/grafana/grafana-api-golang-client",
	"github.com/swell-pipeline/swell/api",
	"github.com/swell-pipeline/swell/ingest",
	"github.com/swell-pipeline/swell/internal/server",
	"github.com/swell-pipeline/swell/internal/standalone",
	"github.com/swell-pipeline/swell/scheduler/controller",
	"github.com/swell-pipeline/swell/autoscaler",
	"github.com/swell-pipeline/swell/alerts/runner",
	"github.com/swell-pipeline/swell/dashboards",
	"github.com/swell-pipeline/swell/internal/demo",
}

func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	return p
}

func TestNodeBuildLinksNoControlPlane(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), goTool(t), "list", "-tags", "swellnode", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -tags swellnode -deps: %v", err)
	}
	deps := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		deps[p] = true
	}
	for _, p := range controlPlane {
		if deps[p] {
			t.Errorf("the node build links %s", p)
		}
	}
	// The same list must be in the full build, or the check above proves
	// nothing about a renamed package.
	full, err := exec.CommandContext(t.Context(), goTool(t), "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range controlPlane {
		if !strings.Contains(string(full), p+"\n") {
			t.Errorf("the full build does not link %s: update controlPlane", p)
		}
	}
	for _, p := range []string{"github.com/swell-pipeline/swell/internal/agent", "github.com/swell-pipeline/swell/router"} {
		if !deps[p] {
			t.Errorf("the node build does not link %s", p)
		}
	}
}

func TestNodeBuildRunsTheAgentCommandsOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "swell-node")
	build := exec.CommandContext(t.Context(), goTool(t), "build", "-tags", "swellnode", "-o", bin, ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags swellnode: %v\n%s", err, out)
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		cmd := exec.CommandContext(t.Context(), bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("%v: %v", args, err)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errb.String()
	}

	if code, out, _ := run("version"); code != 0 || !strings.HasSuffix(strings.TrimSpace(out), "(node build)") {
		t.Errorf("version: exit %d, %q", code, out)
	}
	_, help, _ := run("--help")
	for _, c := range []string{"agent", "collect", "version"} {
		if !strings.Contains(help, "\n  "+c+" ") {
			t.Errorf("--help does not list %s:\n%s", c, help)
		}
	}
	for _, c := range fullOnlyNames() {
		if strings.Contains(help, "\n  "+c+" ") {
			t.Errorf("--help lists %s, which the node build does not have", c)
		}
		code, _, stderr := run(c, "--data-dir", "x")
		if code == 0 || !strings.Contains(stderr, "'swell "+c+"' is not in the node build") {
			t.Errorf("%s: exit %d, stderr %q", c, code, stderr)
		}
	}
	if code, _, stderr := run("agent", "--help"); code != 0 || stderr != "" {
		t.Errorf("agent --help: exit %d, %s", code, stderr)
	}
	code, out, stderr := run("collect", "--once", "--inputs", "mem,system")
	measurements := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		measurements[strings.SplitN(line, ",", 2)[0]] = true
	}
	if code != 0 || !measurements["mem"] || !measurements["system"] {
		t.Errorf("collect --once: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
}

// fullOnlyNames are the commands of the full build beyond the node build's.
func fullOnlyNames() []string {
	var names []string
	g := &globals{}
	for _, c := range buildCommands(g) {
		names = append(names, c.Name())
	}
	return names
}
