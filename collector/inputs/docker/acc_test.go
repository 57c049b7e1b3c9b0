package docker

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/opencontainers/cgroups"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func TestMain(m *testing.M) {
	// The fixture cgroup trees under testdata/ live on an ordinary
	// filesystem; without TestMode the cgroups library refuses any file
	// that is not on cgroupfs. Real /sys/fs/cgroup reads are unaffected.
	cgroups.TestMode = true
	os.Exit(m.Run())
}

type recorded struct {
	measurement string
	tags        map[string]string
	fields      map[string]any
	time        time.Time
}

// testAcc records what an input gathers; it is safe for concurrent use,
// as the collector's accumulator is.
type testAcc struct {
	mu     sync.Mutex
	points []recorded
	errs   []error
}

func (a *testAcc) AddFields(m string, fields map[string]any, tags map[string]string, t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.points = append(a.points, recorded{m, tags, fields, t})
}

func (a *testAcc) AddError(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errs = append(a.errs, err)
}

// find returns the points of measurement m whose tags include want.
func (a *testAcc) find(m string, want map[string]string) []recorded {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []recorded
	for _, p := range a.points {
		if p.measurement != m {
			continue
		}
		ok := true
		for k, v := range want {
			if p.tags[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, p)
		}
	}
	return out
}

// lineProtocol encodes the recorded points, sorted, so a golden file does
// not depend on the order the input's workers finished in.
func (a *testAcc) lineProtocol(t *testing.T) []byte {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	var lines []string
	for _, p := range a.points {
		var enc lineprotocol.Encoder
		enc.SetPrecision(lineprotocol.Nanosecond)
		enc.StartLine(p.measurement)
		for _, k := range slices.Sorted(mapsKeys(p.tags)) {
			enc.AddTag(k, p.tags[k])
		}
		for _, k := range slices.Sorted(mapsKeys(p.fields)) {
			v, ok := lineprotocol.NewValue(p.fields[k])
			if !ok {
				t.Fatalf("%s: field %s has type %T, not encodable", p.measurement, k, p.fields[k])
			}
			enc.AddField(k, v)
		}
		enc.EndLine(p.time)
		if err := enc.Err(); err != nil {
			t.Fatalf("encode %s %v: %v", p.measurement, p.tags, err)
		}
		lines = append(lines, string(enc.Bytes()))
	}
	sort.Strings(lines)
	var buf bytes.Buffer
	for _, l := range lines {
		buf.WriteString(l)
	}
	return buf.Bytes()
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// golden compares got with testdata/<name>, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func fieldInt(t *testing.T, p recorded, name string) int64 {
	t.Helper()
	v, ok := p.fields[name]
	if !ok {
		t.Fatalf("%s %s: no field %s (have %v)", p.measurement, p.tags["container_name"], name, keys(p.fields))
	}
	i, ok := v.(int64)
	if !ok {
		t.Fatalf("%s: field %s is %T, want int64", p.measurement, name, v)
	}
	return i
}

func fieldFloat(t *testing.T, p recorded, name string) float64 {
	t.Helper()
	v, ok := p.fields[name]
	if !ok {
		t.Fatalf("%s %s: no field %s (have %v)", p.measurement, p.tags["container_name"], name, keys(p.fields))
	}
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("%s: field %s is %T, want float64", p.measurement, name, v)
	}
	return f
}

func keys[V any](m map[string]V) []string {
	return slices.Sorted(mapsKeys(m))
}

func errorsText(errs []error) string {
	var b bytes.Buffer
	for _, e := range errs {
		fmt.Fprintln(&b, e)
	}
	return b.String()
}
