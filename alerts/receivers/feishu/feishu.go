package feishu

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
	"time"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/internal/clock"
)

// Hosts of the two editions; a URL on another host is accepted (proxies,
// tests) but these are what users paste.
const (
	FeishuHost = "open.feishu.cn"
	LarkHost   = "open.larksuite.com"
)

// Error codes with a meaning for retries.
const (
	CodeFrequencyLimited = 11232 // too many messages for this bot
	CodeSignMismatch     = 19021 // bad signature or timestamp older than an hour
)

// RateLimit keeps within Feishu's documented bot limits (100 a minute and
// 5 a second): a burst of 5, then one every 0.6 s.
var RateLimit = notify.RateLimit{Burst: 5, Per: 3 * time.Second}

// Config is a Feishu or Lark bot receiver's settings.
type Config struct {
	// URL is the bot webhook, https://open.feishu.cn/open-apis/bot/v2/hook/…
	// (or open.larksuite.com for Lark).
	URL notify.Secret `yaml:"url" json:"url"`
	// Secret is the bot's signature-verification secret; requests are
	// signed when set.
	Secret  notify.Secret `yaml:"secret,omitempty" json:"secret,omitempty"`
	MsgType string        `yaml:"msgType,omitempty" json:"msgType,omitempty"` // interactive (card, default) or text
	AtAll   bool          `yaml:"atAll,omitempty" json:"atAll,omitempty"`

	notify.TemplateConfig `yaml:",inline" json:",inline"`

	Timeout    time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	HTTPClient *http.Client  `yaml:"-" json:"-"`
	Clock      clock.Clock   `yaml:"-" json:"-"`
}

// Receiver posts to one Feishu or Lark bot.
type Receiver struct {
	cfg    Config
	name   string
	tpl    *notify.Template
	client *http.Client
}

var _ notify.Notifier = (*Receiver)(nil)

// New validates c for Feishu.
func New(c Config) (*Receiver, error) { return newReceiver("feishu", c) }

// NewLark validates c for Lark; the only difference is the name in errors
// and the host the README points to.
func NewLark(c Config) (*Receiver, error) { return newReceiver("lark", c) }

func newReceiver(name string, c Config) (*Receiver, error) {
	if c.URL.IsZero() {
		return nil, fmt.Errorf("%s: url is required", name)
	}
	u, err := url.Parse(c.URL.Reveal())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: url %s is not an http(s) URL", name, notify.SafeURL(c.URL))
	}
	if c.MsgType == "" {
		c.MsgType = "interactive"
	}
	if c.MsgType != "interactive" && c.MsgType != "text" {
		return nil, fmt.Errorf("%s: msgType %q: want interactive or text", name, c.MsgType)
	}
	format := notify.FormatMarkdown
	if c.MsgType == "text" {
		format = notify.FormatText
	}
	tpl, err := c.Template(format)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
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
	return &Receiver{cfg: c, name: name, tpl: tpl, client: client}, nil
}

