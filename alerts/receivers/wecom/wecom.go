package wecom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/swell-pipeline/swell/alerts/notify"
)

// Error codes with a meaning for retries.
const (
	ErrcodeSystemBusy  = -1
	ErrcodeFreqLimit   = 45009 // more than 20 messages a minute for this robot
	ErrcodeInvalidHook = 93000
)

// RateLimit is WeCom's documented limit per robot.
var RateLimit = notify.RateLimit{Burst: 20, Per: time.Minute}

// Byte limits WeCom puts on content; longer messages are cut, not rejected.
const (
	maxText     = 2048
	maxMarkdown = 4096
)

// Config is a WeCom group robot receiver's settings.
type Config struct {
	// URL is the robot webhook, https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…
	URL     notify.Secret `yaml:"url" json:"url"`
	MsgType string        `yaml:"msgType,omitempty" json:"msgType,omitempty"` // markdown (default) or text
	// MentionedMobiles and MentionedUsers ("@all" for everyone) only work
	// with text messages; WeCom's markdown has no mention list.
	MentionedMobiles []string `yaml:"mentionedMobiles,omitempty" json:"mentionedMobiles,omitempty"`
	MentionedUsers   []string `yaml:"mentionedUsers,omitempty" json:"mentionedUsers,omitempty"`

	notify.TemplateConfig `yaml:",inline" json:",inline"`

	Timeout    time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	HTTPClient *http.Client  `yaml:"-" json:"-"`
}

// Receiver posts to one WeCom robot.
type Receiver struct {
	cfg    Config
	tpl    *notify.Template
	client *http.Client
}

var _ notify.Notifier = (*Receiver)(nil)

// New validates c.
func New(c Config) (*Receiver, error) {
	u, err := notify.CheckURL("wecom", "url", c.URL)
	if err != nil {
		return nil, err
	}
	if u.Query().Get("key") == "" {
		return nil, fmt.Errorf("wecom: url %s has no key parameter", notify.SafeURL(c.URL))
	}
	if c.MsgType == "" {
		c.MsgType = "markdown"
	}
	format := notify.FormatMarkdown
	switch c.MsgType {
	case "markdown":
		if len(c.MentionedMobiles)+len(c.MentionedUsers) > 0 {
			return nil, errors.New("wecom: mentions need msgType text (WeCom markdown has no mention list)")
		}
	case "text":
		format = notify.FormatText
	default:
		return nil, fmt.Errorf("wecom: msgType %q: want text or markdown", c.MsgType)
	}
	tpl, err := c.Template(format)
	if err != nil {
		return nil, fmt.Errorf("wecom: %w", err)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: c.Timeout}
	}
	return &Receiver{cfg: c, tpl: tpl, client: client}, nil
}

type message struct {
	MsgType  string    `json:"msgtype"`
	Text     *text     `json:"text,omitempty"`
	Markdown *markdown `json:"markdown,omitempty"`
}

type text struct {
	Content             string   `json:"content"`
	MentionedList       []string `json:"mentioned_list,omitempty"`
	MentionedMobileList []string `json:"mentioned_mobile_list,omitempty"`
}

type markdown struct {
	Content string `json:"content"`
}

// Body renders n as the JSON WeCom expects.
func (r *Receiver) Body(n notify.Notification) ([]byte, error) {
	title, body, err := r.tpl.Render(n)
	if err != nil {
		return nil, fmt.Errorf("wecom: %w", err)
	}
	m := message{MsgType: r.cfg.MsgType}
	if r.cfg.MsgType == "text" {
		m.Text = &text{Content: cut(title+"\n"+body, maxText), MentionedList: r.cfg.MentionedUsers, MentionedMobileList: r.cfg.MentionedMobiles}
	} else {
		m.Markdown = &markdown{Content: cut("### "+title+"\n"+body, maxMarkdown)}
	}
	b, err := notify.EncodeJSON(m)
	if err != nil {
		return nil, fmt.Errorf("wecom: encode: %w", err)
	}
	return b, nil
}

// cut shortens s to at most n bytes on a rune boundary, ending in "…".
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	end := n - len("…")
	for end > 0 && s[end]&0xC0 == 0x80 {
		end--
	}
	return s[:end] + "…"
}

type answer struct {
	Errcode *int   `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

// Notify sends n. Transport errors, 429/5xx, errcode -1 and 45009 are
// retryable; other non-zero errcodes are not.
func (r *Receiver) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	body, err := r.Body(n)
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
	if err := json.Unmarshal(resp.Body, &a); err != nil || a.Errcode == nil {
		return false, r.fail(fmt.Errorf("unexpected answer: %w", notify.StatusError(resp)))
	}
	if *a.Errcode != 0 {
		return *a.Errcode == ErrcodeFreqLimit || *a.Errcode == ErrcodeSystemBusy, r.fail(fmt.Errorf("errcode %d: %s", *a.Errcode, a.Errmsg))
	}
	return false, nil
}

func (r *Receiver) fail(err error) error {
	return notify.Redact(fmt.Errorf("wecom: POST %s: %w", notify.SafeURL(r.cfg.URL), err), r.cfg.URL)
}
