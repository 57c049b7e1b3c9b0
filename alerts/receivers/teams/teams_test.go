package teams_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/alerts/receivers/receivertest"
	"github.com/swell-pipeline/swell/alerts/receivers/teams"
)

const (
	flowPath = "/workflows/0a1b2c3d/triggers/manual/paths/invoke"
	sig      = "s1g-s3cr3t-AbCdEf0123456789"
)

var secrets = []string{sig}

func newReceiver(t *testing.T, base string, mutate func(*teams.Config)) *teams.Receiver {
	t.Helper()
	return receivertest.Build(t, teams.Config{URL: notify.NewSecret(base + flowPath + "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + sig)}, mutate, teams.New)
}

func TestRequestIsAnAdaptiveCardForWorkflows(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*teams.Config)
		golden string
	}{
		{name: "card with a container per alert", golden: "adaptive_card.json"},
		{name: "chinese", golden: "adaptive_card_zh.json", mutate: func(c *teams.Config) { c.Lang = notify.LangZH }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := receivertest.NewServer(t, receivertest.Reply{Status: 202})
			r := newReceiver(t, srv.URL, tt.mutate)
			if retryable, err := r.Notify(t.Context(), receivertest.Sample()); err != nil {
				t.Fatalf("Notify: %v (retryable %v)", err, retryable)
			}
			req := srv.Only(t)
			if req.Method != http.MethodPost || req.Path != flowPath || !strings.HasSuffix(req.RawQuery, "&sig="+sig) {
				t.Errorf("request line = %s %s?%s", req.Method, req.Path, req.RawQuery)
			}
			if got := req.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			var env struct {
				Type        string
				Attachments []struct {
					ContentType string
					ContentURL  *string `json:"contentUrl"`
					Content     struct {
						Type, Version string
						Body          []json.RawMessage
					}
				}
			}
			if err := json.Unmarshal(req.Body, &env); err != nil {
				t.Fatal(err)
			}
			if env.Type != "message" || len(env.Attachments) != 1 || env.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" ||
				env.Attachments[0].Content.Type != "AdaptiveCard" || len(env.Attachments[0].Content.Body) != 3 {
				t.Errorf("not a Workflows message with one Adaptive Card: %s", req.Body)
			}
			receivertest.Golden(t, tt.golden, req.Body)
		})
	}
}

func TestAnswers(t *testing.T) {
	tests := []struct {
		name          string
		reply         receivertest.Reply
		wantErr       string
		wantRetryable bool
	}{
		{name: "202 is success", reply: receivertest.Reply{Status: 202}},
		{name: "200 is success", reply: receivertest.Reply{Status: 200}},
		{name: "bad request is permanent", reply: receivertest.Reply{Status: 400, Body: `{"error":{"code":"InvalidRequestContent"}}`}, wantErr: "InvalidRequestContent"},
		{name: "bad signature is permanent", reply: receivertest.Reply{Status: 401, Body: `{"error":{"code":"DirectApiAuthorizationRequired","message":"sig=` + sig + `"}}`}, wantErr: "HTTP 401"},
		{name: "throttled is retryable", reply: receivertest.Reply{Status: 429}, wantErr: "HTTP 429", wantRetryable: true},
		{name: "server error is retryable", reply: receivertest.Reply{Status: 502}, wantErr: "HTTP 502", wantRetryable: true},
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
			res, logs := receivertest.ThroughPipeline(t, r, receivertest.Sample())
			receivertest.NoSecrets(t, secrets, err.Error(), fmt.Sprintf("%+v", err), res.Err.Error(), logs)
		})
	}
}

func TestTransportErrorHidesSignature(t *testing.T) {
	receivertest.TransportErrorHidesSecrets(t, func(base string) notify.Notifier { return newReceiver(t, base, nil) }, secrets)
}

func TestNewValidates(t *testing.T) {
	for name, c := range map[string]teams.Config{
		"missing url": {},
		"not a URL":   {URL: notify.NewSecret("prod-00.westus.logic.azure.com/workflows")},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := teams.New(c); err == nil || !strings.HasPrefix(err.Error(), "teams: ") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