// Sign returns Feishu's signature for a timestamp in seconds: base64 of
// HMAC-SHA256 whose key is timestamp + "\n" + secret, over an empty message.
// (Unlike DingTalk, the secret is in the key, and nothing is hashed.)
func Sign(timestampSeconds int64, secret string) string {
	mac := hmac.New(sha256.New, []byte(strconv.FormatInt(timestampSeconds, 10)+"\n"+secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

type message struct {
	Timestamp string       `json:"timestamp,omitempty"`
	Sign      string       `json:"sign,omitempty"`
	MsgType   string       `json:"msg_type"`
	Content   *textContent `json:"content,omitempty"`
	Card      *card        `json:"card,omitempty"`
}

type textContent struct {
	Text string `json:"text"`
}

type card struct {
	Config   cardConfig    `json:"config"`
	Header   cardHeader    `json:"header"`
	Elements []cardElement `json:"elements"`
}

type cardConfig struct {
	WideScreenMode bool `json:"wide_screen_mode"`
}

type cardHeader struct {
	Title    cardText `json:"title"`
	Template string   `json:"template"`
}

type cardText struct {
	Tag     string `json:"tag"`
	Content string `json:"content"`
}

type cardElement struct {
	Tag     string `json:"tag"`
	Content string `json:"content"`
}

// headerColor makes the state visible before anyone reads the card.
func headerColor(n notify.Notification) string {
	if n.Status == notify.StatusResolved {
		return "green"
	}
	for _, a := range n.Alerts.Firing() {
		if a.Severity == notify.SeverityCritical {
			return "red"
		}
	}
	return "orange"
}

// Body renders n as the JSON Feishu expects, signed with the given secret
// at timestamp when the secret is set.
func (r *Receiver) Body(n notify.Notification, timestamp int64) ([]byte, error) {
	title, body, err := r.tpl.Render(n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.name, err)
	}
	m := message{MsgType: r.cfg.MsgType}
	if !r.cfg.Secret.IsZero() {
		m.Timestamp = strconv.FormatInt(timestamp, 10)
		m.Sign = Sign(timestamp, r.cfg.Secret.Reveal())
	}
	if r.cfg.MsgType == "text" {
		text := title + "\n" + body
		if r.cfg.AtAll {
			text += "\n" + `<at user_id="all">all</at>`
		}
		m.Content = &textContent{Text: text}
	} else {
		if r.cfg.AtAll {
			body += "\n<at id=all></at>"
		}
		m.Card = &card{
			Config:   cardConfig{WideScreenMode: true},
			Header:   cardHeader{Title: cardText{Tag: "plain_text", Content: title}, Template: headerColor(n)},
			Elements: []cardElement{{Tag: "markdown", Content: body}},
		}
	}
	b, err := notify.EncodeJSON(m)
	if err != nil {
		return nil, fmt.Errorf("%s: encode: %w", r.name, err)
	}
	return b, nil
}

// answer covers both reply shapes Feishu has used: {"code":0,"msg":…} and
// the older {"StatusCode":0,"StatusMessage":…}.
type answer struct {
	Code          *int   `json:"code"`
	Msg           string `json:"msg"`
	StatusCode    *int   `json:"StatusCode"`
	StatusMessage string `json:"StatusMessage"`
}

// Notify sends n. Transport errors, 429/5xx and code 11232 (frequency
// limited) are retryable; other non-zero codes are not.
func (r *Receiver) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	ts := r.cfg.Clock.Now().Unix()
	body, err := r.Body(n, ts)
	if err != nil {
		return false, err
	}
	req, err := notify.NewJSONRequest(r.cfg.URL.Reveal(), body)
	if err != nil {
		return false, r.fail(err)
	}
	resp, retryable, err := notify.Send(ctx, r.client, req)
	if err != nil {
		return retryable, r.fail(err)
	}
	if resp.Status != http.StatusOK {
		return notify.RetryableStatus(resp.Status), r.fail(notify.StatusError(resp))
	}
	var a answer
	if err := json.Unmarshal(resp.Body, &a); err != nil || (a.Code == nil && a.StatusCode == nil) {
		return false, r.fail(fmt.Errorf("unexpected answer: %w", notify.StatusError(resp)))
	}
	code, msg := 0, ""
	if a.Code != nil {
		code, msg = *a.Code, a.Msg
	} else {
		code, msg = *a.StatusCode, a.StatusMessage
	}
	if code != 0 {
		return code == CodeFrequencyLimited, r.fail(fmt.Errorf("code %d: %s", code, msg))
	}
	return false, nil
}

func (r *Receiver) fail(err error) error {
	return notify.Redact(fmt.Errorf("%s: POST %s: %w", r.name, notify.SafeURL(r.cfg.URL), err), r.cfg.URL, r.cfg.Secret)
}
