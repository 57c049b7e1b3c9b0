package dingtalk_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/alerts/receivers/dingtalk"
	"github.com/swell-pipeline/swell/alerts/receivers/receivertest"
)

const (
	token  = "t0k3n-s3cr3t-0123456789"
	secret = "SECd1ngt4lk-s3cr3t"
	// receivertest.Now in Unix milliseconds.
	nowMillis = "1772366400000"
)

var secrets = []string{token, secret}

func newReceiver(t *testing.T, base string, mutate func(*dingtalk.Config)) *dingtalk.Receiver {
	t.Helper()
	c := dingtalk.Config{
		URL:       notify.NewSecret(base + "/robot/send?access_token=" + token),
		Secret:    notify.NewSecret(secret),
		AtMobiles: []string{"13800000000"},
		Clock:     receivertest.Clock{},
	}
	if mutate != nil {
		mutate(&c)
	}
	r, err := dingtalk.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSignKnownAnswer(t *testing.T) {
	// Computed outside Go (Python hmac/base64/quote_plus) for this timestamp
	// and secret, following DingTalk's description of the signature.
	const want = "%2B3UVMEJ8Cm3O%2BHaFPCW%2Bjvw7SuZ2THORzlT0x6%2Fv3iY%3D"
	if got := url.QueryEscape(dingtalk.Sign(1772366400000, secret)); got != want {
		t.Fatalf("sign = %s, want %s", got, want)
	}
}

func TestRequestMatchesDingTalkAPI(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*dingtalk.Config)
		golden string
		signed bool
	}{
		{name: "signed markdown with a mention", golden: "markdown.json", signed: true},
		{name: "text in chinese mentioning everyone", golden: "text_zh.json", signed: true, mutate: func(c *dingtalk.Config) {
			c.MsgType, c.Lang, c.AtMobiles, c.AtAll = "text", notify.LangZH, nil, true
		}},
		{name: "unsigned without a secret", golden: "markdown_unsigned.json", mutate: func(c *dingtalk.Config) {
			c.Secret, c.AtMobiles = notify.Secret{}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := receivertest.NewServer(t, receivertest.Reply{Status: 200, Body: `{"errcode":0,"errmsg":"ok"}`})
			r := newReceiver(t, srv.URL, tt.mutate)
			if retryable, err := r.Notify(t.Context(), receivertest.Sample()); err != nil {
				t.Fatalf("Notify: %v (retryable %v)", err, retryable)
			}
			req := srv.Only(t)
			if req.Method != http.MethodPost || req.Path != "/robot/send" {
				t.Errorf("request line = %s %s", req.Method, req.Path)
			}
			if got := req.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			wantQuery := "access_token=" + token
			if tt.signed {
				mac := hmac.New(sha256.New, []byte(secret))
				mac.Write([]byte(nowMillis + "\n" + secret))
				wantQuery += "&timestamp=" + nowMillis + "&sign=" + url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
			}
			if req.RawQuery != wantQuery {
				t.Errorf("query = %s, want %s", req.RawQuery, wantQuery)
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
		{name: "errcode 0 is success", reply: receivertest.Reply{Status: 200, Body: `{"errcode":0,"errmsg":"ok"}`}},
		{name: "rate limit errcode is a retryable failure", reply: receivertest.Reply{Status: 200, Body: `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`},
			wantErr: "errcode 130101: send too fast", wantRetryable: true},
		{name: "system busy is retryable", reply: receivertest.Reply{Status: 200, Body: `{"errcode":-1,"errmsg":"系统繁忙"}`}, wantErr: "errcode -1", wantRetryable: true},
		{name: "bad signature in a 200 is a permanent failure", reply: receivertest.Reply{Status: 200, Body: `{"errcode":310000,"errmsg":"sign not match, more: [` + secret + `]"}`},
			wantErr: "errcode 310000: sign not match"},
		{name: "invalid token is permanent", reply: receivertest.Reply{Status: 200, Body: `{"errcode":300001,"errmsg":"token is not exist"}`}, wantErr: "errcode 300001"},
		{name: "200 without errcode is a failure", reply: receivertest.Reply{Status: 200, Body: `<html>portal</html>`}, wantErr: "unexpected answer"},
		{name: "HTTP 502 is retryable", reply: receivertest.Reply{Status: 502, Body: "bad gateway"}, wantErr: "HTTP 502", wantRetryable: true},
		{name: "HTTP 404 is permanent", reply: receivertest.Reply{Status: 404}, wantErr: "HTTP 404"},
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
			sign := srv.Requests()[0].RawQuery
			sign = sign[strings.Index(sign, "sign=")+5:]
			receivertest.NoSecrets(t, append(secrets, sign), err.Error(), fmt.Sprintf("%+v", err), res.Err.Error(), logs)
		})
	}
}

func TestTransportErrorHidesTokenAndSignature(t *testing.T) {
	srv := receivertest.NewServer(t)
	base := srv.URL
	srv.Close()
	r := newReceiver(t, base, nil)
	retryable, err := r.Notify(t.Context(), receivertest.Sample())
	if err == nil || !retryable {
		t.Fatalf("err = %v, retryable = %v; want retryable", err, retryable)
	}
	sign := url.QueryEscape(dingtalk.Sign(1772366400000, secret))
	_, logs := receivertest.ThroughPipeline(t, r, receivertest.Sample())
	receivertest.NoSecrets(t, append(secrets, sign), err.Error(), logs)
	if !strings.Contains(err.Error(), "dingtalk: POST http://127.0.0.1:") {
		t.Errorf("error does not name the host: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		c    dingtalk.Config
		want string
	}{
		{"missing url", dingtalk.Config{}, "url is required"},
		{"no access token", dingtalk.Config{URL: notify.NewSecret("https://oapi.dingtalk.com/robot/send")}, "has no access_token"},
		{"unknown msgType", dingtalk.Config{URL: notify.NewSecret("https://o/robot/send?access_token=x"), MsgType: "card"}, `msgType "card"`},
		{"bad template", dingtalk.Config{URL: notify.NewSecret("https://o/robot/send?access_token=x"), TemplateConfig: notify.TemplateConfig{Body: "{{"}}, "template: body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := dingtalk.New(tt.c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
