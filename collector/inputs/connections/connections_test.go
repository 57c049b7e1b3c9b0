package connections

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/swell-pipeline/swell/autoscaler"
	"github.com/swell-pipeline/swell/scheduler/runtime"
)

// testdata/proc/4242/net holds the tables of a container serving 8080
// (IPv4 and IPv4-mapped IPv6 clients), 9000 (IPv6 socket) and 9090
// (loopback only, idle), with one connection it opened itself to a
// database and sockets in TIME_WAIT and CLOSE_WAIT.
func TestReadSocketsFromProcNetTCP(t *testing.T) {
	s, err := readSockets("testdata/proc", 4242)
	if err != nil {
		t.Fatal(err)
	}
	wantListen := map[uint16]bool{8080: true, 9090: true, 9000: true}
	if !maps.Equal(s.listening, wantListen) {
		t.Errorf("listening %v, want %v", s.listening, wantListen)
	}
	// TIME_WAIT (06) and CLOSE_WAIT (08) are not established.
	wantEst := map[uint16]int{8080: 5, 9000: 1, 50000: 1}
	if !maps.Equal(s.established, wantEst) {
		t.Errorf("established %v, want %v", s.established, wantEst)
	}
}

func TestReadSocketsWithoutIPv6(t *testing.T) {
	dir := t.TempDir()
	writeTable(t, dir+"/7/net/tcp", "  sl  local_address rem_address   st\n   0: 00000000:0050 00000000:0000 0A 0\n   1: 0200000A:0050 0300000A:9C40 01 0\n")
	s, err := readSockets(dir, 7)
	if err != nil {
		t.Fatalf("a missing tcp6 table is no error: %v", err)
	}
	if !s.listening[80] || s.established[80] != 1 {
		t.Errorf("got %+v, want port 80 listening with 1 connection", s)
	}
	if _, err := readSockets(dir, 8); err == nil {
		t.Error("a process without tables: no error")
	}
}

func TestParseRejectsMalformedTables(t *testing.T) {
	const header = "  sl  local_address rem_address   st tx_queue\n"
	tests := []struct {
		name, table, wantErr string
	}{
		{"a line with too few columns", header + "   0: 00000000:1F90\n", "line 2: want sl, local_address"},
		{"a local address without a port", header + "   0: 00000000 00000000:0000 0A\n", "line 2: want sl, local_address"},
		{"a port that is not hexadecimal", header + "   0: 00000000:1G90 00000000:0000 0A\n", `line 2: local port "1G90"`},
		{"a port of more than 16 bits", header + "   0: 00000000:11F90 00000000:0000 0A\n", `line 2: local port "11F90"`},
		{"a state that is not hexadecimal", header + "   0: 00000000:1F90 00000000:0000 ZZ\n", `line 2: state "ZZ"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSockets()
			err := s.parse(strings.NewReader(tt.table))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	t.Run("blank lines and the header alone are fine", func(t *testing.T) {
		s := newSockets()
		if err := s.parse(strings.NewReader(header + "\n  \n")); err != nil {
			t.Error(err)
		}
	})
}

func TestCountedPorts(t *testing.T) {
	s, err := readSockets("testdata/proc", 4242)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		declared []uint16
		hostNet  bool
		want     []uint16
	}{
		{"listening ports, not the port of an outgoing connection", nil, false, []uint16{8080, 9000, 9090}},
		{"a declared port nothing listens on yet counts (as 0)", []uint16{7000, 8080}, false, []uint16{7000, 8080, 9000, 9090}},
		{"host network: only the declared ports", []uint16{8080}, true, []uint16{8080}},
		{"host network without declared ports: nothing", nil, true, []uint16{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := countedPorts(tt.declared, s, tt.hostNet); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("countedPorts = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeclaredPorts(t *testing.T) {
	s := container.Summary{
		Labels: map[string]string{LabelPorts: "8080/tcp,53/udp,9000/tcp"},
		Ports:  []container.Port{{PrivatePort: 8080, PublicPort: 32768, Type: "tcp"}, {PrivatePort: 5353, Type: "udp"}, {PrivatePort: 7000, Type: "tcp"}},
	}
	got := declaredPorts(s)
	want := []uint16{8080, 9000, 8080, 7000}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("declaredPorts = %v, want %v (tcp only; duplicates are merged later)", got, want)
	}
	if got := declaredPorts(container.Summary{}); len(got) != 0 {
		t.Errorf("no label, no ports: %v", got)
	}
}

// The executor writes the labels; the names here must be the same.
func TestLabelsAreTheExecutors(t *testing.T) {
	for ours, theirs := range map[string]string{
		LabelService: runtime.LabelService, LabelInstance: runtime.LabelInstance,
		LabelNode: runtime.LabelNode, LabelPorts: runtime.LabelPorts,
	} {
		if ours != theirs {
			t.Errorf("label %q here, %q in scheduler/runtime", ours, theirs)
		}
	}
}

// The autoscaler reads the signal as a router's: each instance's
// connections arrive as its concurrency and its connections metric.
func TestSignalsReadAsAutoscalerSignals(t *testing.T) {
	in, err := New(Options{Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close() })
	now := time.Date(2026, 11, 23, 10, 0, 1, 0, time.UTC)
	counts := []count{
		{service: "/db/pg", instance: "pg-2", ports: []uint16{5432}, conns: []int{7}},
		{service: "/mq/broker", instance: "mq-1", ports: []uint16{4222, 8222}, conns: []int{3, 1}},
		{service: "/db/pg", instance: "pg-1", ports: []uint16{5432}, conns: []int{0}},
	}
	sigs := in.signals(counts, now)
	if len(sigs) != 2 || sigs[0].Service != "/db/pg" || sigs[1].Service != "/mq/broker" {
		t.Fatalf("signals %+v, want one for /db/pg then one for /mq/broker", sigs)
	}
	want := map[string]map[string]float64{
		"/db/pg":     {"pg-1": 0, "pg-2": 7},
		"/mq/broker": {"mq-1": 4},
	}
	for _, sig := range sigs {
		b, err := json.Marshal(sig)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"kind":"connections"`) {
			t.Errorf("%s: no kind: %s", sig.Service, b)
		}
		got, err := autoscaler.DecodeSignal(b)
		if err != nil {
			t.Fatalf("the autoscaler refuses %s: %v", b, err)
		}
		if got.Node != "n1" || !got.Time.Equal(now) || got.Period() != time.Second {
			t.Errorf("%s: node %q, time %v, period %v", sig.Service, got.Node, got.Time, got.Period())
		}
		seen := map[string]float64{}
		for _, smp := range got.Samples() {
			if smp.Metric == autoscaler.MetricConnections {
				seen[smp.Instance] = smp.Value
			}
			if smp.Metric == autoscaler.MetricConcurrency && smp.Value != want[sig.Service][smp.Instance] {
				t.Errorf("%s %s: concurrency %v, want the connections %v", sig.Service, smp.Instance, smp.Value, want[sig.Service][smp.Instance])
			}
		}
		if !maps.Equal(seen, want[sig.Service]) {
			t.Errorf("%s: connections samples %v, want %v", sig.Service, seen, want[sig.Service])
		}
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"no node", Options{}, "node name is empty"},
		{"negative signal interval", Options{Node: "n", SignalInterval: -time.Second}, "signal interval -1s"},
		{"signal interval beyond what the autoscaler takes", Options{Node: "n", SignalInterval: 2 * time.Minute}, "signal interval 2m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := NewInput(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
			if in != nil {
				t.Errorf("input %v with an error, want a nil interface", in)
			}
		})
	}
}

func writeTable(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
