package telegram_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/alerts/receivers/receivertest"
	"github.com/swell-pipeline/swell/alerts/receivers/telegram"
)

const token = "123456789:AAF-b0t-t0k3n-s3cr3t"

var secrets = []string{token, "AAF-b0t-t0k3n-s3cr3t"}

func newReceiver(t *testing.T, base string, mutate func(*telegram.Config)) *telegram.Receiver {
	t.Helper()
	return receivertest.Build(t, telegram.Config{BotToken: notify.NewSecret(token), ChatID: "-1001234567890", APIURL: base}, mutate, telegram.New)
}

func TestRequestMatchesSendMessage(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*telegram.Config)
		golden string
	}{
		{name: "HTML with escaped text", golden: "html.json"},
		{name: "plain text in chinese to a topic", golden: "plain_zh.json", mutate: func(c *telegram.Config) {
			c.ParseMode, c.Lang, c.MessageThreadID, c.ChatID = "none", notify.LangZH, 42, "@swell_alerts"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := receivertest.NewServer(t, receivertest.Reply{Status: 200, Body: `{"ok":true,"result":{"message_id":7}}`})
			r := newReceiver(t, srv.URL, tt.mutate)
			n := receivertest.Sample()
			n.Alerts[0].Labels["container"] = "<web&1>"
			if retryable, err := r.Notify(t.Context(), n); err != nil {
				t.Fatalf("Notify: %v (retryable %v)", err, retryable)
			}
			req := srv.Only(t)
			if req.Method != http.MethodPost || req.Path != "/bot"+token+"/sendMessage" || req.RawQuery != "" {
				t.Errorf("request line = %s %s?%s", req.Method, req.Path, req.RawQuery)
			}
			if got := req.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
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
		wantHint      time.Duration
	}{
		{name: "ok true is success", reply: receivertest.Reply{Status: 200, Body: `{"ok":true,"result":{}}`}},
		{name: "flood control is retryable", reply: receivertest.Reply{Status: 429, Body: `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5","parameters":{"retry_after":5}}`},
			wantErr: "error_code 429: Too Many Requests: retry after 5 (retry after 5s)", wantRetryable: true, wantHint: 5 * time.Second},
		{name: "chat not found is permanent", reply: receivertest.Reply{Status: 400, Body: `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`}, wantErr: "chat not found"},
		{name: "bad token is permanent", reply: receivertest.Reply{Status: 401, Body: `{"ok":false,"error_code":401,"description":"Unauthorized"}`}, wantErr: "error_code 401"},
		{name: "bot kicked is permanent", reply: receivertest.Reply{Status: 403, Body: `{"ok":false,"error_code":403,"description":"Forbidden: bot was kicked from the group chat"}`}, wantErr: "bot was kicked"},
		{name: "gateway error page is retryable", reply: receivertest.Reply{Status: 502, Body: `<html>Bad Gateway</html>`}, wantErr: "unexpected answer: HTTP 502", wantRetryable: true},
		{name: "ok false in a 200 is a failure", reply: receivertest.Reply{Status: 200, Body: `{"ok":false,"description":"odd"}`}, wantErr: "error_code 200: odd"},
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
			if got := time.Duration(0); errors.As(err, &hint) {
				got = hint.RetryAfter()
				if got != tt.wantHint {
					t.Errorf("retry-after hint = %v, want %v", got, tt.wantHint)
				}
			} else if tt.wantHint != 0 {
				t.Errorf("no retry-after hint, want %v", tt.wantHint)
			}
			if !strings.Contains(err.Error(), "/botxxxxx/sendMessage") {
				t.Errorf("error does not show the masked endpoint: %v", err)
			}
			res, logs := receivertest.ThroughPipeline(t, r, receivertest.Sample())
			receivertest.NoSecrets(t, secrets, err.Error(), fmt.Sprintf("%+v", err), res.Err.Error(), logs)
		})
	}
}

func TestTransportErrorHidesToken(t *testing.T) {
	receivertest.TransportErrorHidesSecrets(t, func(base string) notify.Notifier { return newReceiver(t, base, nil) }, secrets)
}

func TestNewValidates(t *testing.T) {
	tok := notify.NewSecret(token)
	tests := []struct {
		name string
		c    telegram.Config
		want string
	}{
		{"no token", telegram.Config{ChatID: "1"}, "botToken is required"},
		{"no chat", telegram.Config{BotToken: tok}, "chatID is required"},
		{"markdown not offered", telegram.Config{BotToken: tok, ChatID: "1", ParseMode: "MarkdownV2"}, `parseMode "MarkdownV2"`},
		{"bad api url", telegram.Config{BotToken: tok, ChatID: "1", APIURL: "api.telegram.org"}, "is not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := telegram.New(tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			receivertest.NoSecrets(t, secrets, err.Error())
		})
	}
}
