package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/alerts/receivers/receivertest"
	"github.com/swell-pipeline/swell/alerts/receivers/webhook"
)

const (
	hmacKey = "hm4c-k3y-s3cr3t"
	bearer  = "Bearer t0k3n-s3cr3t"
)

func newReceiver(t *testing.T, url string, mutate func(*webhook.Config)) *webhook.Receiver {
	t.Helper()
	c := webhook.Config{
		URL:     notify.NewSecret(url + "/hooks/alerts?token=qu3ry-s3cr3t"),
		Secret:  notify.NewSecret(hmacKey),
		Headers: map[string]notify.Secret{"Authorization": notify.NewSecret(bearer), "X-Team": notify.NewSecret("sre")},
	}
	if mutate != nil {
		mutate(&c)
	}
	r, err := webhook.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var secrets = []string{hmacKey, "t0k3n-s3cr3t", "qu3ry-s3cr3t"}

func TestRequestMatchesAlertmanagerV4(t *testing.T) {
	tests := []struct {
		name      string
		maxAlerts int
		golden    string
	}{
		{name: "all alerts", golden: "v4.json"},
		{name: "truncated to one alert", maxAlerts: 1, golden: "v4_truncated.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := receivertest.NewServer(t)
			r := newReceiver(t, srv.URL, func(c *webhook.Config) { c.MaxAlerts = tt.maxAlerts })
			if retryable, err := r.Notify(t.Context(), receivertest.Sample()); err != nil {
				t.Fatalf("Notify: %v (retryable %v)", err, retryable)
			}
			req := srv.Only(t)
			if req.Method != http.MethodPost || req.Path != "/hooks/alerts" || req.RawQuery != "token=qu3ry-s3cr3t" {
				t.Errorf("request line = %s %s?%s", req.Method, req.Path, req.RawQuery)
			}
			for k, want := range map[string]string{"Content-Type": "application/json", "Authorization": bearer, "X-Team": "sre", "User-Agent": notify.UserAgent} {
				if got := req.Header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			mac := hmac.New(sha256.New, []byte(hmacKey))
			mac.Write(req.Body)
			if got, want := req.Header.Get("X-Swell-Signature"), "sha256="+hex.EncodeToString(mac.Sum(nil)); got != want {
				t.Errorf("signature = %q, want %q", got, want)
			}
			receivertest.Golden(t, tt.golden, req.Body)
		})
	}
}

func TestNoSignatureWithoutSecret(t *testing.T) {
	srv := receivertest.NewServer(t)
	r := newReceiver(t, srv.URL, func(c *webhook.Config) { c.Secret = notify.Secret{}; c.SignatureHeader = "X-Sig" })
	if _, err := r.Notify(t.Context(), receivertest.Sample()); err != nil {
		t.Fatal(err)
	}
	if h := srv.Only(t).Header; h.Get("X-Sig") != "" || h.Get("X-Swell-Signature") != "" {
		t.Fatalf("unsigned receiver sent a signature: %v", h)
	}
}

func TestErrorAnswers(t *testing.T) {
	tests := []struct {
		name          string
		reply         receivertest.Reply
		wantErr       bool
		wantRetryable bool
		wantText      string
	}{
		{name: "204 is success", reply: receivertest.Reply{Status: 204}},
		{name: "500 is retryable", reply: receivertest.Reply{Status: 500, Body: "boom"}, wantErr: true, wantRetryable: true, wantText: "HTTP 500 Internal Server Error: boom"},
		{name: "503 is retryable", reply: receivertest.Reply{Status: 503}, wantErr: true, wantRetryable: true, wantText: "HTTP 503"},
		{name: "429 is retryable", reply: receivertest.Reply{Status: 429}, wantErr: true, wantRetryable: true, wantText: "HTTP 429"},
		{name: "400 is permanent", reply: receivertest.Reply{Status: 400, Body: `{"error":"bad"}`}, wantErr: true, wantText: `HTTP 400 Bad Request: {"error":"bad"}`},
		{name: "401 echoing the token is permanent and redacted", reply: receivertest.Reply{Status: 401, Body: "bad token qu3ry-s3cr3t / " + bearer}, wantErr: true, wantText: "HTTP 401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := receivertest.NewServer(t, tt.reply)
			r := newReceiver(t, srv.URL, nil)
			retryable, err := r.Notify(t.Context(), receivertest.Sample())
			if (err != nil) != tt.wantErr || retryable != tt.wantRetryable {
				t.Fatalf("err = %v, retryable = %v; want error %v, retryable %v", err, retryable, tt.wantErr, tt.wantRetryable)
			}
			if err == nil {
				return
			}
			if !strings.Contains(err.Error(), tt.wantText) || !strings.Contains(err.Error(), "webhook: POST http://127.0.0.1:") {
				t.Errorf("err = %q, want it to name the host and contain %q", err, tt.wantText)
			}
			res, logs := receivertest.ThroughPipeline(t, r, receivertest.Sample())
			receivertest.NoSecrets(t, secrets, err.Error(), fmt.Sprintf("%+v", err), res.Err.Error(), logs)
		})
	}
}

func TestConnectionRefusedIsRetryableAndRedacted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := newReceiver(t, "http://"+addr, nil)
	retryable, err := r.Notify(t.Context(), receivertest.Sample())
	if err == nil || !retryable {
		t.Fatalf("err = %v, retryable = %v; want a retryable error", err, retryable)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("cause lost: %v", err)
	}
	_, logs := receivertest.ThroughPipeline(t, r, receivertest.Sample())
	receivertest.NoSecrets(t, secrets, err.Error(), logs)
	if !strings.Contains(logs, "result=failed") {
		t.Errorf("pipeline log does not record the failure:\n%s", logs)
	}
}

func TestConfigNeverShowsSecrets(t *testing.T) {
	c := webhook.Config{URL: notify.NewSecret("https://h.example/x?token=qu3ry-s3cr3t"), Secret: notify.NewSecret(hmacKey),
		Headers: map[string]notify.Secret{"Authorization": notify.NewSecret(bearer)}}
	receivertest.NoSecrets(t, secrets, fmt.Sprintf("%v %+v %#v", c, c, c))
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		c    webhook.Config
		want string
	}{
		{"missing url", webhook.Config{}, "webhook: url is required"},
		{"not http", webhook.Config{URL: notify.NewSecret("ftp://h/x")}, "is not an http(s) URL"},
		{"negative maxAlerts", webhook.Config{URL: notify.NewSecret("http://h/x"), MaxAlerts: -1}, "maxAlerts -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := webhook.New(tt.c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
