package spec

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/alerts"
	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/alerts/receivers/webhook"
)

// The secrets the example files refer to.
const (
	testDingTalkToken  = "tok-0123456789"
	testDingTalkSecret = "SEC-very-secret-value"
)

func setAlertEnv(t *testing.T) {
	t.Helper()
	t.Setenv("DINGTALK_TOKEN", testDingTalkToken)
	t.Setenv("DINGTALK_SECRET", testDingTalkSecret)
}

// goldenAlertDocs writes the alert documents as the API stores them.
func goldenAlertDocs(t *testing.T, path string, docs []Document) {
	t.Helper()
	js, err := json.MarshalIndent(docs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{testDingTalkToken, testDingTalkSecret} {
		if strings.Contains(string(js), s) {
			t.Errorf("stored documents hold the resolved secret %q", s)
		}
	}
	golden(t, path, append(js, '\n'))
}

func TestDesignExampleLoadsAllKinds(t *testing.T) {
	setAlertEnv(t)
	data, err := os.ReadFile("testdata/valid/design-full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := Load("design-full.yaml", data)
	if err != nil {
		t.Fatalf("does not load:\n%v", err)
	}
	var kinds []string
	for _, d := range docs {
		kinds = append(kinds, d.Kind)
	}
	if want := []string{KindService, KindAlertRule, KindReceiver}; !reflect.DeepEqual(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
	cfg, err := Alerts(docs)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rules) != 1 {
		t.Fatalf("%d rules, want 1", len(cfg.Rules))
	}
	r := cfg.Rules[0]
	want := alerts.Rule{
		Name: "container-memory", Measurement: "docker_container_mem", Field: "usage_percent",
		Where: []alerts.Matcher{alerts.MustMatcher("service", alerts.MatchEqual, "/shop/web")},
		Warn:  alerts.MustCondition("> 80"), Crit: alerts.MustCondition("> 95"),
		For: 2 * time.Minute, Notify: []string{"oncall-dingtalk", "oncall-sms"},
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("rule\n got %+v\nwant %+v", r, want)
	}
	if _, err := alerts.NewEvaluator(r, alerts.EvalOptions{}); err != nil {
		t.Errorf("the evaluator refuses the loaded rule: %v", err)
	}
	recv := cfg.Receivers["oncall-dingtalk"]
	if recv == nil || recv.Type != "dingtalk" || recv.Notifier() == nil || recv.SMS() {
		t.Fatalf("receiver %+v", recv)
	}
	if got := recv.Config["secret"]; got != "${DINGTALK_SECRET}" {
		t.Errorf("stored secret %q, want the reference as written", got)
	}
	if _, err := recv.Build(); err != nil {
		t.Errorf("rebuilding from the stored config: %v", err)
	}
}

func TestAlertRuleFields(t *testing.T) {
	src := `kind: AlertRule
name: cpu
measurement: cpu
field: usage_user
where: ["cpu=cpu-total", "host!=ci", "service=~/shop/.*", "node!~test-.*"]
groupBy: [host]
reduce: mean
window: 1m
warn: ">= 80"
warnReset: "< 70"
crit: "> 95"
critReset: "< 90"
for: 30s
keepFiringFor: 1m
deadman: 5m
flapping: {low: 0.2, high: 0.5, history: 10}
labels: {team: web, tier: 1}
annotations: {summary: "{{.Labels.host}} at {{.Value}}"}
notify: [chat]
`
	docs, err := Load("r.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r, err := docs[0].AlertRule.Rule()
	if err != nil {
		t.Fatal(err)
	}
	var where []string
	for _, m := range r.Where {
		where = append(where, m.String())
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"where", where, []string{"cpu=cpu-total", "host!=ci", "service=~/shop/.*", "node!~test-.*"}},
		{"groupBy", r.GroupBy, []string{"host"}},
		{"reduce", r.Reduce, alerts.ReduceMean},
		{"window", r.Window, time.Minute},
		{"warn", r.Warn, alerts.MustCondition(">= 80")},
		{"warnReset", *r.WarnReset, alerts.MustCondition("< 70")},
		{"critReset", *r.CritReset, alerts.MustCondition("< 90")},
		{"for", r.For, 30 * time.Second},
		{"keepFiringFor", r.KeepFiringFor, time.Minute},
		{"deadman", r.Deadman, 5 * time.Minute},
		{"flapping", *r.Flapping, alerts.Flapping{Low: 0.2, High: 0.5, History: 10}},
		{"labels", r.Labels, map[string]string{"team": "web", "tier": "1"}},
		{"annotations", r.Annotations["summary"], "{{.Labels.host}} at {{.Value}}"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestWhereMappingCarriesOperators(t *testing.T) {
	docs, err := Load("r.yaml", []byte("kind: AlertRule\nname: x\nmeasurement: m\nfield: f\nwarn: '> 1'\nwhere: {a: b, c: '!=d', e: '=~f.*', g: '!~h'}\ngroupBy: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := []string(docs[0].AlertRule.Where), []string{"a=b", "c!=d", "e=~f.*", "g!~h"}; !reflect.DeepEqual(got, want) {
		t.Errorf("where %v, want %v", got, want)
	}
	r, err := docs[0].AlertRule.Rule()
	if err != nil {
		t.Fatal(err)
	}
	if r.GroupBy == nil || len(r.GroupBy) != 0 {
		t.Errorf("groupBy: [] became %#v, want an empty non-nil list (one alert for all series)", r.GroupBy)
	}
}

func TestRouteDefaultsAndFields(t *testing.T) {
	src := `kind: Route
name: oncall
matchers: {severity: critical, team: "=~web|db"}
receivers: [chat, sms]
groupBy: [alertname, service]
groupInterval: 1m
continue: true
muteTimeIntervals:
  - {weekdays: ["saturday:sunday"], times: ["22:00-08:00"], location: Asia/Shanghai}
escalateAfter: 10m
---
kind: Route
name: rest
receivers: [chat]
`
	docs, err := Load("routes.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Alerts(docs)
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Routes[0], cfg.Routes[1]
	if a.GroupWait != nil || b.GroupWait != nil {
		t.Error("groupWait set without being written: the CRITICAL default of 0s would be lost")
	}
	if a.GroupInterval != time.Minute || a.RepeatInterval != alerts.DefaultRepeatInterval || !a.Continue || a.EscalateAfter != 10*time.Minute {
		t.Errorf("route %+v", a)
	}
	if b.GroupInterval != alerts.DefaultGroupInterval || b.Continue || len(b.Matchers) != 0 {
		t.Errorf("defaults %+v", b)
	}
	if len(a.MuteTimeIntervals) != 1 || len(a.MuteTimeIntervals[0].Weekdays) != 2 || a.MuteTimeIntervals[0].Location.String() != "Asia/Shanghai" {
		t.Errorf("mute interval %+v", a.MuteTimeIntervals)
	}
}

func TestAlertKindMessagesNameFileLineAndField(t *testing.T) {
	rule := "kind: AlertRule\nname: r\nmeasurement: m\nfield: f\n"
	route := "kind: Route\nname: rt\nreceivers: [a]\n"
	tests := []struct {
		name, src, want string
	}{
		{"bad condition", rule + "warn: '> eighty'\n", `a.yaml:5: warn: "> eighty": not a number`},
		{"no threshold", rule, `a.yaml:1: warn: a rule needs warn, crit or deadman`},
		{"reduce without window", rule + "crit: '> 1'\nreduce: max\n", `a.yaml:1: window: required (> 0) with reduce max`},
		{"bad regex in where", rule + "crit: '> 1'\nwhere:\n  - service=/a\n  - node=~(\n", "a.yaml:8: where[1]: \"node=~(\": node=~\"(\": error parsing regexp: missing closing ): `^(?:()$`"},
		{"bad flapping", rule + "crit: '> 1'\nflapping: {low: 0.6, high: 0.5}\n", `a.yaml:6: flapping: low 0.6, high 0.5: want 0 <= low < high <= 1`},
		{"number for a duration", rule + "crit: '> 1'\nfor: 60\n", `a.yaml:6: for: want a duration like 60s, got 60 (write 60s for seconds)`},
		{"unknown rule field", rule + "crit: '> 1'\nthreshold: 3\n", `a.yaml:6: unknown field "threshold"`},
		{"route without receivers", "kind: Route\nname: rt\n", `a.yaml:1: receivers: at least one receiver is required`},
		{"route bad weekday", route + "muteTimeIntervals: [{weekdays: [funday]}]\n", `a.yaml:4: muteTimeIntervals[0].weekdays[0]: "funday": want a weekday name (monday) or a range (monday:friday)`},
		{"route bad time", route + "muteTimeIntervals:\n  - times: [\"25:00-08:00\"]\n", `a.yaml:5: muteTimeIntervals[0].times[0]: "25:00-08:00": want HH:MM-HH:MM (22:00-08:00 spans midnight)`},
		{"route negative wait", route + "groupWait: -1s\n", `a.yaml:4: groupWait: -1s: must not be negative`},
		{"receiver unknown type", "kind: Receiver\nname: x\ntype: dingtlak\n", `a.yaml:3: type: unknown receiver type "dingtlak" (did you mean "dingtalk"?); known types: aliyun_sms, dingtalk, email, feishu, lark, slack, sms_http, teams, telegram, tencent_sms, twilio, webhook, wecom`},
		{"receiver unknown field", "kind: Receiver\nname: x\ntype: webhook\nurl: http://127.0.0.1/\nheader: {a: b}\n", `a.yaml:5: unknown field "header" (did you mean "headers"?)`},
		{"receiver wrong type", "kind: Receiver\nname: x\ntype: webhook\nurl: http://127.0.0.1/\nmaxAlerts: many\n", "a.yaml:5: cannot unmarshal !!str `many` into int"},
		{"receiver unset env", "kind: Receiver\nname: x\ntype: webhook\nurl: ${SWELL_TEST_UNSET_VAR}\n", `a.yaml:4: url: secret reference: environment variable SWELL_TEST_UNSET_VAR is not set`},
		{"unreadable secret file", "kind: Receiver\nname: x\ntype: webhook\nurl: http://127.0.0.1/\nheaders:\n  Authorization: file:/nonexistent/swell-token\n", `a.yaml:6: headers.Authorization: secret file /nonexistent/swell-token: open /nonexistent/swell-token: no such file or directory`},
		{"two rules one name", rule + "crit: '> 1'\n---\n" + rule + "crit: '> 1'\n", `a.yaml:8: name: AlertRule r is already defined on line 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("a.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("got  %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestEveryReceiverTypeTakesItsOwnFields(t *testing.T) {
	// Template settings are inlined into each receiver's Config: they
	// must not read as unknown fields.
	src := "kind: Receiver\nname: sms\ntype: twilio\naccountSID: AC0123\nauthToken: tok\nfrom: \"+15005550006\"\nto: [\"+8613800000000\"]\nlang: zh\ntitle: \"{{.Status}}\"\n"
	docs, err := Load("a.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !docs[0].Receiver.SMS() {
		t.Error("twilio is not an SMS receiver")
	}
}

func TestRedactedReceiverHidesLiteralSecrets(t *testing.T) {
	const token = "literal-token-123456"
	src := "kind: Receiver\nname: hook\ntype: webhook\nurl: http://127.0.0.1:9/x?token=" + token + "\nsecret: ${SWELL_TEST_HMAC}\nheaders: {Authorization: Bearer " + token + "}\nmaxAlerts: 5\n"
	t.Setenv("SWELL_TEST_HMAC", "k")
	docs, err := Load("a.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	red := docs[0].Receiver.Redacted()
	js, err := json.Marshal(red)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), token) {
		t.Errorf("redacted receiver shows the secret: %s", js)
	}
	if red.Config["secret"] != "${SWELL_TEST_HMAC}" || red.Config["maxAlerts"] != 5 {
		t.Errorf("redaction hid a reference or a plain setting: %s", js)
	}
	if docs[0].Receiver.Config["url"] == notify.Mask {
		t.Error("Redacted changed the receiver itself")
	}
	// As the server reads it back from KV: no memory of which settings
	// were secret.
	stored, _ := json.Marshal(docs[0].Receiver)
	var back Receiver
	if err := json.Unmarshal(stored, &back); err != nil {
		t.Fatal(err)
	}
	if js, _ := json.Marshal(back.Redacted()); strings.Contains(string(js), token) {
		t.Errorf("redacted stored receiver shows the secret: %s", js)
	}
	unknown := Receiver{Name: "x", Type: "pager-of-the-future", Config: map[string]any{"key": token}}
	if js, _ := json.Marshal(unknown.Redacted()); strings.Contains(string(js), token) {
		t.Errorf("receiver of an unknown type shows its settings: %s", js)
	}
}

func TestReceiverSecretsStayOutOfErrors(t *testing.T) {
	const secret = "hunter2-top-secret"
	t.Setenv("SWELL_TEST_HOOK", "ftp://user:"+secret+"@example.com/"+secret)
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{
		"kind: Receiver\nname: x\ntype: webhook\nurl: ${SWELL_TEST_HOOK}\n",
		"kind: Receiver\nname: x\ntype: webhook\nurl: file:" + file + "\n",
	} {
		_, err := Load("a.yaml", []byte(src))
		if err == nil {
			t.Fatal("a non-http URL was accepted")
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the secret: %v", err)
		}
	}
}

func TestReceiverBuildsTheRegisteredType(t *testing.T) {
	docs, err := Load("a.yaml", []byte("kind: Receiver\nname: hook\ntype: webhook\nurl: http://127.0.0.1:9/x\ntimeout: 2s\nheaders: {Authorization: Bearer t}\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := docs[0].Receiver
	if _, ok := r.Notifier().(*webhook.Receiver); !ok {
		t.Fatalf("notifier is %T, want *webhook.Receiver", r.Notifier())
	}
	var stored Receiver
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &stored); err != nil {
		t.Fatal(err)
	}
	n, err := stored.Build()
	if err != nil {
		t.Fatalf("build from stored JSON %s: %v", js, err)
	}
	if _, ok := n.(*webhook.Receiver); !ok {
		t.Errorf("rebuilt %T", n)
	}
	var se *Error
	if _, err := Load("a.yaml", []byte("kind: Receiver\nname: bad name\ntype: webhook\nurl: http://x/\n")); !errors.As(err, &se) || se.Problems[0].Field != "name" {
		t.Errorf("bad name: %v", err)
	}
}
