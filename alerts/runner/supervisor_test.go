package runner

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/spec"
)

func alertsKV(t *testing.T) (jetstream.JetStream, jetstream.KeyValue) {
	t.Helper()
	ns := testenv.NATS(t)
	_, js := testenv.Connect(t, ns.ClientURL())
	if err := bus.EnsureStreams(t.Context(), js, bus.StreamLimits{}); err != nil {
		t.Fatal(err)
	}
	if err := bus.EnsureKV(t.Context(), js, 1); err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(t.Context(), bus.BucketAlerts)
	if err != nil {
		t.Fatal(err)
	}
	return js, kv
}

// applyYAML stores a file's alert documents as the API does.
func applyYAML(t *testing.T, kv jetstream.KeyValue, text string) []string {
	t.Helper()
	docs, err := spec.Load("alerts.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	actions, err := StoreDefs(t.Context(), kv, docs, time.Now().UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	return actions
}

func alertDocs(hookURL, crit string) string {
	return fmt.Sprintf(`kind: AlertRule
name: container-memory
measurement: docker_container_mem
field: usage_percent
where: {service: /shop/web}
warn: "> 80"
crit: %q
groupBy: [container]
---
kind: Receiver
name: hook
type: webhook
url: %s
---
kind: Route
name: web
matchers: {alertname: container-memory}
receivers: [hook]
groupBy: [container]
groupWait: 0s
groupInterval: 1s
`, crit, hookURL)
}

func TestSupervisorRunsAppliedRulesAndReloadsWithoutRenotifying(t *testing.T) {
	js, kv := alertsKV(t)
	h := newHook(t)
	if got := applyYAML(t, kv, alertDocs(h.srv.URL, "> 95")); fmt.Sprint(got) != "[created created created]" {
		t.Fatalf("first apply: %v", got)
	}
	reg := prometheus.NewRegistry()
	sup, err := NewSupervisor(SupervisorOptions{JS: js, NoBuiltin: true, Registerer: reg, TickInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	// The runner starts from new messages: publish until it fires.
	deadline := time.Now().Add(10 * time.Second)
	for len(h.summary()) == 0 && time.Now().Before(deadline) {
		publish(t, js, "c1", 97)
		time.Sleep(100 * time.Millisecond)
	}
	h.waitFor(t, 1)
	if got := h.summary(); fmt.Sprint(got) != "[[firing:c1]]" {
		t.Fatalf("notifications %v, want one firing c1", got)
	}
	if a := sup.Active(); len(a) != 1 || a[0].Labels["container"] != "c1" {
		t.Errorf("Active = %+v, want c1", a)
	}

	// Re-applying the same file changes nothing and restarts nothing.
	if got := applyYAML(t, kv, alertDocs(h.srv.URL, "> 95")); fmt.Sprint(got) != "[unchanged unchanged unchanged]" {
		t.Fatalf("second apply: %v", got)
	}
	// A new threshold reloads the runner; c1 still fires (97 > 96), so
	// nothing is sent again.
	applyYAML(t, kv, alertDocs(h.srv.URL, "> 96"))
	for range 10 {
		publish(t, js, "c1", 97)
		time.Sleep(100 * time.Millisecond)
	}
	if got := h.summary(); len(got) != 1 {
		t.Fatalf("after reload with c1 still firing: %v, want no new notification", got)
	}
	// The reloaded runner carries c1's state on: it resolves it.
	deadline = time.Now().Add(10 * time.Second)
	for len(h.summary()) < 2 && time.Now().Before(deadline) {
		publish(t, js, "c1", 50)
		time.Sleep(100 * time.Millisecond)
	}
	h.waitFor(t, 2)
	if got := h.summary(); fmt.Sprint(got[1]) != "[resolved:c1]" {
		t.Errorf("notifications %v, want c1 resolved second", got)
	}

	// Deleting the route leaves the rule with nowhere to send.
	if ok, err := DeleteDef(t.Context(), kv, DefRoute, "web"); err != nil || !ok {
		t.Fatalf("DeleteDef = %v, %v", ok, err)
	}
	defs, err := LoadDefs(t.Context(), kv)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(defs.Names(DefRoute), defs.Names(DefRule), defs.Names(DefReceiver)) != "[] [container-memory] [hook]" {
		t.Errorf("stored after delete: routes %v rules %v receivers %v", defs.Names(DefRoute), defs.Names(DefRule), defs.Names(DefReceiver))
	}
}
