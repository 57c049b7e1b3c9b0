package slack_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/alerts/receivers/receivertest"
	"github.com/swell-pipeline/swell/alerts/receivers/slack"
)

const hookPath = "/services/T0000/B0000/sl4ck-s3cr3t-XXXXXXXX"

var secrets = []string{"sl4ck-s3cr3t-XXXXXXXX"}

func newReceiver(t *testing.T, base string, mutate func(*slack.Config)) *slack.Receiver {
	t.Helper()
	return receivertest.Build(t, slack.Config{URL: notify.NewSecret(base + hookPath)}, mutate, slack.New)
}

func TestRequestMatchesSlackWebhook(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*slack.Config)
		golden string
	}{
		{name: "blocks with a section per alert", golden: "blocks.json"},
		{name: "chinese", golden: "blocks_zh.json", mutate: func(c *slack.Config) { c.Lang = notify.LangZH }},
		{name: "custom body in one section", golden: "custom.json", mutate: func(c *slack.Config) {
			c.Body = `{{len .Alerts.Firing}} firing in {{.CommonLabels.service}}`
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := receivertest.NewServer(t, receivertest.Reply{Status: 200, Body: "ok", Header: map[string]string{"Content-Type": "text/html"}})
			r := newReceiver(t, srv.URL, tt.mutate)
			if retryable, err := r.Notify(t.Context(), receivertest.Sample()); err != nil {
				t.Fatalf("Notify: %v (retryable %v)", err, retryable)
			}
			req := srv.Only(t)
			if req.Method != http.MethodPost || req.Path != hookPath || req.RawQuery != "" {
				t.Errorf("request line = %s %s?%s", req.Method, req.Path, req.RawQuery)
			}
			if got := req.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			var m struct {
				Text   string           `json:"text"`
				Blocks []map[string]any `json:"blocks"`
			}
			if err := json.Unmarshal(req.Body, &m); err != nil || m.Text == "" || len(m.Blocks) < 2 || m.Blocks[0]["type"] != "header" {
				t.Errorf("not a Block Kit message with fallback text and a header: %s (%v)", req.Body, err)
			}
			receivertest.Golden(t, tt.golden, req.Body)
		})
	}
}

func TestManyAlertsStayWithinBlockLimit(t *testing.T) {
	n := receivertest.Sample()
	for len(n.Alerts) < 60 {
		n.Alerts = append(n.Alerts, n.Alerts[0])
	}
	r := newReceiver(t, "https://hooks.slack.com", nil)
	b, err := r.Body(n)
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Blocks []json.RawMessage }
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Blocks) > 50 || !strings.Contains(string(b), "+15 more") {
		t.Fatalf("%d blocks; overflow note present: %v", len(m.Blocks), strings.Contains(string(b), "+15 more"))
	}
}

func TestAnswers(t *testing.T) {
	tests := []struct {
		name          string
		reply         receivertest.Reply
		wantErr       string
		wantRetryable bool
	}{
		{name: "200 ok is success", reply: receivertest.Reply{Status: 200, Body: "ok"}},
		{name: "invalid_payload is permanent", reply: receivertest.Reply{Status: 400, Body: "invalid_payload"}, wantErr: "HTTP 400 Bad Request: invalid_payload"},
		{name: "invalid_token is permanent", reply: receivertest.Reply{Status: 403, Body: "invalid_token"}, wantErr: "invalid_token"},
		{name: "no_service is permanent", reply: receivertest.Reply{Status: 404, Body: "no_service"}, wantErr: "no_service"},
		{name: "channel_is_archived is permanent", reply: receivertest.Reply{Status: 410, Body: "channel_is_archived"}, wantErr: "channel_is_archived"},
		{name: "rate limited is retryable", reply: receivertest.Reply{Status: 429, Body: "rate_limited", Header: map[string]string{"Retry-After": "1"}}, wantErr: "HTTP 429", wantRetryable: true},
		{name: "rollup_error is retryable", reply: receivertest.Reply{Status: 500, Body: "rollup_error"}, wantErr: "rollup_error", wantRetryable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := receivertest.NewServer(t, tt.reply)
			r := newReceiver(t, srv.URL, nil)
			retryable, err := r.Notify(t.Context(), receivertest.Sample())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || retryable != tt.wantRetryable {
				t.Fatalf("err = %v, retryable = %v; want %q, retryable %v", err, retryable, tt.wantErr, tt.wantRetryable)
			}
			var hint interface{ RetryAfter() time.Duration }
			if tt.reply.Header["Retry-After"] != "" && (!errors.As(err, &hint) || hint.RetryAfter() != time.Second) {
				t.Errorf("Retry-After: 1 not kept as a hint: %v", err)
			}
			res, logs := receivertest.ThroughPipeline(t, r, receivertest.Sample())
			receivertest.NoSecrets(t, secrets, err.Error(), fmt.Sprintf("%+v", err), res.Err.Error(), logs)
		})
	}
}

func TestTransportErrorHidesWebhookPath(t *testing.T) {
	receivertest.TransportErrorHidesSecrets(t, func(base string) notify.Notifier { return newReceiver(t, base, nil) }, secrets)
}

func TestNewValidates(t *testing.T) {
	for name, c := range map[string]slack.Config{
		"missing url": {},
		"not a URL":   {URL: notify.NewSecret("hooks.slack.com/services/x")},
		"bad title":   {URL: notify.NewSecret("https://hooks.slack.com/x"), TemplateConfig: notify.TemplateConfig{Title: "{{"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := slack.New(c); err == nil || !strings.HasPrefix(err.Error(), "slack: ") {
				t.Fatalf("err = %v, want a slack: error", err)
			}
		})
	}
}

func TestLabelValuesCannotMentionOrLink(t *testing.T) {
	n := receivertest.Sample()
	n.Alerts[0].Annotations["summary"] = "<!channel> & <https://evil.example|click>"
	r := newReceiver(t, "https://hooks.slack.com", nil)
	b, err := r.Body(n)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "<!channel>") || !strings.Contains(string(b), "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;") {
		t.Fatalf("summary not escaped for mrkdwn: %s", b)
	}
}
