package wecom_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/alerts/receivers/receivertest"
	"github.com/swell-pipeline/swell/alerts/receivers/wecom"
)

const key = "693a91f6-k3y-s3cr3t"

var secrets = []string{key}

func newReceiver(t *testing.T, base string, mutate func(*wecom.Config)) *wecom.Receiver {
	t.Helper()
	return receivertest.Build(t, wecom.Config{URL: notify.NewSecret(base + "/cgi-bin/webhook/send?key=" + key)}, mutate, wecom.New)
}

func TestRequestMatchesWeComAPI(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*wecom.Config)
		golden string
	}{
		{name: "markdown", golden: "markdown.json"},
		{name: "text in chinese with mentions", golden: "text_zh.json", mutate: func(c *wecom.Config) {
			c.MsgType, c.Lang = "text", notify.LangZH
			c.MentionedMobiles, c.MentionedUsers = []string{"13800000000"}, []string{"@all"}
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
			if req.Method != http.MethodPost || req.Path != "/cgi-bin/webhook/send" || req.RawQuery != "key="+key {
				t.Errorf("request line = %s %s?%s", req.Method, req.Path, req.RawQuery)
			}
			if got := req.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			receivertest.Golden(t, tt.golden, req.Body)
		})
	}
}

func TestLongMessagesAreCutToWeComLimits(t *testing.T) {
	srv := receivertest.NewServer(t, receivertest.Reply{Status: 200, Body: `{"errcode":0,"errmsg":"ok"}`})
	r := newReceiver(t, srv.URL, func(c *wecom.Config) {
		c.MsgType = "text"
		c.Body = `{{range .Alerts}}{{.Annotations.summary}}{{end}}`
	})
	n := receivertest.Sample()
	n.Alerts[0].Annotations = map[string]string{"summary": strings.Repeat("内存", 2000)}
	if _, err := r.Notify(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	body, err := r.Body(n)
	if err != nil {
		t.Fatal(err)
	}
	content := string(body)[strings.Index(string(body), `"content":"`)+len(`"content":"`):]
	content = content[:strings.Index(content, `"`)]
	if len(content) > 2048 || !utf8.ValidString(content) || !strings.HasSuffix(content, "…") {
		t.Fatalf("content is %d bytes, valid UTF-8 %v, ends %q", len(content), utf8.ValidString(content), content[len(content)-6:])
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
		{name: "frequency limit is retryable", reply: receivertest.Reply{Status: 200, Body: `{"errcode":45009,"errmsg":"api freq out of limit"}`}, wantErr: "errcode 45009", wantRetryable: true},
		{name: "busy is retryable", reply: receivertest.Reply{Status: 200, Body: `{"errcode":-1,"errmsg":"system busy"}`}, wantErr: "errcode -1", wantRetryable: true},
		{name: "invalid webhook in a 200 is permanent", reply: receivertest.Reply{Status: 200, Body: `{"errcode":93000,"errmsg":"invalid webhook url, key=` + key + `"}`}, wantErr: "errcode 93000"},
		{name: "200 without errcode is a failure", reply: receivertest.Reply{Status: 200, Body: `{}`}, wantErr: "unexpected answer"},
		{name: "HTTP 503 is retryable", reply: receivertest.Reply{Status: 503}, wantErr: "HTTP 503", wantRetryable: true},
		{name: "HTTP 403 is permanent", reply: receivertest.Reply{Status: 403}, wantErr: "HTTP 403"},
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
	good := notify.NewSecret("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")
	tests := []struct {
		name string
		c    wecom.Config
		want string
	}{
		{"missing url", wecom.Config{}, "wecom: url is required"},
		{"no key", wecom.Config{URL: notify.NewSecret("https://qyapi.weixin.qq.com/cgi-bin/webhook/send")}, "has no key parameter"},
		{"mentions with markdown", wecom.Config{URL: good, MentionedMobiles: []string{"1"}}, "mentions need msgType text"},
		{"unknown msgType", wecom.Config{URL: good, MsgType: "news"}, `msgType "news"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := wecom.New(tt.c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
