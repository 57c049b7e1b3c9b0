package aliyun_sms_test //nolint:revive

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the provider's signature
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/swell-pipeline/swell/alerts/notify"
	aliyunsms "github.com/swell-pipeline/swell/alerts/receivers/aliyun_sms"
	"github.com/swell-pipeline/swell/alerts/receivers/receivertest"
)

const (
	keyID  = "LTAI5tExampleKeyId"
	secret = "4l1yun-k3y-s3cr3t"
	nonce  = "0f8c6e2a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
)

var secrets = []string{secret}

func TestSignMatchesDocumentedExample(t *testing.T) {
	// The SendSms signature example from Alibaba Cloud's SMS documentation:
	// AccessKeyId testId, AccessKeySecret testSecret.
	params := map[string]string{
		"AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
		"PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
		"SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
		"SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": `{"customer":"test"}`,
		"Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
	}
	const wantCanonical = "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001&RegionId=cn-hangzhou" +
		"&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8&SignatureMethod=HMAC-SHA1" +
		"&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466&SignatureVersion=1.0&TemplateCode=SMS_71390007" +
		"&TemplateParam=%7B%22customer%22%3A%22test%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z&Version=2017-05-25"
	if got := aliyunsms.Canonicalize(params); got != wantCanonical {
		t.Errorf("canonical query =\n%s\nwant\n%s", got, wantCanonical)
	}
	if got := aliyunsms.Sign("GET", params, "testSecret"); got != "zJDF+Lrzhj/ThnlvIToysFRq6t4=" {
		t.Errorf("signature = %s, want zJDF+Lrzhj/ThnlvIToysFRq6t4=", got)
	}
}

