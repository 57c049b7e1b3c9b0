package demo

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/loadgen"
	"github.com/swell-pipeline/swell/spec"
)

func TestParseProfile(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []Phase
		err      string
	}{
		{name: "the default written out", in: "quiet=20s@2,step=40s@15,burst=20s@30,quiet=30s@2", want: DefaultProfile()},
		{name: "spaces around phases", in: " quiet=5s@0 , step=10s@8", want: []Phase{{"quiet", 0, 5 * time.Second}, {"step", 8, 10 * time.Second}}},
		{name: "no concurrency", in: "quiet=20s", err: `profile phase 1 "quiet=20s": want name=duration@concurrency`},
		{name: "bad duration", in: "step=forty@15", err: `profile phase 1 "step=forty@15": duration`},
		{name: "bad concurrency", in: "step=40s@many", err: `concurrency "many" is not a whole number`},
		{name: "too much concurrency", in: "step=40s@1000", err: "concurrency 1000: want 0 to 200"},
		{name: "too long a phase", in: "step=10m@5", err: "duration 10m0s: want 1s to 5m"},
		{name: "too long a profile", in: "a=5m@1,b=2m@1", err: "at most 6m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseProfile(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("phase %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
			back, err := ParseProfile(profileLine(got))
			if err != nil || len(back) != len(got) || back[0] != got[0] {
				t.Errorf("profileLine %q reads back as %+v, %v", profileLine(got), back, err)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		err  string
	}{
		{name: "no data dir", o: Options{}, err: "no data dir"},
		{name: "nodes and addresses differ", o: Options{DataDir: "x", Nodes: []string{"a"}, Addrs: []string{"127.0.0.1", "127.0.0.2"}}, err: "1 node names for 2 addresses"},
		{name: "an address off loopback", o: Options{DataDir: "x", Nodes: []string{"a"}, Addrs: []string{"10.1.2.3"}}, err: "stays on loopback"},
		{name: "an empty profile", o: Options{DataDir: "x", Profile: []Phase{}}, err: "empty load profile"},
		{name: "a negative settle", o: Options{DataDir: "x", Settle: -time.Second}, err: "must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
		})
	}
}

// TestManifestLoadsStrictly: what the demo applies passes swell's own
// strict parser, with the values the demo's arithmetic assumes.
func TestManifestLoadsStrictly(t *testing.T) {
	docs, err := spec.Load("demo.yaml", []byte(Manifest("swell-demo:1", 10001, "http://127.0.0.1:9/alerts", map[string]string{"swell.test": "x"})))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, d := range docs {
		kinds[d.Kind]++
		if d.Service != nil {
			s := d.Service
			if s.ID != ServiceID || s.Autoscale == nil || s.Autoscale.Target != Target || s.Autoscale.Min != MinReplicas || s.Autoscale.Max != MaxReplicas {
				t.Errorf("service = %+v, autoscale %+v", s, s.Autoscale)
			}
			if s.PortMappings[0].ServicePort != 10001 || s.HealthChecks[0].Path != "/healthz" || s.Labels["swell.test"] != "x" {
				t.Errorf("service ports %+v, health %+v, labels %v", s.PortMappings, s.HealthChecks, s.Labels)
			}
		}
	}
	for _, k := range []string{"Service", "AlertRule", "Route", "Receiver"} {
		if kinds[k] != 1 {
			t.Errorf("%d documents of kind %s, want 1", kinds[k], k)
		}
	}
}

