package api

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/spec"
)

func TestRolloutStartPromoteAbort(t *testing.T) {
	c, js := startServices(t)
	ctx := t.Context()
	if _, err := c.Apply(ctx, "web.yaml", []byte(webYAML)); err != nil {
		t.Fatal(err)
	}
	kv, _ := js.KeyValue(ctx, bus.BucketServices)
	v1, _, _ := state.GetService(ctx, kv, "/shop/web")
	v2 := []byte(strings.Replace(webYAML, "web:1", "web:2", 1))

	for _, tc := range []struct {
		name, id, strategy string
		weight             int
		body               []byte
		want               string
	}{
		{"no strategy", "/shop/web", "", 0, v2, `strategy "": want bluegreen or canary`},
		{"weight out of range", "/shop/web", "canary", 100, v2, "want the percent of requests for the new version, 1 to 99"},
		{"unknown service", "/shop/nope", "bluegreen", 0, []byte(strings.Replace(string(v2), "/shop/web", "/shop/nope", 1)), "create it with swell apply first"},
		{"another id in the file", "/shop/web", "bluegreen", 0, []byte(strings.Replace(string(v2), "/shop/web", "/shop/api", 1)), "exactly one kind: Service document with id /shop/web"},
		{"same version", "/shop/web", "bluegreen", 0, []byte(webYAML), "already runs version " + v1.Version},
	} {
		if _, err := c.StartRollout(ctx, tc.id, tc.strategy, tc.weight, -1, "v2.yaml", tc.body); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	bad := []byte(strings.Replace(string(v2), "mem: 64", "memory_mb: 64", 1))
	var se *spec.Error
	if _, err := c.StartRollout(ctx, "/shop/web", "canary", 10, -1, "v2.yaml", bad); !errors.As(err, &se) {
		t.Errorf("bad file: %v, want a *spec.Error with its line", err)
	}

	rv, err := c.StartRollout(ctx, "/shop/web", "canary", 20, -1, "v2.yaml", v2)
	if err != nil {
		t.Fatal(err)
	}
	rec, _, _ := state.GetService(ctx, kv, "/shop/web")
	if rv.Strategy != "canary" || rv.Weight != 20 || rec.Rollout == nil || rec.Rollout.From != v1.Version || rec.Spec.Image != "web:2" ||
		rec.Traffic.Weights[v1.Version] != 80 || rec.Traffic.Weights[rec.Version] != 20 {
		t.Fatalf("canary started: view %+v, record %+v traffic %+v", rv, rec.Rollout, rec.Traffic)
	}
	if _, err := c.StartRollout(ctx, "/shop/web", "bluegreen", 0, time.Minute, "v2.yaml", v2); err == nil || !strings.Contains(err.Error(), "promote or abort it first") {
		t.Errorf("second rollout: %v", err)
	}
	if _, err := c.Apply(ctx, "v3.yaml", []byte(strings.Replace(webYAML, "web:1", "web:3", 1))); err == nil || !strings.Contains(err.Error(), "promote or abort it before applying") {
		t.Errorf("apply during a canary: %v", err)
	}
	if _, err := c.EndRollout(ctx, "/shop/web", "abort"); err != nil {
		t.Fatal(err)
	}
	rec, _, _ = state.GetService(ctx, kv, "/shop/web")
	if rec.Rollout != nil || rec.Traffic != nil || rec.Version != v1.Version || rec.Spec.Image != "web:1" {
		t.Errorf("after abort: %+v", rec)
	}
	if _, err := c.EndRollout(ctx, "/shop/web", "promote"); err == nil || !strings.Contains(err.Error(), "no blue/green or canary rollout in progress") {
		t.Errorf("promote without a rollout: %v", err)
	}

	if _, err := c.StartRollout(ctx, "/shop/web", "bluegreen", 0, time.Minute, "v2.yaml", v2); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EndRollout(ctx, "/shop/web", "promote"); err == nil || !strings.Contains(err.Error(), "not all healthy yet") {
		t.Errorf("promote before the switch: %v", err)
	}
	rec, _, _ = state.GetService(ctx, kv, "/shop/web")
	if rec.Rollout == nil || rec.Rollout.Soak.D() != time.Minute || rec.Traffic.Weights[v1.Version] != 1 || len(rec.Traffic.Weights) != 1 {
		t.Errorf("blue/green started: %+v traffic %+v", rec.Rollout, rec.Traffic)
	}
}
