package dingtalk

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/internal/clock"
)

// Robot error codes with a meaning for retries.
const (
	ErrcodeSystemBusy = -1     // "system busy"
	ErrcodeTooFast    = 130101 // more than 20 messages a minute for this robot
)

// RateLimit is DingTalk's documented limit per robot; give it to the
// pipeline so excess alerts are folded into a digest instead of rejected.
var RateLimit = notify.RateLimit{Burst: 20, Per: time.Minute}

// maxText keeps messages under DingTalk's 20,000-byte content limit with
// room for the mentions.
const maxText = 18000

// Config is a DingTalk robot receiver's settings.
type Config struct {
	// URL is the robot webhook, https://oapi.dingtalk.com/robot/send?access_token=…
	URL notify.Secret `yaml:"url" json:"url"`
	// Secret is the robot's signing secret (SEC…); requests are signed when set.
	Secret    notify.Secret `yaml:"secret,omitempty" json:"secret,omitempty"`
	MsgType   string        `yaml:"msgType,omitempty" json:"msgType,omitempty"` // markdown (default) or text
	AtMobiles []string      `yaml:"atMobiles,omitempty" json:"atMobiles,omitempty"`
	AtAll     bool          `yaml:"atAll,omitempty" json:"atAll,omitempty"`

	notify.TemplateConfig `yaml:",inline" json:",inline"`

	Timeout    time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"` // default 10s
	HTTPClient *http.Client  `yaml:"-" json:"-"`
	Clock      clock.Clock   `yaml:"-" json:"-"` // signs with Clock.Now; default clock.Real
}

// Receiver posts to one DingTalk robot.
type Receiver struct {
	cfg    Config
	tpl    *notify.Template
	client *http.Client
}

var _ notify.Notifier = (*Receiver)(nil)

// New validates c and parses its templates.
func New(c Config) (*Receiver, error) {
	u, err := notify.CheckURL("dingtalk", "url", c.URL)
	if err != nil {
		return nil, err
	}
	if u.Query().Get("access_token") == "" {
		return nil, fmt.Errorf("dingtalk: url %s has no access_token parameter", notify.SafeURL(c.URL))
	}
	if c.MsgType == "" {
		c.MsgType = "markdown"
	}
	var format notify.Format
	switch c.MsgType {
	case "markdown":
		format = notify.FormatMarkdown
	case "text":
		format = notify.FormatText
	default:
		return nil, fmt.Errorf("dingtalk: msgType %q: want text or markdown", c.MsgType)
	}
	tpl, err := c.Template(format)
	if err != nil {
		return nil, fmt.Errorf("dingtalk: %w", err)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: c.Timeout}
	}
	return &Receiver{cfg: c, tpl: tpl, client: client}, nil
}

// Sign returns DingTalk's signature for a millisecond timestamp: base64 of
// HMAC-SHA256 keyed by the secret over timestamp + "\n" + secret. The caller
// URL-encodes it into the query.
func Sign(timestampMillis int64, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestampMillis, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

type message struct {
	MsgType  string    `json:"msgtype"`
	Text     *text     `json:"text,omitempty"`
	Markdown *markdown `json:"markdown,omitempty"`
	At       at        `json:"at"`
}

type text struct {
	Content string `json:"content"`
}

type markdown struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

type at struct {
	AtMobiles []string `json:"atMobiles"`
	IsAtAll   bool     `json:"isAtAll"`
}

type answer struct {
	Errcode *int   `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

// Body renders n as the JSON DingTalk expects.
func (r *Receiver) Body(n notify.Notification) ([]byte, error) {
	title, body, err := r.tpl.Render(n)
	if err != nil {
		return nil, fmt.Errorf("dingtalk: %w", err)
	}
	body = truncate(body, maxText)
	// A mention only notifies when the number also appears in the content.
	var mentions []string
	for _, m := range r.cfg.AtMobiles {
		mentions = append(mentions, "@"+m)
	}
	m := message{MsgType: r.cfg.MsgType, At: at{AtMobiles: r.cfg.AtMobiles, IsAtAll: r.cfg.AtAll}}
	if m.At.AtMobiles == nil {
		m.At.AtMobiles = []string{}
	}
	if len(mentions) > 0 {
		body += "\n\n" + strings.Join(mentions, " ")
	}
	if r.cfg.MsgType == "markdown" {
		m.Markdown = &markdown{Title: title, Text: "### " + title + "\n\n" + body}
	} else {
		m.Text = &text{Content: title + "\n" + body}
	}
	b, err := notify.EncodeJSON(m)
	if err != nil {
		return nil, fmt.Errorf("dingtalk: encode: %w", err)
	}
	return b, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// Notify sends n. HTTP 429/5xx, transport errors, errcode -1 (busy) and
// 130101 (too fast) are retryable; any other non-zero errcode is not.
func (r *Receiver) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	body, err := r.Body(n)
	if err != nil {
		return false, err
	}
	target := r.cfg.URL.Reveal()
	// The signature is valid for about an hour, so it is kept out of errors
	// like the secret itself.
	var sign notify.Secret
	if !r.cfg.Secret.IsZero() {
		ts := r.cfg.Clock.Now().UnixMilli()
		sign = notify.NewSecret(url.QueryEscape(Sign(ts, r.cfg.Secret.Reveal())))
		target += "&timestamp=" + strconv.FormatInt(ts, 10) + "&sign=" + sign.Reveal()
	}
	req, err := notify.NewJSONRequest(target, body)
	if err != nil {
		return false, r.fail(sign, err)
	}
	resp, retryable, err := notify.Send(ctx, r.client, req)
	if err != nil {
		return retryable, r.fail(sign, err)
	}
	if resp.Status != http.StatusOK {
		return notify.RetryableStatus(resp.Status), r.fail(sign, notify.StatusError(resp))
	}
	var a answer
	if err := json.Unmarshal(resp.Body, &a); err != nil || a.Errcode == nil {
		return false, r.fail(sign, fmt.Errorf("unexpected answer: %w", notify.StatusError(resp)))
	}
	if *a.Errcode != 0 {
		retryable := *a.Errcode == ErrcodeTooFast || *a.Errcode == ErrcodeSystemBusy
		return retryable, r.fail(sign, fmt.Errorf("errcode %d: %s", *a.Errcode, a.Errmsg))
	}
	return false, nil
}

func (r *Receiver) fail(sign notify.Secret, err error) error {
	return notify.Redact(fmt.Errorf("dingtalk: POST %s: %w", notify.SafeURL(r.cfg.URL), err), r.cfg.URL, r.cfg.Secret, sign)
}
