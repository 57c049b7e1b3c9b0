package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/alerts"
	"github.com/swell-pipeline/swell/alerts/runner"
	"github.com/swell-pipeline/swell/internal/bus"
)

func TestAlertDocumentsApplyListAndDelete(t *testing.T) {
	c, _ := startServices(t)
	ctx := t.Context()
	var hits atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(b), `"alertname":"swell-test"`) {
			t.Errorf("test notification body %s", b)
		}
		hits.Add(1)
		fmt.Fprint(w, `{"ok":true}`)
	}))
	t.Cleanup(hook.Close)
	file := webYAML + `---
kind: AlertRule
name: web-memory
measurement: docker_container_mem
field: usage_percent
where: {service: /shop/web}
crit: "> 95"
notify: [hook]
---
kind: Receiver
name: hook
type: webhook
url: ` + hook.URL + `
headers: {X-Token: literal-secret-value}
---
kind: Route
name: builtin
matchers: {builtin: "true"}
receivers: [hook]
`
	res, err := c.Apply(ctx, "all.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res {
		got = append(got, r.Kind+" "+r.ID+" "+r.Action)
	}
	if want := "[Service /shop/web created AlertRule web-memory created Receiver hook created Route builtin created]"; fmt.Sprint(got) != want {
		t.Errorf("apply results %v, want %s", got, want)
	}
	// A rule applied later may name the stored receiver.
	if _, err := c.Apply(ctx, "more.yaml", []byte("kind: AlertRule\nname: other\nmeasurement: m\nfield: f\nwarn: \"> 1\"\nnotify: [hook]\n")); err != nil {
		t.Fatalf("rule naming a stored receiver: %v", err)
	}

	d, err := c.AlertDefs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Rules) != 2 || len(d.Routes) != 1 || len(d.Receivers) != 1 || !slices.Contains(d.Builtin, "node-lost") {
		t.Fatalf("defs %+v", d)
	}
	b, _ := json.Marshal(d)
	if strings.Contains(string(b), "literal-secret-value") {
		t.Errorf("GET /v1/alerting shows a secret: %s", b)
	}

	tr, err := c.TestReceiver(ctx, "hook")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Status != 200 || tr.Answer != `{"ok":true}` || hits.Load() != 1 {
		t.Errorf("test result %+v after %d requests", tr, hits.Load())
	}
	if _, err := c.TestReceiver(ctx, "nobody"); err == nil || !strings.Contains(err.Error(), "no receiver nobody") {
		t.Errorf("test of an unknown receiver: %v", err)
	}

	if err := c.DeleteAlertDef(ctx, "rule", "other"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteAlertDef(ctx, "rule", "other"); err == nil || !strings.Contains(err.Error(), "no rule other") {
		t.Errorf("second delete: %v", err)
	}
	if d, _ := c.AlertDefs(ctx); len(d.Rules) != 1 {
		t.Errorf("rules after delete: %+v", d.Rules)
	}
}

func TestSilencesAndAlertsFromCheckpoints(t *testing.T) {
	c, js := startServices(t)
	ctx := t.Context()
	kv, err := js.KeyValue(ctx, bus.BucketAlerts)
	if err != nil {
		t.Fatal(err)
	}
	// What a runner checkpoints for a rule with one firing and one OK series.
	since := time.Now().Add(-time.Minute).UTC()
	snap := alerts.Snapshot{Version: alerts.SnapshotVersion, Rule: "node-lost", Series: []alerts.SeriesSnapshot{
		{Key: "a", Tags: map[string]string{"node": "n3"}, State: alerts.Critical, Since: since, Value: 0},
		{Key: "b", Tags: map[string]string{"node": "n1"}, State: alerts.OK, Value: 1},
	}}
	b, _ := json.Marshal(snap)
	if _, err := kv.Put(ctx, runner.RuleKey("node-lost"), b); err != nil {
		t.Fatal(err)
	}

	for _, bad := range []SilenceRequest{
		{Duration: time.Hour},
		{Matchers: []string{"node=n3"}},
		{Matchers: []string{"node"}, Duration: time.Hour},
	} {
		if _, err := c.Silence(ctx, bad); err == nil {
			t.Errorf("silence %+v accepted", bad)
		}
	}
	s, err := c.Silence(ctx, SilenceRequest{Matchers: []string{"alertname=node-lost", "node=~n[0-9]"}, Duration: time.Hour, Comment: "rack work"})
	if err != nil {
		t.Fatal(err)
	}
	if s.State != "active" || len(s.Matchers) != 2 {
		t.Errorf("silence %+v", s)
	}
	as, err := c.Alerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Rule != "node-lost" || as[0].State != "CRITICAL" || as[0].Labels["node"] != "n3" ||
		!as[0].Since.Equal(since) || fmt.Sprint(as[0].Silenced) != fmt.Sprintf("[%s]", s.ID) {
		t.Errorf("alerts %+v", as)
	}
	if err := c.ExpireSilence(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.ExpireSilence(ctx, "nope"); err == nil || !strings.Contains(err.Error(), "no silence nope") {
		t.Errorf("expire unknown: %v", err)
	}
	sils, err := c.Silences(ctx)
	if err != nil || len(sils) != 1 || sils[0].State != "expired" {
		t.Errorf("silences %+v, %v", sils, err)
	}
	if as, _ := c.Alerts(ctx); len(as) != 1 || len(as[0].Silenced) != 0 {
		t.Errorf("alerts after expiry %+v", as)
	}
}
