package spec

import (
	"strings"
	"testing"
)

func TestAutoscaleMoreMetricsAndToleranceByDirection(t *testing.T) {
	good := "kind: Service\nid: /a\nimage: a:1\nautoscale:\n  metric: concurrency\n  target: 10\n  max: 5\n" +
		"  metrics: [{metric: cpu, target: 60}, {metric: rps, target: 100}]\n" +
		"  scaleUp: {maxRate: 10, tolerance: 0.05}\n  scaleDown: {tolerance: 0.2}\n"
	docs, err := Load("good.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	a := docs[0].Service.Autoscale
	if len(a.Metrics) != 2 || a.Metrics[0] != (MetricTarget{Metric: MetricCPU, Target: 60}) ||
		a.ScaleUp.Tolerance == nil || *a.ScaleUp.Tolerance != 0.05 || a.ScaleDown.Tolerance == nil || *a.ScaleDown.Tolerance != 0.2 ||
		a.ScaleDown.MaxRate != 2 {
		t.Errorf("loaded %+v up %+v down %+v", a, a.ScaleUp, a.ScaleDown)
	}
	bad := "kind: Service\nid: /a\nimage: a:1\nautoscale:\n  target: 10\n  max: 5\n  metrics:\n" +
		"    - {metric: concurrency, target: 60}\n    - {metric: rps, target: 0}\n    - {metric: latency, target: 3}\n" +
		"  scaleUp: {tolerance: 1.5}\n"
	_, err = Load("bad.yaml", []byte(bad))
	if err == nil {
		t.Fatal("bad autoscale block loaded")
	}
	for _, want := range []string{
		"autoscale.metrics[0].metric: concurrency is given twice",
		"autoscale.metrics[1].target: 0 is not allowed",
		`autoscale.metrics[2].metric: "latency" is not`,
		"autoscale.scaleUp.tolerance: 1.5 is not between 0 and 1",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error:\n%v\nwant it to contain %q", err, want)
		}
	}
}
