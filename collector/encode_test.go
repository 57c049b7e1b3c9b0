package collector

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

var goldenTime = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

func TestEncodeGolden(t *testing.T) {
	global := sortedTags(map[string]string{"host": "node-1", "node": "node-1"})
	acc := newAccumulator("golden", goldenTime, time.Second, global)
	acc.AddFields("cpu", map[string]any{
		"usage_user": 12.5, "usage_idle": 87.5, "usage_guest": 0.0,
	}, map[string]string{"cpu": "cpu-total"}, time.Time{})
	acc.AddFields("mem", map[string]any{
		"total": uint64(16 << 30), "used_percent": 42.25, "huge": uint64(math.MaxUint64),
		"small": uint8(7), "neg": int32(-3), "f32": float32(0.5),
	}, nil, time.Time{})
	acc.AddFields("docker_container_status", map[string]any{
		"running": true, "oom_killed": false, "state": `say "hi"\n`, "exitcode": 0,
	}, map[string]string{
		"container_name": "web 1,a=b",
		"service":        "/shop/web",
		"label":          "tab\there",
		"trailing":       `C:\dir\`,
		"empty":          "",
	}, goldenTime.Add(-time.Minute))
	acc.AddFields("weird measurement,name", map[string]any{"field with space": 1}, map[string]string{"host": "own"}, time.Time{})
	res := acc.finish(nil)
	if res.errCount != 0 {
		t.Fatalf("unexpected errors: %v", res.errs)
	}
	golden(t, "encode.golden.lp", res.data)

	// What the collector writes must decode back to what went in.
	dec := lineprotocol.NewDecoderWithBytes(res.data)
	n := 0
	for dec.Next() {
		n++
		for {
			k, _, err := dec.NextField()
			if err != nil {
				t.Fatalf("line %d does not decode: %v", n, err)
			}
			if k == nil {
				break
			}
		}
	}
	if n != res.points() {
		t.Fatalf("decoded %d lines, result says %d points", n, res.points())
	}
}

func TestFieldValueConversion(t *testing.T) {
	tests := []struct {
		name   string
		in     any
		want   string // line protocol spelling
		reason string
	}{
		{"float64", 1.25, "1.25", ""},
		{"float32 widens", float32(0.5), "0.5", ""},
		{"int", 42, "42i", ""},
		{"int8", int8(-8), "-8i", ""},
		{"int16", int16(-16), "-16i", ""},
		{"int32", int32(-32), "-32i", ""},
		{"int64", int64(math.MinInt64), "-9223372036854775808i", ""},
		{"uint", uint(7), "7i", ""},
		{"uint8", uint8(255), "255i", ""},
		{"uint16", uint16(65535), "65535i", ""},
		{"uint32", uint32(math.MaxUint32), "4294967295i", ""},
		{"uint64 fits", uint64(math.MaxInt64), "9223372036854775807i", ""},
		{"uint64 clamps at MaxInt64", uint64(math.MaxUint64), "9223372036854775807i", ""},
		{"bool", true, "true", ""},
		{"string", `a "b"`, `"a \"b\""`, ""},
		{"invalid utf-8 is replaced", "a\xffb", "\"a\uFFFDb\"", ""},
		{"NaN dropped", math.NaN(), "", reasonNonFinite},
		{"+Inf dropped", math.Inf(1), "", reasonNonFinite},
		{"-Inf float32 dropped", float32(math.Inf(-1)), "", reasonNonFinite},
		{"duration unsupported", time.Second, "", reasonUnsupported},
		{"nil unsupported", nil, "", reasonUnsupported},
		{"slice unsupported", []byte("x"), "", reasonUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, reason := fieldValue(tt.in)
			if reason != tt.reason {
				t.Fatalf("reason = %q, want %q", reason, tt.reason)
			}
			if reason == "" && v.String() != tt.want {
				t.Errorf("value = %s, want %s", v.String(), tt.want)
			}
		})
	}
}

func TestSanitizeTagValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"with space,comma=eq", "with space,comma=eq"},
		{"tab\tnl\ncr\rff\f", `tab\tnl\ncr\rff\f`},
		{"bell\a", "bell"},
		{`trailing\\`, "trailing"},
		{"\xff", "\uFFFD"},
		{"\x00", ""},
	}
	for _, tt := range tests {
		if got := sanitizeTagValue(tt.in); got != tt.want {
			t.Errorf("sanitizeTagValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAccumulator(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 678901234, time.UTC)
	tests := []struct {
		name       string
		add        func(a *accumulator)
		precision  time.Duration
		wantLines  string
		wantErrors []string
		wantFields map[string]int
		wantPoints map[string]int
	}{
		{
			name:      "zero time takes the gather time truncated to the precision",
			precision: time.Second,
			add: func(a *accumulator) {
				a.AddFields("m", map[string]any{"v": 1}, nil, time.Time{})
			},
			wantLines: "m v=1i 1735787045000000000\n",
		},
		{
			name:      "explicit time is kept, truncated to milliseconds",
			precision: time.Millisecond,
			add: func(a *accumulator) {
				a.AddFields("m", map[string]any{"v": 1}, nil, now.Add(-time.Hour))
			},
			wantLines: "m v=1i 1735783445678000000\n",
		},
		{
			name: "fields and tags are sorted",
			add: func(a *accumulator) {
				a.AddFields("m", map[string]any{"z": 1, "a": 2, "m": 3}, map[string]string{"zz": "1", "aa": "2"}, now)
			},
			wantLines: "m,aa=2,zz=1 a=2i,m=3i,z=1i 1735787045678901234\n",
		},
		{
			name: "point without fields is skipped",
			add: func(a *accumulator) {
				a.AddFields("m", map[string]any{}, nil, now)
				a.AddFields("m", nil, nil, now)
			},
			wantPoints: map[string]int{reasonNoFields: 2},
		},
		{
			name: "unsupported type is an error and the rest of the point stays",
			add: func(a *accumulator) {
				a.AddFields("m", map[string]any{"ok": 1, "bad": struct{}{}}, nil, now)
			},
			wantLines:  "m ok=1i 1735787045678901234\n",
			wantErrors: []string{`m: field "bad" has unsupported type struct {}`},
			wantFields: map[string]int{reasonUnsupported: 1},
		},
		{
			name: "invalid field key is dropped with an error",
			add: func(a *accumulator) {
				a.AddFields("m", map[string]any{"ok": 1, "bad\nkey": 2}, nil, now)
			},
			wantLines:  "m ok=1i 1735787045678901234\n",
			wantErrors: []string{`m: field key "bad\nkey" cannot be written as line protocol`},
			wantFields: map[string]int{reasonInvalid: 1},
		},
		{
			name: "invalid measurement drops the point and the next point still encodes",
			add: func(a *accumulator) {
				a.AddFields("bad\x01", map[string]any{"v": 1}, nil, now)
				a.AddFields("good", map[string]any{"v": 1}, nil, now)
			},
			wantLines:  "good v=1i 1735787045678901234\n",
			wantErrors: []string{`encode bad` + "\x01" + ` point: invalid measurement "bad\x01"`},
			wantPoints: map[string]int{reasonInvalid: 1},
		},
		{
			name: "AddError is kept, nil is ignored",
			add: func(a *accumulator) {
				a.AddError(nil)
				a.AddError(errErrTest)
			},
			wantErrors: []string{"disk /mnt unreadable"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAccumulator("in", now, tt.precision, nil)
			tt.add(a)
			res := a.finish(nil)
			if got := string(res.data); got != tt.wantLines {
				t.Errorf("lines = %q, want %q", got, tt.wantLines)
			}
			var errs []string
			for _, e := range res.errs {
				errs = append(errs, e.Error())
			}
			if strings.Join(errs, "|") != strings.Join(tt.wantErrors, "|") {
				t.Errorf("errors = %q, want %q", errs, tt.wantErrors)
			}
			if !countsEqual(res.fieldsDropped, tt.wantFields) {
				t.Errorf("fields dropped = %v, want %v", res.fieldsDropped, tt.wantFields)
			}
			if !countsEqual(res.pointsDropped, tt.wantPoints) {
				t.Errorf("points dropped = %v, want %v", res.pointsDropped, tt.wantPoints)
			}
		})
	}
}

var errErrTest = errors.New("disk /mnt unreadable")

func countsEqual(got, want map[string]int) bool {
	n := 0
	for k, v := range got {
		if v == 0 {
			continue
		}
		if want[k] != v {
			return false
		}
		n++
	}
	return n == len(want)
}

func TestAccumulatorIgnoresPointsAfterFinish(t *testing.T) {
	a := newAccumulator("in", goldenTime, 0, nil)
	a.AddFields("m", map[string]any{"v": 1}, nil, time.Time{})
	res := a.finish(nil)
	a.AddFields("m", map[string]any{"v": 2}, nil, time.Time{})
	a.AddError(errErrTest)
	if res.points() != 1 {
		t.Fatalf("first result has %d points, want 1", res.points())
	}
	late := a.finish(nil)
	if late.points() != 0 || late.errCount != 0 || late.pointsDropped[reasonLate] != 1 {
		t.Fatalf("after finish: %d points, %d errors, %d late; want 0, 0, 1", late.points(), late.errCount, late.pointsDropped[reasonLate])
	}
}

func BenchmarkEncode(b *testing.B) {
	global := sortedTags(map[string]string{"host": "node-1", "node": "node-1"})
	fields := map[string]any{
		"usage_user": 12.5, "usage_system": 3.25, "usage_idle": 84.25, "usage_iowait": 0.0,
		"total": uint64(16 << 30), "used": uint64(9 << 30), "n": 12, "running": true,
	}
	tags := map[string]string{"cpu": "cpu0", "container_name": "web-1", "service": "/shop/web"}
	b.ReportAllocs()
	var bytes int
	for b.Loop() {
		acc := newAccumulator("bench", goldenTime, time.Second, global)
		for range 100 {
			acc.AddFields("cpu", fields, tags, time.Time{})
		}
		res := acc.finish(nil)
		bytes += len(res.data)
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "points/s")
	b.SetBytes(int64(bytes / b.N))
}
