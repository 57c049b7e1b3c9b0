package tencent_sms_test //nolint:revive

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/alerts/receivers/receivertest"
	tencentsms "github.com/swell-pipeline/swell/alerts/receivers/tencent_sms"
)

const (
	secretID  = "AKIDexampleSecretId"
	secretKey = "t3ncent-k3y-s3cr3t"
)

var secrets = []string{secretKey}

func TestAuthorizationMatchesDocumentedExample(t *testing.T) {
	// The worked example of Tencent Cloud's "Signature v3" documentation:
	// DescribeInstances on cvm at 1551113065 with the example SecretKey.
	payload := []byte(`{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`)
	got := tencentsms.Authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "cvm",
		"cvm.tencentcloudapi.com", "application/json; charset=utf-8", payload, 1551113065)
	want := "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, " +
		"Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
	if got != want {
		t.Fatalf("Authorization =\n%s\nwant\n%s", got, want)
	}
}

func newReceiver(t *testing.T, endpoint string, mutate func(*tencentsms.Config)) *tencentsms.Receiver {
	t.Helper()
	c := tencentsms.Config{
		SecretID: secretID, SecretKey: notify.NewSecret(secretKey), SdkAppID: "1400006666", SignName: "swell",
		TemplateID: "1234567", PhoneNumbers: []string{"+8613800000000", "+8613900000000"},
		Endpoint: endpoint, Clock: receivertest.Clock{},
	}
	if mutate != nil {
		mutate(&c)
	}
	r, err := tencentsms.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// independentSignature follows the documented steps without the package.
func independentSignature(host string, body []byte) string {
	h := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	mac := func(k []byte, m string) []byte { x := hmac.New(sha256.New, k); x.Write([]byte(m)); return x.Sum(nil) }
	canonical := strings.Join([]string{"POST", "/", "", "content-type:application/json; charset=utf-8\nhost:" + host + "\n", "content-type;host", h(body)}, "\n")
	toSign := strings.Join([]string{"TC3-HMAC-SHA256", "1772366400", "2026-03-01/sms/tc3_request", h([]byte(canonical))}, "\n")
	k := mac(mac(mac([]byte("TC3"+secretKey), "2026-03-01"), "sms"), "tc3_request")
	return hex.EncodeToString(mac(k, toSign))
}

const okAnswer = `{"Response":{"SendStatusSet":[{"SerialNo":"5000:1","PhoneNumber":"+8613800000000","Fee":1,"SessionContext":"","Code":"Ok","Message":"send success","IsoCode":"CN"},{"SerialNo":"5000:2","PhoneNumber":"+8613900000000","Fee":1,"SessionContext":"","Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"a0aabda6"}}`

func TestRequestMatchesSendSms(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*tencentsms.Config)
		golden string
	}{
		{name: "default parameters", golden: "sendsms.json"},
		{name: "custom parameters in chinese, cut", golden: "sendsms_zh.json", mutate: func(c *tencentsms.Config) {
			c.Lang, c.MaxParamLength = notify.LangZH, 12
			c.TemplateParams = []string{"{{tr .Status}}", "{{(index .Alerts 0).Annotations.summary}}"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := receivertest.NewServer(t, receivertest.Reply{Status: 200, Body: okAnswer})
			r := newReceiver(t, srv.URL, tt.mutate)
			if retryable, err := r.Notify(t.Context(), receivertest.Sample()); err != nil {
				t.Fatalf("Notify: %v (retryable %v)", err, retryable)
			}
			req := srv.Only(t)
			if req.Method != http.MethodPost || req.Path != "/" || req.RawQuery != "" {
				t.Errorf("request line = %s %s?%s", req.Method, req.Path, req.RawQuery)
			}
			host := strings.TrimPrefix(srv.URL, "http://")
			want := map[string]string{
				"Content-Type": "application/json; charset=utf-8", "X-TC-Action": "SendSms", "X-TC-Version": "2021-01-11",
				"X-TC-Timestamp": "1772366400", "X-TC-Region": "ap-guangzhou",
				"Authorization": "TC3-HMAC-SHA256 Credential=" + secretID + "/2026-03-01/sms/tc3_request, SignedHeaders=content-type;host, Signature=" +
					independentSignature(host, req.Body),
			}
			for k, v := range want {
				if got := req.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
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
		{name: "every number Ok is success", reply: receivertest.Reply{Status: 200, Body: okAnswer}},
		{name: "signature failure is permanent", reply: receivertest.Reply{Status: 200, Body: `{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"The provided credentials could not be validated."},"RequestId":"r1"}}`},
			wantErr: "AuthFailure.SignatureFailure: The provided credentials"},
		{name: "request throttling is retryable", reply: receivertest.Reply{Status: 200, Body: `{"Response":{"Error":{"Code":"RequestLimitExceeded","Message":"too many"},"RequestId":"r2"}}`},
			wantErr: "RequestLimitExceeded", wantRetryable: true},
		{name: "one number over its daily limit fails permanently", reply: receivertest.Reply{Status: 200, Body: `{"Response":{"SendStatusSet":[{"PhoneNumber":"+8613800000000","Code":"Ok","Message":"send success"},{"PhoneNumber":"+8613900000000","Code":"LimitExceeded.PhoneNumberDailyLimit","Message":"daily limit"}],"RequestId":"r3"}}`},
			wantErr: "1 of 2 numbers failed: +8613900000000: LimitExceeded.PhoneNumberDailyLimit"},
		{name: "thirty-second limit is retryable", reply: receivertest.Reply{Status: 200, Body: `{"Response":{"SendStatusSet":[{"PhoneNumber":"+8613800000000","Code":"LimitExceeded.PhoneNumberThirtySecondLimit","Message":"30s"}],"RequestId":"r4"}}`},
			wantErr: "PhoneNumberThirtySecondLimit", wantRetryable: true},
		{name: "gateway error is retryable", reply: receivertest.Reply{Status: 502, Body: "bad gateway"}, wantErr: "unexpected answer: HTTP 502", wantRetryable: true},
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

func TestTransportErrorHidesKey(t *testing.T) {
	receivertest.TransportErrorHidesSecrets(t, func(base string) notify.Notifier { return newReceiver(t, base, nil) }, secrets)
}

func TestNewValidates(t *testing.T) {
	k := notify.NewSecret(secretKey)
	tests := []struct {
		name string
		c    tencentsms.Config
		want string
	}{
		{"no secret id", tencentsms.Config{}, "secretID is required"},
		{"no key", tencentsms.Config{SecretID: secretID}, "secretKey is required"},
		{"no app", tencentsms.Config{SecretID: secretID, SecretKey: k}, "sdkAppID is required"},
		{"no template", tencentsms.Config{SecretID: secretID, SecretKey: k, SdkAppID: "1"}, "templateID is required"},
		{"no numbers", tencentsms.Config{SecretID: secretID, SecretKey: k, SdkAppID: "1", TemplateID: "2"}, "at least one number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tencentsms.New(tt.c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
