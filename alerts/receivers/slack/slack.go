package slack

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"text/template"
	"time"

	"github.com/swell-pipeline/swell/alerts/notify"
)

// Block Kit limits: header text 150 characters, section text 3,000, 50
// blocks per message.
const (
	maxHeader   = 150
	maxSection  = 3000
	maxSections = 45 // leaves room for header, overflow note and link
)

// alertText renders one alert in Slack's mrkdwn (single * for bold), which
// differs from the Markdown of the shared defaults.
const alertText = `*[{{tr .Status}}]* {{if .Severity}}{{tr .Severity}} {{end}}{{or .Annotations.summary .Labels.alertname}}
{{- if .Annotations.description}}
{{.Annotations.description}}{{end}}
{{tr "value"}}: {{value .Value}} · {{tr "since"}}: {{time .StartsAt}}{{if eq .Status "resolved"}} · {{tr "ended"}}: {{time .EndsAt}}{{end}}
` + "`{{pairs .Labels}}`"

// Config is a Slack incoming-webhook receiver's settings.
type Config struct {
	// URL is the webhook, https://hooks.slack.com/services/T…/B…/…
	URL notify.Secret `yaml:"url" json:"url"`
	// Lang, Title and Body: Title is the header and fallback text; Body,
	// when set, replaces the per-alert sections with one section.
	notify.TemplateConfig `yaml:",inline" json:",inline"`

	Timeout    time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	HTTPClient *http.Client  `yaml:"-" json:"-"`
}

// Receiver posts to one Slack webhook.
type Receiver struct {
	cfg    Config
	tpl    *notify.Template
	alert  *template.Template
	client *http.Client
}

var _ notify.Notifier = (*Receiver)(nil)

// New validates c.
func New(c Config) (*Receiver, error) {
	_, err := notify.CheckURL("slack", "url", c.URL)
	if err != nil {
		return nil, err
	}
	tpl, err := c.Template(notify.FormatText)
	if err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	lang := c.Lang
	if lang == "" {
		lang = notify.LangEN
	}
	alert, err := template.New("alert").Funcs(notify.Funcs(lang)).Option("missingkey=zero").Parse(alertText)
	if err != nil {
		return nil, fmt.Errorf("slack: alert template: %w", err)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: c.Timeout}
	}
	return &Receiver{cfg: c, tpl: tpl, alert: alert, client: client}, nil
}

type message struct {
	Text   string  `json:"text"`
	Blocks []block `json:"blocks"`
}

type block struct {
	Type     string  `json:"type"`
	Text     *text   `json:"text,omitempty"`
	Elements []*text `json:"elements,omitempty"`
}

type text struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// escape protects the three characters Slack's mrkdwn treats as markup
// (links, mentions), so label values cannot turn into pings or links.
var escape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Body renders n as the JSON Slack expects.
func (r *Receiver) Body(n notify.Notification) ([]byte, error) {
	title, err := r.tpl.Title(n)
	if err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	m := message{Text: title, Blocks: []block{{Type: "header", Text: &text{Type: "plain_text", Text: clip(title, maxHeader)}}}}
	if r.cfg.Body != "" {
		body, err := r.tpl.Body(n)
		if err != nil {
			return nil, fmt.Errorf("slack: %w", err)
		}
		m.Blocks = append(m.Blocks, block{Type: "section", Text: &text{Type: "mrkdwn", Text: clip(escape(body), maxSection)}})
	} else {
		for i, a := range n.Alerts {
			if i == maxSections {
				m.Blocks = append(m.Blocks, block{Type: "context", Elements: []*text{{Type: "mrkdwn", Text: fmt.Sprintf("+%d more", len(n.Alerts)-i)}}})
				break
			}
			var b strings.Builder
			if err := r.alert.Execute(&b, a); err != nil {
				return nil, fmt.Errorf("slack: alert template: %w", err)
			}
			m.Blocks = append(m.Blocks, block{Type: "section", Text: &text{Type: "mrkdwn", Text: clip(escape(b.String()), maxSection)}})
		}
	}
	if n.ExternalURL != "" {
		m.Blocks = append(m.Blocks, block{Type: "context", Elements: []*text{{Type: "mrkdwn", Text: "<" + n.ExternalURL + ">"}}})
	}
	b, err := notify.EncodeJSON(m)
	if err != nil {
		return nil, fmt.Errorf("slack: encode: %w", err)
	}
	return b, nil
}

// Notify sends n. Slack answers 200 "ok"; 429 (with Retry-After), 5xx and
// transport errors are retryable; 400/403/404/410 (invalid_payload,
// invalid_token, no_service, channel_is_archived …) are not.
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
	return false, nil
}

func (r *Receiver) fail(err error) error {
	return notify.Redact(fmt.Errorf("slack: POST %s: %w", notify.SafeURL(r.cfg.URL), err), r.cfg.URL)
}
