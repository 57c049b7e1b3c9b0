package feishu_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/alerts/receivers/feishu"
	"github.com/swell-pipeline/swell/alerts/receivers/receivertest"
)

const (
	hook   = "h00k-s3cr3t-2f4e6c8a"
	secret = "f3ishu-s3cr3t"
	nowSec = "1772366400" // receivertest.Now in Unix seconds
)

var secrets = []string{hook, secret}

func newReceiver(t *testing.T, base string, lark bool, mutate func(*feishu.Config)) *feishu.Receiver {
	t.Helper()
	c := feishu.Config{
		URL:    notify.NewSecret(base + "/open-apis/bot/v2/hook/" + hook),
		Secret: notify.NewSecret(secret),
		Clock:  receivertest.Clock{},
	}
	if mutate != nil {
		mutate(&c)
	}
	build := feishu.New
	if lark {
		build = feishu.NewLark
	}
	r, err := build(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSignKnownAnswer(t *testing.T) {
	// Computed outside Go (Python hmac with key timestamp+"\n"+secret over
	// b""), as Feishu describes the signature.
	const want = "0O9GLgHny3pjQ67ufb3TanCOTKZVDIMkXgMkmP5Yh/o="
	if got := feishu.Sign(1772366400, secret); got != want {
		t.Fatalf("sign = %s, want %s", got, want)
	}
}

func TestRequestMatchesFeishuAPI(t *testing.T) {
	tests := []struct {
		name   string
		lark   bool
		mutate func(*feishu.Config)
		golden string
		signed bool
	}{
		{name: "signed interactive card", golden: "interactive.json", signed: true},
		{name: "signed text in chinese mentioning all", golden: "text_zh.json", signed: true, mutate: func(c *feishu.Config) {
			c.MsgType, c.Lang, c.AtAll = "text", notify.LangZH, true
		}},
		{name: "lark alias sends the same body", lark: true, golden: "interactive.json", signed: true},
		{name: "unsigned without a secret", golden: "interactive_unsigned.json", mutate: func(c *feishu.Config) { c.Secret = notify.Secret{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := receivertest.NewServer(t, receivertest.Reply{Status: 200, Body: `{"code":0,"data":{},"msg":"success"}`})
			r := newReceiver(t, srv.URL, tt.lark, tt.mutate)
			if retryable, err := r.Notify(t.Context(), receivertest.Sample()); err != nil {
				t.Fatalf("Notify: %v (retryable %v)", err, retryable)
			}
			req := srv.Only(t)
			if req.Method != http.MethodPost || req.Path != "/open-apis/bot/v2/hook/"+hook || req.RawQuery != "" {
				t.Errorf("request line = %s %s?%s", req.Method, req.Path, req.RawQuery)
			}
			if got := req.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			var got struct {
				Timestamp string `json:"timestamp"`
				Sign      string `json:"sign"`
			}
			if err := json.Unmarshal(req.Body, &got); err != nil {
				t.Fatal(err)
			}
			if tt.signed {
				// Key = timestamp + "\n" + secret, message empty.
				mac := hmac.New(sha256.New, []byte(nowSec+"\n"+secret))
				want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
				if got.Timestamp != nowSec || got.Sign != want {
					t.Errorf("timestamp/sign = %s/%s, want %s/%s", got.Timestamp, got.Sign, nowSec, want)
				}
			} else if got.Timestamp != "" || got.Sign != "" {
				t.Errorf("unsigned request carries timestamp %q sign %q", got.Timestamp, got.Sign)
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
		{name: "code 0 is success", reply: receivertest.Reply{Status: 200, Body: `{"code":0,"msg":"success"}`}},
		{name: "older StatusCode 0 is success", reply: receivertest.Reply{Status: 200, Body: `{"Extra":null,"StatusCode":0,"StatusMessage":"success"}`}},
		{name: "sign mismatch in a 200 is a permanent failure", reply: receivertest.Reply{Status: 200, Body: `{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}`},
			wantErr: "code 19021: sign match fail"},
		{name: "frequency limit is retryable", reply: receivertest.Reply{Status: 200, Body: `{"code":11232,"msg":"frequency limited"}`}, wantErr: "code 11232", wantRetryable: true},
		{name: "keyword filter is permanent", reply: receivertest.Reply{Status: 200, Body: `{"code":19024,"msg":"Key Words Not Found"}`}, wantErr: "code 19024"},
		{name: "200 without a code is a failure", reply: receivertest.Reply{Status: 200, Body: `ok`}, wantErr: "unexpected answer"},
		{name: "HTTP 500 is retryable", reply: receivertest.Reply{Status: 500, Body: "/open-apis/bot/v2/hook/" + hook}, wantErr: "HTTP 500", wantRetryable: true},
		{name: "HTTP 400 is permanent", reply: receivertest.Reply{Status: 400}, wantErr: "HTTP 400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := receivertest.NewServer(t, tt.reply)
			r := newReceiver(t, srv.URL, false, nil)
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

func TestTransportErrorHidesHook(t *testing.T) {
	srv := receivertest.NewServer(t)
	base := srv.URL
	srv.Close()
	for _, lark := range []bool{false, true} {
		r := newReceiver(t, base, lark, nil)
		retryable, err := r.Notify(t.Context(), receivertest.Sample())
		if err == nil || !retryable {
			t.Fatalf("err = %v, retryable = %v; want retryable", err, retryable)
		}
		want := map[bool]string{false: "feishu: POST http://127.0.0.1:", true: "lark: POST http://127.0.0.1:"}[lark]
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("err = %v, want prefix %q", err, want)
		}
		_, logs := receivertest.ThroughPipeline(t, r, receivertest.Sample())
		receivertest.NoSecrets(t, secrets, err.Error(), logs)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		c    feishu.Config
		want string
	}{
		{"missing url", feishu.Config{}, "feishu: url is required"},
		{"not a URL", feishu.Config{URL: notify.NewSecret("open.feishu.cn/hook")}, "is not an http(s) URL"},
		{"unknown msgType", feishu.Config{URL: notify.NewSecret("https://open.feishu.cn/x"), MsgType: "post"}, `msgType "post"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := feishu.New(tt.c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
