package inputs_test

import (
	"bytes"
	"io"
	"log/slog"
	"testing"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/collector/collectortest"
	"github.com/swell-pipeline/swell/collector/inputs"
)

// hostInputs are the inputs that read only the host, with the measurement
// each writes.
var hostInputs = map[string]string{
	"cpu": "cpu", "mem": "mem", "disk": "disk", "diskio": "diskio",
	"net": "net", "system": "system", "processes": "processes",
}

func TestBuiltinListsTheHostInputs(t *testing.T) {
	builtin := inputs.Builtin()
	for name := range hostInputs {
		spec, ok := builtin[name]
		if !ok {
			t.Errorf("Builtin has no %q", name)
			continue
		}
		if spec.New == nil || spec.Description == "" || !spec.Default {
			t.Errorf("%s: spec %+v, want a factory, a description and Default", name, spec)
		}
	}
}

// hostConfigured builds every host input from the registry.
func hostConfigured(tb testing.TB) []collector.ConfiguredInput {
	tb.Helper()
	builtin := inputs.Builtin()
	env := inputs.Env{Node: "bench", Logger: slog.New(slog.DiscardHandler)}
	var out []collector.ConfiguredInput
	for name := range hostInputs {
		in, err := builtin[name].New(env)
		if err != nil {
			tb.Fatalf("build %s: %v", name, err)
		}
		if in == nil {
			tb.Fatalf("%s factory returned a nil input", name)
		}
		out = append(out, collector.ConfiguredInput{Name: name, Input: in})
	}
	return out
}

func TestHostInputsGatherTogether(t *testing.T) {
	var buf bytes.Buffer
	if err := collector.GatherOnce(t.Context(), hostConfigured(t), map[string]string{"host": "h"}, &buf); err != nil {
		t.Fatalf("GatherOnce: %v", err)
	}
	points, err := collectortest.Decode(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range points {
		seen[p.Measurement] = true
	}
	// disk reports nothing where every mount is a pseudo filesystem;
	// every other host input always has something to say on Linux.
	for name, m := range hostInputs {
		if !seen[m] && name != "disk" {
			t.Errorf("no %s points from the %s input", m, name)
		}
	}
}

// unprimed hides an input's Prime method, so GatherOnce neither primes it
// nor waits: the benchmark measures steady-state gathers, where the
// previous iteration is the previous sample.
type unprimed struct{ collector.Input }

// BenchmarkGatherHost gathers every host input once per iteration,
// concurrently, through the real accumulator and encoder.
func BenchmarkGatherHost(b *testing.B) {
	var ins []collector.ConfiguredInput
	for _, ci := range hostConfigured(b) {
		ci.Input = unprimed{ci.Input}
		ins = append(ins, ci)
	}
	global := map[string]string{"host": "bench", "node": "bench"}
	b.ReportAllocs()
	for b.Loop() {
		if err := collector.GatherOnce(b.Context(), ins, global, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
