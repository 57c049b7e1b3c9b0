package twilio_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/alerts/receivers/receivertest"
	"github.com/swell-pipeline/swell/alerts/receivers/twilio"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "tw1lio-auth-t0k3n-s3cr3t"
)

var secrets = []string{token, base64.StdEncoding.EncodeToString([]byte(sid + ":" + token))}

func newReceiver(t *testing.T, base string, mutate func(*twilio.Config)) *twilio.Receiver {
	t.Helper()
	c := twilio.Config{AccountSID: sid, AuthToken: notify.NewSecret(token), From: "+15005550006",
		To: []string{"+14155550100", "+14155550101"}, APIURL: base}
	if mutate != nil {
		mutate(&c)
	}
	r, err := twilio.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRequestMatchesMessagesAPI(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*twilio.Config)
		user    string
		goldens []string
	}{
		{name: "one form per recipient with account auth", user: sid, goldens: []string{"form_1.txt", "form_2.txt"}},
		{name: "messaging service and API key", user: "SK0123", goldens: []string{"form_service.txt"}, mutate: func(c *twilio.Config) {
			c.From, c.MessagingServiceSID, c.APIKeySID, c.To = "", "MG0123", "SK0123", []string{"+14155550100"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := receivertest.NewServer(t, receivertest.Reply{Status: 201, Body: `{"sid":"SM1","status":"queued"}`})
			r := newReceiver(t, srv.URL, tt.mutate)
			if retryable, err := r.Notify(t.Context(), receivertest.Sample()); err != nil {
				t.Fatalf("Notify: %v (retryable %v)", err, retryable)
			}
			reqs := srv.Requests()
			if len(reqs) != len(tt.goldens) {
				t.Fatalf("%d requests, want %d", len(reqs), len(tt.goldens))
			}
			wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(tt.user+":"+token))
			for i, req := range reqs {
				if req.Method != http.MethodPost || req.Path != "/2010-04-01/Accounts/"+sid+"/Messages.json" {
					t.Errorf("request line = %s %s", req.Method, req.Path)
				}
				if got := req.Header.Get("Authorization"); got != wantAuth {
					t.Errorf("Authorization = %q, want %q", got, wantAuth)
				}
				if got := req.Header.Get("Content-Type"); got != "application/x-www-form-urlencoded" {
					t.Errorf("Content-Type = %q", got)
				}
				receivertest.Golden(t, tt.goldens[i], req.Body)
			}
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
		{name: "201 is success", reply: receivertest.Reply{Status: 201, Body: `{"sid":"SM1"}`}},
		{name: "invalid number is permanent", reply: receivertest.Reply{Status: 400, Body: `{"code":21211,"message":"The 'To' number +1 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`},
			wantErr: "HTTP 400, code 21211: The 'To' number"},
		{name: "bad credentials are permanent", reply: receivertest.Reply{Status: 401, Body: `{"code":20003,"message":"Authenticate","status":401}`}, wantErr: "code 20003"},
		{name: "too many requests is retryable", reply: receivertest.Reply{Status: 429, Body: `{"code":20429,"message":"Too Many Requests","status":429}`}, wantErr: "code 20429", wantRetryable: true},
		{name: "server error is retryable", reply: receivertest.Reply{Status: 503, Body: "unavailable"}, wantErr: "HTTP 503", wantRetryable: true},
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
			if !strings.Contains(err.Error(), "send to +14155550100") || !strings.Contains(err.Error(), "send to +14155550101") {
				t.Errorf("error does not name each failed number: %v", err)
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
		c    twilio.Config
		want string
	}{
		{"bad sid", twilio.Config{AccountSID: "x"}, `accountSID "x" must start with AC`},
		{"no token", twilio.Config{AccountSID: sid}, "authToken is required"},
		{"no sender", twilio.Config{AccountSID: sid, AuthToken: tok, To: []string{"1"}}, "from or messagingServiceSID"},
		{"no recipient", twilio.Config{AccountSID: sid, AuthToken: tok, From: "+1"}, "at least one phone number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := twilio.New(tt.c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
