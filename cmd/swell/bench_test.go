//go:build !swellnode

package main

import (
	"regexp"
	"strings"
	"testing"
)

func TestBenchSchedulerPrintsATableAndAResultLine(t *testing.T) {
	code, out, stderr := runCLI(t, "bench", "scheduler", "--nodes", "50,100", "--placements", "200")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "placements/s") {
		t.Fatalf("want a header, two rows and a result line, got:\n%s", out)
	}
	if !regexp.MustCompile(`^result: placements_per_sec=[1-9][0-9]* p99_decision_us=[0-9]+$`).MatchString(lines[3]) {
		t.Errorf("last line %q", lines[3])
	}
}

func TestBenchSchedulerRefusesNonsense(t *testing.T) {
	for _, args := range [][]string{{"--placements", "0"}, {"--nodes", "0"}} {
		code, _, stderr := runCLI(t, append([]string{"bench", "scheduler"}, args...)...)
		if code == 0 || !strings.Contains(stderr, "at least 1") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}
