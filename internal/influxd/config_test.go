package influxd

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestConfigMatchesGolden(t *testing.T) {
	got := config{dataDir: "/var/lib/swell/influxdb", httpAddr: "127.0.0.1:8086", rpcAddr: "127.0.0.1:40123"}.render()
	golden := filepath.Join("testdata", "influxd.conf")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("config differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
}

func TestTOMLStringEscapes(t *testing.T) {
	tests := []struct{ in, want string }{
		{`/plain/path`, `"/plain/path"`},
		{`C:\dir "x"`, `"C:\\dir \"x\""`},
		{"tab\there", `"tab\u0009here"`},
	}
	for _, tc := range tests {
		if got := tomlString(tc.in); got != tc.want {
			t.Errorf("tomlString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestChildEnvDropsInfluxdbOverrides(t *testing.T) {
	got := childEnv([]string{"PATH=/bin", "INFLUXDB_HTTP_BIND_ADDRESS=:9999", "HOME=/root", "INFLUXDB_DATA_DIR=/x"})
	want := []string{"PATH=/bin", "HOME=/root"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("childEnv = %v, want %v", got, want)
	}
}