func TestPercentEncodeRules(t *testing.T) {
	for in, want := range map[string]string{
		"a b": "a%20b", "*": "%2A", "~-_.": "~-_.", "/=&+": "%2F%3D%26%2B", "告": "%E5%91%8A", "AZaz09": "AZaz09",
	} {
		if got := aliyunsms.PercentEncode(in); got != want {
			t.Errorf("PercentEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

func newReceiver(t *testing.T, endpoint string, mutate func(*aliyunsms.Config)) *aliyunsms.Receiver {
	t.Helper()
	c := aliyunsms.Config{
		AccessKeyID: keyID, AccessKeySecret: notify.NewSecret(secret),
		SignName: "swell", TemplateCode: "SMS_123456789", PhoneNumbers: []string{"13800000000", "13900000000"},
		Endpoint: endpoint, Clock: receivertest.Clock{}, Nonce: func() string { return nonce },
	}
	if mutate != nil {
		mutate(&c)
	}
	r, err := aliyunsms.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// independentQuery rebuilds the signed query from the documented rules
// without the package's helpers.
func independentQuery(t *testing.T, params map[string]string) string {
	t.Helper()
	enc := func(s string) string {
		var b strings.Builder
		for _, c := range []byte(s) {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
		return b.String()
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = enc(k) + "=" + enc(params[k])
	}
	canonical := strings.Join(pairs, "&")
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte("GET&" + enc("/") + "&" + enc(canonical)))
	return "Signature=" + enc(base64.StdEncoding.EncodeToString(mac.Sum(nil))) + "&" + canonical
}

func TestRequestMatchesSendSms(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*aliyunsms.Config)
		params string
		golden string
	}{
		{name: "default template parameters", golden: "sendsms.query", params: `{"name":"ContainerMemory","status":"FIRING 1"}`},
		{name: "custom parameters in chinese, cut to the limit", mutate: func(c *aliyunsms.Config) {
			c.Lang = notify.LangZH
			c.TemplateParams = map[string]string{"status": "{{tr .Status}}", "summary": "{{(index .Alerts 0).Annotations.summary}} and more text past the limit"}
		}, golden: "sendsms_zh.query", params: `{"status":"告警","summary":"web memory at 97.5% and more text…"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := receivertest.NewServer(t, receivertest.Reply{Status: 200, Body: `{"Message":"OK","RequestId":"F655A8D5","BizId":"900619746936498440^0","Code":"OK"}`})
			r := newReceiver(t, srv.URL, tt.mutate)
			if retryable, err := r.Notify(t.Context(), receivertest.Sample()); err != nil {
				t.Fatalf("Notify: %v (retryable %v)", err, retryable)
			}
			req := srv.Only(t)
			if req.Method != http.MethodGet || req.Path != "/" || len(req.Body) != 0 {
				t.Errorf("request = %s %s with %d body bytes", req.Method, req.Path, len(req.Body))
			}
			want := independentQuery(t, map[string]string{
				"AccessKeyId": keyID, "Action": "SendSms", "Format": "JSON", "PhoneNumbers": "13800000000,13900000000",
				"RegionId": "cn-hangzhou", "SignName": "swell", "SignatureMethod": "HMAC-SHA1", "SignatureNonce": nonce,
				"SignatureVersion": "1.0", "TemplateCode": "SMS_123456789", "TemplateParam": tt.params,
				"Timestamp": "2026-03-01T12:00:00Z", "Version": "2017-05-25",
			})
			if req.RawQuery != want {
				t.Errorf("query =\n%s\nwant\n%s", req.RawQuery, want)
			}
			receivertest.Golden(t, tt.golden, []byte(req.RawQuery+"\n"))
			q, err := url.ParseQuery(req.RawQuery)
			if err != nil || q.Get("TemplateParam") != tt.params {
				t.Errorf("TemplateParam = %q (%v)", q.Get("TemplateParam"), err)
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
		{name: "Code OK is success", reply: receivertest.Reply{Status: 200, Body: `{"Code":"OK","Message":"OK"}`}},
		{name: "flow control is retryable", reply: receivertest.Reply{Status: 200, Body: `{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发分钟级流控Permits:1","RequestId":"R1"}`},
			wantErr: "Code isv.BUSINESS_LIMIT_CONTROL", wantRetryable: true},
		{name: "illegal number in a 200 is permanent", reply: receivertest.Reply{Status: 200, Body: `{"Code":"isv.MOBILE_NUMBER_ILLEGAL","Message":"非法手机号","RequestId":"R2"}`}, wantErr: "isv.MOBILE_NUMBER_ILLEGAL"},
		{name: "bad signature is permanent", reply: receivertest.Reply{Status: 400, Body: `{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. server string to sign is:GET&%2F&AccessKeyId...` + secret + `","RequestId":"R3"}`},
			wantErr: "HTTP 400, Code SignatureDoesNotMatch"},
		{name: "throttling is retryable", reply: receivertest.Reply{Status: 400, Body: `{"Code":"Throttling.User","Message":"Request was denied due to user flow control."}`}, wantErr: "Throttling.User", wantRetryable: true},
		{name: "server error is retryable", reply: receivertest.Reply{Status: 503, Body: `<html>busy</html>`}, wantErr: "unexpected answer: HTTP 503", wantRetryable: true},
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

func TestTransportErrorKeepsQueryOut(t *testing.T) {
	srv := receivertest.NewServer(t)
	base := srv.URL
	srv.Close()
	r := newReceiver(t, base, nil)
	retryable, err := r.Notify(t.Context(), receivertest.Sample())
	if err == nil || !retryable {
		t.Fatalf("err = %v, retryable = %v", err, retryable)
	}
	if strings.Contains(err.Error(), "Signature=") {
		t.Errorf("error quotes the signed query: %v", err)
	}
	_, logs := receivertest.ThroughPipeline(t, r, receivertest.Sample())
	receivertest.NoSecrets(t, secrets, err.Error(), logs)
}

func TestNewValidates(t *testing.T) {
	s := notify.NewSecret(secret)
	tests := []struct {
		name string
		c    aliyunsms.Config
		want string
	}{
		{"no key id", aliyunsms.Config{}, "accessKeyID is required"},
		{"no secret", aliyunsms.Config{AccessKeyID: keyID}, "accessKeySecret is required"},
		{"no sign name", aliyunsms.Config{AccessKeyID: keyID, AccessKeySecret: s}, "signName is required"},
		{"no template", aliyunsms.Config{AccessKeyID: keyID, AccessKeySecret: s, SignName: "x"}, "templateCode is required"},
		{"no numbers", aliyunsms.Config{AccessKeyID: keyID, AccessKeySecret: s, SignName: "x", TemplateCode: "SMS_1"}, "at least one number"},
		{"bad param template", aliyunsms.Config{AccessKeyID: keyID, AccessKeySecret: s, SignName: "x", TemplateCode: "SMS_1", PhoneNumbers: []string{"1"},
			TemplateParams: map[string]string{"a": "{{"}}, "template templateParams.a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := aliyunsms.New(tt.c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
