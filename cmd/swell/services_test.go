//go:build !swellnode

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/api"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/httpd"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/internal/testenv"
)

// TestServiceCommandsAgainstARunningServer runs swell server (with its
// scheduler) on a real NATS and InfluxDB and drives it with the client
// commands, as a person would.
func TestServiceCommandsAgainstARunningServer(t *testing.T) {
	ns := testenv.NATS(t)
	influx := testenv.Influx(t)
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	var srvErr testenv.SyncBuffer
	go func() {
		done <- run(ctx, []string{"server", "--nats-url", ns.ClientURL(), "--influx-url", influx.URL(), "--http", addr, "--server-name", "test-server"}, &testenv.SyncBuffer{}, &srvErr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("server exited %d:\n%s", code, srvErr.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not healthy within 20s: %v\n%s", err, srvErr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, js := testenv.Connect(t, ns.ClientURL())
	nodes, err := js.KeyValue(t.Context(), bus.BucketNodes)
	if err != nil {
		t.Fatal(err)
	}
	if err := state.PutNode(t.Context(), nodes, state.Node{Name: "n1", CPUs: 4, MemMiB: 4096, Docker: true, Heartbeat: time.Now()}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	web := write("web.yaml", "kind: Service\nid: /shop/web\nimage: web:1\ninstances: 2\ncpus: 0.5\nmem: 64\n")
	rules := write("alerts.yaml", "kind: AlertRule\nname: mem\nmeasurement: mem\nfield: used_percent\ncrit: \"> 95\"\nnotify: [hook]\n---\nkind: Receiver\nname: hook\ntype: webhook\nurl: http://127.0.0.1:9/hook\n")
	bad := write("bad.yaml", "kind: Service\nid: /shop/bad\nimage: web:1\nmemory_mb: 5\n")
	srv := []string{"--server", addr}
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, append(args, srv...)...)
	}

	steps := []struct {
		name   string
		args   []string
		code   int
		stdout string // a substring of standard output
		stderr string // a substring of standard error
	}{
		{"apply creates", []string{"apply", "-f", web}, 0, "service /shop/web created\n", ""},
		{"apply again is unchanged", []string{"apply", "-f", web}, 0, "service /shop/web unchanged\n", ""},
		{"bad file names file and line", []string{"apply", "-f", bad}, 1, "", bad + `:4: unknown field "memory_mb"`},
		{"bad file is refused whole", []string{"apply", "-f", bad}, 1, "", "1 problem(s); nothing of it was applied"},
		{"get services", []string{"get", "services"}, 0, "/shop/web", ""},
		{"explain", []string{"explain", "/shop/web"}, 0, "2 desired, 2 placed", ""},
		{"scale", []string{"scale", "/shop/web", "0"}, 0, "service /shop/web scaled from 2 to 0 instances\n", ""},
		{"scale a missing service", []string{"scale", "/shop/nope", "1"}, 1, "", "service /shop/nope not found"},
		{"drain", []string{"drain", "n1"}, 0, "node n1 draining", ""},
		{"drain again", []string{"drain", "n1"}, 0, "node n1 was already draining", ""},
		{"drain and wait", []string{"drain", "n1", "--wait", "--timeout", "20s"}, 0, "node n1 drained\n", ""},
		{"get nodes shows the cordon", []string{"get", "nodes", "-o", "json"}, 0, `"cordoned": true`, ""},
		{"uncordon", []string{"uncordon", "n1"}, 0, "node n1 uncordoned", ""},
		{"get nodes after uncordon", []string{"get", "nodes"}, 0, "n1    ready ", ""},
		{"drain an unknown node", []string{"drain", "n9"}, 1, "", `node "n9" is not registered`},
		{"rollout of a settled service", []string{"rollout", "status", "/shop/web", "--timeout", "10s", "--interval", "100ms"}, 0, "rollout of /shop/web done", ""},
		{"delete", []string{"delete", "service", "/shop/web"}, 0, "service /shop/web deleted\n", ""},
		{"delete again", []string{"delete", "service", "/shop/web"}, 1, "", "service /shop/web not found"},
		{"apply alert documents", []string{"apply", "-f", rules}, 0, "rule mem created\nreceiver hook created\n", ""},
		{"get rules", []string{"get", "rules"}, 0, "mem   ", ""},
		{"get receivers", []string{"get", "receivers", "-o", "json"}, 0, `"type": "webhook"`, ""},
		{"get alerts", []string{"get", "alerts"}, 0, "STATE", ""},
		{"silence", []string{"alerts", "silence", "--match", "alertname=mem", "--for", "1h", "--comment", "test"}, 0, "(alertname=mem)", ""},
		{"silence without --for", []string{"alerts", "silence", "--match", "alertname=mem"}, 1, "", "silence needs --for"},
		{"silences", []string{"alerts", "silences"}, 0, "active", ""},
		{"delete rule", []string{"delete", "rule", "mem"}, 0, "rule mem deleted\n", ""},
		{"delete rule again", []string{"delete", "rule", "mem"}, 1, "", "no rule mem"},
	}
	for _, st := range steps {
		code, out, errOut := cli(st.args...)
		if st.name == "explain" {
			// The scheduler places on the leader, a moment after apply.
			for i := 0; i < 100 && !strings.Contains(out, st.stdout); i++ {
				time.Sleep(50 * time.Millisecond)
				code, out, errOut = cli(st.args...)
			}
		}
		if code != st.code || !strings.Contains(out, st.stdout) || !strings.Contains(errOut, st.stderr) {
			t.Errorf("%s: swell %s\nexit %d (want %d)\nstdout:\n%s\nstderr:\n%s", st.name, strings.Join(st.args, " "), code, st.code, out, errOut)
		}
	}
}

func TestGetServicesAsJSONAndYAML(t *testing.T) {
	ns := testenv.NATS(t)
	_, js := testenv.Connect(t, ns.ClientURL())
	if err := bus.EnsureKV(t.Context(), js, 1); err != nil {
		t.Fatal(err)
	}
	s, err := httpd.New(httpd.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	api.RegisterServices(s, api.ServicesOptions{JS: func() (jetstream.JetStream, error) { return js, nil }})
	testenv.Serve(t, s)
	f := filepath.Join(t.TempDir(), "a.yaml")
	if err := os.WriteFile(f, []byte("kind: Service\nid: /a\nimage: a:1\ninstances: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "apply", "-f", f, "--server", s.Addr()); code != 0 {
		t.Fatalf("apply: %s", errOut)
	}
	code, out, errOut := runCLI(t, "get", "services", "-o", "json", "--server", s.Addr())
	var got []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || len(got) != 1 || got[0]["desired"] != 2.0 {
		t.Fatalf("get services -o json: exit %d\n%s\n%s", code, out, errOut)
	}
	// The YAML is what apply reads back.
	code, out, _ = runCLI(t, "get", "services", "-o", "yaml", "--server", s.Addr())
	if code != 0 || !strings.HasPrefix(out, "kind: Service\nid: /a\nimage: a:1\n") {
		t.Errorf("get services -o yaml:\n%s", out)
	}
	back := filepath.Join(t.TempDir(), "back.yaml")
	if err := os.WriteFile(back, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, "apply", "-f", back, "--server", s.Addr()); code != 0 || out != "service /a unchanged\n" {
		t.Errorf("apply of get's YAML: exit %d %q %s", code, out, errOut)
	}
}

func TestClientCommandUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"server", "--node-timeout", "1s", "--http", "127.0.0.1:0"}, "--node-timeout 1s is too short"},
		{[]string{"apply"}, "apply needs -f FILE"},
		{[]string{"apply", "-f", "/nonexistent/web.yaml"}, "read /nonexistent/web.yaml"},
		{[]string{"scale", "/a", "many"}, `instances "many": want a whole number`},
		{[]string{"delete", "node", "n1"}, `cannot delete "node"`},
		{[]string{"explain", "/a", "-o", "xml"}, `-o "xml": want text, json or yaml`},
		{[]string{"rollout"}, "rollout needs an ID and --strategy, or a subcommand"},
		{[]string{"drain", "n1", "--server", "127.0.0.1:1"}, "cannot reach the swell server at http://127.0.0.1:1"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if last := lines[len(lines)-1]; code == 0 || !strings.HasPrefix(last, "swell: error: ") || !strings.Contains(last, tc.want) {
				t.Errorf("exit %d, last stderr line %q, want it to contain %q", code, last, tc.want)
			}
		})
	}
}
