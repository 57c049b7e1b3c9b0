//go:build !swellnode

package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/swell-pipeline/swell/internal/testenv"
)

func runDemo(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	// Until root.go registers it (and after, without a second copy).
	if !slices.ContainsFunc(root.Commands(), func(c *cobra.Command) bool { return c.Name() == "demo" }) {
		root.AddCommand(newDemoCmd(&globals{stdout: &out, stderr: &errb}))
	}
	root.SetArgs(append([]string{"demo", "--data-dir", t.TempDir()}, args...))
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

// TestDemoSaysWhatIsMissing: before anything starts, the demo names what
// it lacks and the command that provides it.
func TestDemoSaysWhatIsMissing(t *testing.T) {
	tests := []struct {
		name   string
		docker bool // needs a Docker engine to get that far
		args   []string
		want   []string
	}{
		{"a bad profile", false, []string{"--profile", "step=40s"}, []string{"--profile", "name=duration@concurrency"}},
		{"no Docker engine", false, []string{"--docker-host", "unix:///nonexistent/docker.sock"}, []string{"no Docker engine answers at unix:///nonexistent/docker.sock", "start Docker"}},
		{"no demo image", true, []string{"--image", "swell-demo:not-built"}, []string{"image swell-demo:not-built is not on this Docker engine", "make demo-image"}},
		{"no influxd", true, []string{"--influxd", "/nonexistent/influxd"}, []string{"influxd /nonexistent/influxd", "make deps"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.docker {
				cli := testenv.Docker(t)
				if !strings.Contains(strings.Join(args, " "), "--image") {
					args = append(args, "--image", testenv.TestImage(t, cli))
				}
			}
			out, err := runDemo(t, args...)
			if err == nil {
				t.Fatalf("demo ran:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(out, "starting swell up") {
				t.Errorf("the demo started something before it found what it lacks:\n%s", out)
			}
		})
	}
}
