//go:build !swellnode

package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/autoscaler"
)

// runSimulate runs the simulate command on its own, as root.go will once
// it is registered.
func runSimulate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newSimulateCmd(&globals{stdout: &out, stderr: &errb})
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

const simService = "../../autoscaler/testdata/service.yaml"

func simTrace(name string) string { return "../../autoscaler/testdata/traces/" + name }

func TestSimulateJSON(t *testing.T) {
	out, err := runSimulate(t, "--service", simService, "--trace", simTrace("bursts.csv"), "-o", "json", "--start-delay", "5s")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Service              string  `json:"service"`
		Trace                string  `json:"trace"`
		StartDelay           string  `json:"start_delay"`
		Seconds              int     `json:"seconds"`
		ReplicaSeconds       float64 `json:"replica_seconds"`
		OracleReplicaSeconds float64 `json:"oracle_replica_seconds"`
		SLOViolationSeconds  int     `json:"slo_violation_seconds"`
		Flaps                int     `json:"flaps"`
		Baselines            map[string]struct {
			ReplicaSeconds      float64 `json:"replica_seconds"`
			SLOViolationSeconds int     `json:"slo_violation_seconds"`
			Flaps               *int    `json:"flaps"`
		} `json:"baselines"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// The same figures as the package computes.
	f, err := os.Open(simTrace("bursts.csv"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := autoscaler.ReadTrace(f, "bursts.csv")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := simulateService(simService, "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := autoscaler.PolicyFromSpec(svc.Autoscale, svc.Priority)
	if err != nil {
		t.Fatal(err)
	}
	o := autoscaler.SimOptions{Policy: p, StartDelay: 5 * time.Second}
	want, err := autoscaler.Simulate(tr, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Service != "/demo/web" || rep.Trace != "bursts.csv" || rep.StartDelay != "5s" || rep.Seconds != 1200 ||
		rep.ReplicaSeconds != want.ReplicaSeconds || rep.OracleReplicaSeconds != want.OracleReplicaSeconds ||
		rep.SLOViolationSeconds != want.SLOViolationSeconds || rep.Flaps != want.Flaps {
		t.Fatalf("report %+v, want %+v", rep, want)
	}
	for _, name := range []string{"kpa", "hpa"} {
		b, ok := rep.Baselines[name]
		if !ok || b.ReplicaSeconds <= 0 || b.Flaps == nil {
			t.Fatalf("baseline %s: %+v", name, b)
		}
	}
	if rep.Baselines["kpa"].SLOViolationSeconds <= rep.SLOViolationSeconds {
		t.Errorf("KPA %d s under capacity, swell %d: the emulation should be slower", rep.Baselines["kpa"].SLOViolationSeconds, rep.SLOViolationSeconds)
	}
}

func TestSimulateTableAndPlot(t *testing.T) {
	plotPath := filepath.Join(t.TempDir(), "step.png")
	out, err := runSimulate(t, "--service", simService, "--trace", simTrace("step.csv"), "--plot", plotPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/demo/web on step.csv: 900 s, start delay 2s, tick 1s", "ALGORITHM", "\nswell ", "\nkpa ", "\nhpa ", "\noracle "} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	f, err := os.Open(plotPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("--plot did not write a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 800 {
		t.Errorf("PNG %v, want 1200×800", b)
	}
}

func TestSimulateErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fixed := write("fixed.yaml", "kind: Service\nid: /a\nimage: a:1\n")
	two := write("two.yaml", "kind: Service\nid: /a\nimage: a:1\nautoscale: {target: 1, max: 2}\n---\nkind: Service\nid: /b\nimage: b:1\nautoscale: {target: 1, max: 2}\n")
	badYAML := write("bad.yaml", "kind: Service\nid: /a\nimage: a:1\nautoscale: {target: 1}\n")
	badTrace := write("bad.csv", "t,concurrency\n0,1\n5,2\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no flags", nil, "simulate needs --service FILE and --trace CSV"},
		{"bad output", []string{"--service", simService, "--trace", simTrace("step.csv"), "-o", "xml"}, `-o "xml": want table or json`},
		{"not autoscaled", []string{"--service", fixed, "--trace", simTrace("step.csv")}, "fixed.yaml: no service with an autoscale block"},
		{"several", []string{"--service", two, "--trace", simTrace("step.csv")}, "2 services with an autoscale block: choose one with --id"},
		{"unknown id", []string{"--service", two, "--id", "/c", "--trace", simTrace("step.csv")}, "no service /c with an autoscale block"},
		{"invalid service", []string{"--service", badYAML, "--trace", simTrace("step.csv")}, "bad.yaml:4: autoscale.max: required"},
		{"invalid trace", []string{"--service", simService, "--trace", badTrace}, `bad.csv:3: t "5": want 1`},
		{"missing trace", []string{"--service", simService, "--trace", filepath.Join(dir, "none.csv")}, "no such file"},
		{"bad tick", []string{"--service", simService, "--trace", simTrace("step.csv"), "--tick", "300ms"}, "multiple of 250ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runSimulate(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	// --id picks one.
	if _, err := runSimulate(t, "--service", two, "--id", "/b", "--trace", simTrace("step.csv")); err != nil {
		t.Fatal(err)
	}
}
