package autoscaler

import (
	"strings"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/spec"
)

func TestPolicyFromSpec(t *testing.T) {
	doc := `kind: Service
id: /shop/web
image: web:1
priority: 100
autoscale:
  metric: rps
  target: 50
  min: 0
  max: 40
  tolerance: 0.05
  scaleUp: {maxRate: 10, policies: [{type: Percent, value: 100, period: 15s}]}
  scaleDown: {maxRate: 2, stabilization: 30s, policies: [{type: Pods, value: 4, period: 1m}]}
  scaleDownDelay: 20s
  scaleToZero: {enabled: true, grace: 45s}
  schedule: [{cron: "0 8 * * 1-5", min: 10, for: 10h}]
  fallback: {after: 10s, instances: 6}
`
	docs, err := spec.Load("web.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s := docs[0].Service
	p, err := PolicyFromSpec(s.Autoscale, s.Priority)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Metrics) != 1 || p.Metrics[0] != (MetricTarget{Name: "rps", Target: 50}) || p.TargetUtilization != 0.7 || p.Min != 0 || p.Max != 40 || p.Priority != 100 {
		t.Fatalf("%+v", p)
	}
	if p.ScaleUp.MaxRate != 10 || p.ScaleUp.Tolerance != 0.1 || p.ScaleDown.Tolerance != 0.05 || p.ScaleDown.Stabilization != 30*time.Second {
		t.Fatalf("rules %+v %+v", p.ScaleUp, p.ScaleDown)
	}
	if pol := p.ScaleUp.Policies[0]; !pol.Percent || pol.Value != 100 || pol.Period != 15*time.Second {
		t.Fatalf("up policy %+v", pol)
	}
	if pol := p.ScaleDown.Policies[0]; pol.Percent || pol.Value != 4 || pol.Period != time.Minute {
		t.Fatalf("down policy %+v", pol)
	}
	if p.ScaleDownDelay != 20*time.Second || !p.ScaleToZero || p.ZeroGrace != 45*time.Second {
		t.Fatalf("%+v", p)
	}
	if len(p.Schedule) != 1 || p.Schedule[0].Cron.String() != "0 8 * * 1-5" || p.Schedule[0].Min != 10 || p.Schedule[0].For != 10*time.Hour {
		t.Fatalf("schedule %+v", p.Schedule)
	}
	if p.Fallback.After != 10*time.Second || p.Fallback.Replicas == nil || *p.Fallback.Replicas != 6 {
		t.Fatalf("fallback %+v", p.Fallback)
	}

	// The YAML defaults give the core's defaults, but for the down window.
	docs, err = spec.Load("min.yaml", []byte("kind: Service\nid: /a\nimage: a:1\nautoscale: {target: 10, max: 5}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, err = PolicyFromSpec(docs[0].Service.Autoscale, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultPolicy(10, 1, 5)
	want.ScaleDown.Stabilization = p.ScaleDown.Stabilization
	if p.ScaleUp.Tolerance != want.ScaleUp.Tolerance || p.ScaleDown.Tolerance != want.ScaleDown.Tolerance ||
		p.StableWindow != want.StableWindow || p.PanicWindow != want.PanicWindow || p.PanicThreshold != want.PanicThreshold ||
		p.ScaleUp.MaxRate != want.ScaleUp.MaxRate || p.ScaleDown.MaxRate != want.ScaleDown.MaxRate || p.Fallback.After != want.Fallback.After {
		t.Fatalf("from YAML defaults %+v\nwant %+v", p, want)
	}

	if _, err := PolicyFromSpec(nil, 0); err == nil {
		t.Fatal("nil block accepted")
	}
}

func TestPolicyValidate(t *testing.T) {
	bad := []struct {
		name string
		mut  func(*Policy)
		want string
	}{
		{"no metric", func(p *Policy) { p.Metrics = nil }, "no metric"},
		{"unknown metric", func(p *Policy) { p.Metrics[0].Name = "latency" }, `metric "latency"`},
		{"zero target", func(p *Policy) { p.Metrics[0].Target = 0 }, "target 0"},
		{"utilization", func(p *Policy) { p.TargetUtilization = 1.5 }, "targetUtilization 1.5"},
		{"bounds", func(p *Policy) { p.Min = 5; p.Max = 2 }, "min 5, max 2"},
		{"windows", func(p *Policy) { p.PanicWindow = 2 * time.Minute }, "windows"},
		{"threshold", func(p *Policy) { p.PanicThreshold = 1 }, "panicThreshold"},
		{"rate", func(p *Policy) { p.ScaleDown.MaxRate = 1 }, "scaleDown.maxRate"},
		{"tolerance", func(p *Policy) { p.ScaleUp.Tolerance = 1 }, "scaleUp tolerance"},
		{"fallback", func(p *Policy) { n := 500; p.Fallback.Replicas = &n }, "fallback replicas 500"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPolicy(10, 1, 10)
			tc.mut(&p)
			if err := p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	if err := DefaultPolicy(10, 1, 10).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPolicyFromSpecMoreMetricsAndTolerances(t *testing.T) {
	doc := "kind: Service\nid: /a\nimage: a:1\nautoscale:\n  metric: concurrency\n  target: 10\n  max: 5\n  tolerance: 0.1\n" +
		"  metrics: [{metric: cpu, target: 60}]\n  scaleDown: {tolerance: 0.3}\n"
	docs, err := spec.Load("a.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p, err := PolicyFromSpec(docs[0].Service.Autoscale, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Metrics) != 2 || p.Metrics[1] != (MetricTarget{Name: MetricCPU, Target: 60}) {
		t.Errorf("metrics %+v", p.Metrics)
	}
	if p.ScaleUp.Tolerance != 0.2 || p.ScaleDown.Tolerance != 0.3 {
		t.Errorf("tolerances up %v down %v, want 0.2 (twice the block's) and 0.3 (its own)", p.ScaleUp.Tolerance, p.ScaleDown.Tolerance)
	}
}
