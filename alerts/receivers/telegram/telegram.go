package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/swell-pipeline/swell/alerts/notify"
)

// DefaultAPIURL is the Bot API endpoint.
const DefaultAPIURL = "https://api.telegram.org"

// maxText is Telegram's limit on a message, in characters.
const maxText = 4096

// RateLimit keeps within Telegram's guidance of about 20 messages a minute
// to one group.
var RateLimit = notify.RateLimit{Burst: 20, Per: time.Minute}

// Config is a Telegram receiver's settings.
type Config struct {
	BotToken notify.Secret `yaml:"botToken" json:"botToken"`
	// ChatID is a numeric id ("-1001234567890") or "@channelname".
	ChatID string `yaml:"chatID" json:"chatID"`
	// MessageThreadID targets a topic in a forum supergroup (0: none).
	MessageThreadID int64 `yaml:"messageThreadID,omitempty" json:"messageThreadID,omitempty"`
	// ParseMode is HTML (default: the title is bold and the rendered text is
	// escaped) or "none" for plain text.
	ParseMode           string `yaml:"parseMode,omitempty" json:"parseMode,omitempty"`
	DisableNotification bool   `yaml:"disableNotification,omitempty" json:"disableNotification,omitempty"`
	APIURL              string `yaml:"apiURL,omitempty" json:"apiURL,omitempty"` // default DefaultAPIURL (a local Bot API server, tests)

	notify.TemplateConfig `yaml:",inline" json:",inline"`

	Timeout    time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	HTTPClient *http.Client  `yaml:"-" json:"-"`
}

// Receiver sends to one chat.
type Receiver struct {
	cfg      Config
	tpl      *notify.Template
	endpoint notify.Secret // the URL contains the token
	client   *http.Client
}

var _ notify.Notifier = (*Receiver)(nil)

// New validates c.
func New(c Config) (*Receiver, error) {
	if c.BotToken.IsZero() {
		return nil, errors.New("telegram: botToken is required")
	}
	if c.ChatID == "" {
		return nil, errors.New("telegram: chatID is required")
	}
	switch c.ParseMode {
	case "":
		c.ParseMode = "HTML"
	case "HTML", "none":
	default:
		return nil, fmt.Errorf("telegram: parseMode %q: want HTML or none", c.ParseMode)
	}
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	u, err := url.Parse(c.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("telegram: apiURL %q is not an http(s) URL", c.APIURL)
	}
	tpl, err := c.Template(notify.FormatText)
	if err != nil {
		return nil, fmt.Errorf("telegram: %w", err)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: c.Timeout}
	}
	endpoint := notify.NewSecret(strings.TrimRight(c.APIURL, "/") + "/bot" + c.BotToken.Reveal() + "/sendMessage")
	return &Receiver{cfg: c, tpl: tpl, endpoint: endpoint, client: client}, nil
}

type request struct {
	ChatID              string `json:"chat_id"`
	MessageThreadID     int64  `json:"message_thread_id,omitempty"`
	Text                string `json:"text"`
	ParseMode           string `json:"parse_mode,omitempty"`
	DisableWebPreview   bool   `json:"disable_web_page_preview"`
	DisableNotification bool   `json:"disable_notification,omitempty"`
}

// Body renders n as a sendMessage request.
func (r *Receiver) Body(n notify.Notification) ([]byte, error) {
	title, body, err := r.tpl.Render(n)
	if err != nil {
		return nil, fmt.Errorf("telegram: %w", err)
	}
	req := request{ChatID: r.cfg.ChatID, MessageThreadID: r.cfg.MessageThreadID, DisableWebPreview: true, DisableNotification: r.cfg.DisableNotification}
	if r.cfg.ParseMode == "HTML" {
		// Cut before escaping so an entity is never split in half.
		title = html.EscapeString(title)
		body = html.EscapeString(clip(body, maxText-utf8.RuneCountInString(title)-200))
		req.Text, req.ParseMode = "<b>"+title+"</b>\n"+body, "HTML"
	} else {
		req.Text = clip(title+"\n"+body, maxText)
	}
	b, err := notify.EncodeJSON(req)
	if err != nil {
		return nil, fmt.Errorf("telegram: encode: %w", err)
	}
	return b, nil
}

func clip(s string, n int) string {
	if n < 1 {
		n = 1
	}
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	return string(rs[:n-1]) + "…"
}

type answer struct {
	OK          bool   `json:"ok"`
	ErrorCode   int    `json:"error_code"`
	Description string `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// Notify sends n. {"ok":true} is success; 429 (flood control, with
// retry_after), 5xx and transport errors are retryable; 400 (chat not
// found, bad entities), 401 (bad token) and 403 (bot kicked) are not.
func (r *Receiver) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	body, err := r.Body(n)
	if err != nil {
		return false, err
	}
	req, err := notify.NewJSONRequest(r.endpoint.Reveal(), body)
	if err != nil {
		return false, r.fail(err)
	}
	resp, retryable, err := notify.Send(ctx, r.client, req)
	if err != nil {
		return retryable, r.fail(err)
	}
	var a answer
	if jerr := json.Unmarshal(resp.Body, &a); jerr != nil {
		return notify.RetryableStatus(resp.Status), r.fail(fmt.Errorf("unexpected answer: %w", notify.StatusError(resp)))
	}
	if resp.Status == http.StatusOK && a.OK {
		return false, nil
	}
	code := a.ErrorCode
	if code == 0 {
		code = resp.Status
	}
	msg := fmt.Sprintf("error_code %d: %s", code, a.Description)
	after := time.Duration(a.Parameters.RetryAfter) * time.Second
	if after > 0 {
		msg += fmt.Sprintf(" (retry after %s)", after)
	}
	return notify.RetryableStatus(code), r.fail(notify.WithRetryAfter(errors.New(msg), after))
}

func (r *Receiver) fail(err error) error {
	safe := strings.TrimRight(r.cfg.APIURL, "/") + "/bot" + notify.Mask + "/sendMessage"
	return notify.Redact(fmt.Errorf("telegram: POST %s: %w", safe, err), r.endpoint, r.cfg.BotToken)
}