func TestParseWebhook(t *testing.T) {
	body := `{"receiver":"demo-sink","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"demo-overloaded","service":"/demo/web","severity":"critical"},"annotations":{"summary":"s"},"fingerprint":"ab"}],"version":"4"}`
	at := time.Unix(100, 0)
	ns, err := parseWebhook([]byte(body), at)
	if err != nil {
		t.Fatal(err)
	}
	want := Notification{At: at, Status: "resolved", Alert: AlertName, Severity: "critical", Summary: "s", Fingerprint: "ab"}
	if len(ns) != 1 || ns[0] != want {
		t.Errorf("got %+v, want %+v", ns, want)
	}
	for _, bad := range []string{`not json`, `{"alerts":[]}`, `{"alerts":[{"status":"pending"}]}`} {
		if _, err := parseWebhook([]byte(bad), at); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestPlannedFollowsThePolicy(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want int
	}{{0, 1}, {3.5, 1}, {3.6, 2}, {15, 5}, {30, 9}, {100, MaxReplicas}} {
		if got := planned(tc.in); got != tc.want {
			t.Errorf("planned(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestSummaryAndPlot(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	r := Result{
		Elapsed: 95 * time.Second,
		Phases: []PhaseResult{
			{Phase: Phase{"quiet", 2, 20 * time.Second}, Result: loadgen.Result{Requests: 200, P50Ms: 201, P99Ms: 204}},
			{Phase: Phase{"step", 15, 40 * time.Second}, Start: 20 * time.Second, Result: loadgen.Result{Requests: 3000, Errors: 1, P50Ms: 202, P99Ms: 260}},
		},
		Requests: 3200, Errors: 1,
		ScaleEvents: []events.Event{{Time: t0.Add(21 * time.Second), From: "1", To: "5", Reason: "panic: 15 in flight"}},
		PeakDesired: 5, PeakHealthy: 5, PeakPerNode: map[string]int{"demo-2": 2, "demo-1": 2, "demo-3": 1},
		Notifications: []Notification{{At: t0.Add(22 * time.Second), Status: "firing", Summary: "over"}, {At: t0.Add(26 * time.Second), Status: "resolved", Summary: "over"}},
		Settled:       true,
		PlotPath:      "/d/demo.png", SummaryPath: "/d/summary.txt", GrafanaDir: "/d/up/grafana/provisioning",
	}
	got := Summary(r, t0)
	for _, want := range []string{
		"run             1m35s, profile quiet=20s@2,step=40s@15, settled: true",
		"scale events    1\n",
		"21s  1 → 5  panic: 15 in flight",
		"peak replicas   5 desired, 5 healthy (most per node: demo-1 2, demo-2 2, demo-3 1)",
		"requests        3200, errors 1",
		"step    40s × 15  requests   3000 errors 1  p50 202 ms  p99 260 ms",
		"demo-overloaded fired 1×, resolved 1× (2 notifications at the webhook sink)",
		"26s  resolved over",
		"dashboards      Grafana provisioning (datasource, dashboards) in /d/up/grafana/provisioning",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}

	var samples []Sample
	for i := range 30 {
		s := Sample{T: time.Duration(i) * time.Second, InFlight: 2, Desired: 1, Healthy: 1, Existing: 1}
		if i >= 10 {
			s.InFlight, s.Desired, s.Existing = 15, 5, 5
			s.Healthy = min(5, i-9)
		}
		samples = append(samples, s)
	}
	sr := simResult(samples)
	if sr.Seconds != 30 || sr.Series[12].Oracle != 5 || sr.Series[12].Ready != 3 || sr.Series[12].Replicas != 5 {
		t.Errorf("series[12] = %+v of %d", sr.Series[12], sr.Seconds)
	}
	if sr.SLOViolationSeconds == 0 {
		t.Error("15 in flight on fewer than 3 ready instances of target 5 is over capacity")
	}
	path := t.TempDir() + "/demo.png"
	if err := writePlot(path, samples); err != nil {
		t.Fatal(err)
	}
	if err := writePlot(path, nil); err == nil {
		t.Error("a plot of nothing was written")
	}
}

func TestPrinterStampsLinesOnceTheProfileStarts(t *testing.T) {
	var b bytes.Buffer
	p := newPrinter(&b)
	p.line("starting %s", "x")
	p.event("PHASE", "before")
	p.start(time.Now().Add(-3 * time.Second))
	p.event("SCALE", "1 → %d", 5)
	want := "demo  starting x\n      PHASE  before\n  3s  SCALE  1 → 5\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}
