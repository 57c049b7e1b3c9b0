//go:build !swellnode

package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func runLoad(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newLoadCmd(&globals{stdout: &out, stderr: &errb})
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.ExecuteContext(t.Context())
	return out.String(), errb.String(), err
}

func TestLoadPrintsTheResultLineLast(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	stdout, stderr, err := runLoad(t, "--url", srv.URL, "--concurrency", "2", "--duration", "1100ms")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	if !regexp.MustCompile(`^result: requests=[1-9][0-9]* errors=0 rps=[0-9.]+ p50_ms=[0-9.]+ p99_ms=[0-9.]+$`).MatchString(last) {
		t.Errorf("last line %q", last)
	}
	if !strings.Contains(stderr, "requests=") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
}

func TestLoadRefusesWhatItShouldNotDo(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"remote target", []string{"--url", "http://192.0.2.1/", "--rps", "10", "--duration", "1s"}, "--allow-remote"},
		{"no url", []string{"--rps", "10"}, "--url is required"},
		{"both modes", []string{"--url", "http://127.0.0.1:1/", "--rps", "10", "--concurrency", "2"}, "one of --concurrency or --rps"},
		{"neither mode", []string{"--url", "http://127.0.0.1:1/"}, "one of --concurrency or --rps"},
		{"unbounded", []string{"--url", "http://127.0.0.1:1/", "--rps", "10", "--duration", "0s"}, "duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runLoad(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one about %q", err, tc.want)
			}
		})
	}
}
