package sms_http_test //nolint:revive

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/alerts/receivers/receivertest"
	smshttp "github.com/swell-pipeline/swell/alerts/receivers/sms_http"
)

const apiKey = "g4teway-k3y-s3cr3t"

var secrets = []string{apiKey, "qu3ry-s3cr3t"}

func newReceiver(t *testing.T, base string, mutate func(*smshttp.Config)) *smshttp.Receiver {
	t.Helper()
	c := smshttp.Config{
		URL:     notify.NewSecret(base + "/v1/sms?account=qu3ry-s3cr3t"),
		Headers: map[string]notify.Secret{"X-Api-Key": notify.NewSecret(apiKey)},
		To:      []string{"+8613800000000", "+8613900000000"},
	}
	if mutate != nil {
		mutate(&c)
	}
	r, err := smshttp.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRequestFollowsTheTemplate(t *testing.T) {
	tests := []struct {
		name        string
		mutate      func(*smshttp.Config)
		contentType string
		goldens     []string
	}{
		{name: "default JSON body to all numbers", contentType: "application/json", goldens: []string{"default.json"}},
		{name: "form body per recipient in chinese", contentType: "application/x-www-form-urlencoded", goldens: []string{"form_1.txt", "form_2.txt"},
			mutate: func(c *smshttp.Config) {
				c.PerRecipient, c.Lang, c.ContentType = true, notify.LangZH, "application/x-www-form-urlencoded"
				c.RequestBody = `mobile={{urlquery .Phone}}&content={{urlquery .Text}}`
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := receivertest.NewServer(t, receivertest.Reply{Status: 200, Body: `{"status":"queued"}`})
			r := newReceiver(t, srv.URL, tt.mutate)
			if retryable, err := r.Notify(t.Context(), receivertest.Sample()); err != nil {
				t.Fatalf("Notify: %v (retryable %v)", err, retryable)
			}
			reqs := srv.Requests()
			if len(reqs) != len(tt.goldens) {
				t.Fatalf("%d requests, want %d", len(reqs), len(tt.goldens))
			}
			for i, req := range reqs {
				if req.Method != http.MethodPost || req.Path != "/v1/sms" || req.RawQuery != "account=qu3ry-s3cr3t" {
					t.Errorf("request line = %s %s?%s", req.Method, req.Path, req.RawQuery)
				}
				if req.Header.Get("Content-Type") != tt.contentType || req.Header.Get("X-Api-Key") != apiKey {
					t.Errorf("headers = %v", req.Header)
				}
				receivertest.Golden(t, tt.goldens[i], req.Body)
			}
		})
	}
}

func TestTextIsCut(t *testing.T) {
	r := newReceiver(t, "http://gw.example", func(c *smshttp.Config) { c.MaxLength = 20 })
	text, err := r.Text(receivertest.Sample())
	if err != nil {
		t.Fatal(err)
	}
	if n := len([]rune(text)); n > 20 || n < 15 || !strings.HasSuffix(text, "…") {
		t.Fatalf("text = %q", text)
	}
}

func TestAnswers(t *testing.T) {
	tests := []struct {
		name          string
		replies       []receivertest.Reply
		mutate        func(*smshttp.Config)
		wantErr       string
		wantRetryable bool
	}{
		{name: "2xx is success", replies: []receivertest.Reply{{Status: 202}}},
		{name: "5xx is retryable", replies: []receivertest.Reply{{Status: 503}}, wantErr: "HTTP 503", wantRetryable: true},
		{name: "4xx is permanent", replies: []receivertest.Reply{{Status: 401, Body: "bad key " + apiKey}}, wantErr: "HTTP 401"},
		{name: "200 without the success marker is permanent", replies: []receivertest.Reply{{Status: 200, Body: `{"code":"E_BALANCE"}`}},
			mutate: func(c *smshttp.Config) { c.SuccessContains = `"code":"OK"` }, wantErr: `answer lacks "\"code\":\"OK\""`},
		{name: "one recipient failing permanently makes the whole permanent", replies: []receivertest.Reply{{Status: 503}, {Status: 400}},
			mutate: func(c *smshttp.Config) { c.PerRecipient = true }, wantErr: "HTTP 400"},
		{name: "all recipients failing transiently is retryable", replies: []receivertest.Reply{{Status: 503}},
			mutate: func(c *smshttp.Config) { c.PerRecipient = true }, wantErr: "HTTP 503", wantRetryable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := receivertest.NewServer(t, tt.replies...)
			r := newReceiver(t, srv.URL, tt.mutate)
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

func TestTransportErrorHidesCredentials(t *testing.T) {
	receivertest.TransportErrorHidesSecrets(t, func(base string) notify.Notifier { return newReceiver(t, base, nil) }, secrets)
}

func TestNewValidates(t *testing.T) {
	u := notify.NewSecret("https://gw.example/sms")
	tests := []struct {
		name string
		c    smshttp.Config
		want string
	}{
		{"missing url", smshttp.Config{To: []string{"1"}}, "url is required"},
		{"no numbers", smshttp.Config{URL: u}, "at least one phone number"},
		{"GET not allowed", smshttp.Config{URL: u, To: []string{"1"}, Method: "GET"}, `method "GET"`},
		{"bad body template", smshttp.Config{URL: u, To: []string{"1"}, RequestBody: "{{.To"}, "template requestBody"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := smshttp.New(tt.c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
