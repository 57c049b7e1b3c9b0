package sms_http //nolint:revive // the folder name is the receiver type users write

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/swell-pipeline/swell/alerts/notify"
)

// DefaultBody posts the numbers and the text as JSON.
const DefaultBody = `{"to":{{if .Phone}}{{json .Phone}}{{else}}{{json .To}}{{end}},"text":{{json .Text}}}`

// Config is a generic SMS gateway receiver's settings.
type Config struct {
	URL     notify.Secret            `yaml:"url" json:"url"`
	Method  string                   `yaml:"method,omitempty" json:"method,omitempty"` // POST (default) or PUT
	Headers map[string]notify.Secret `yaml:"headers,omitempty" json:"headers,omitempty"`
	// ContentType of the rendered body (default application/json).
	ContentType string `yaml:"contentType,omitempty" json:"contentType,omitempty"`
	// To are the phone numbers, E.164 preferred.
	To []string `yaml:"to" json:"to"`
	// PerRecipient sends one request per number (with .Phone set) for
	// gateways that take a single recipient.
	PerRecipient bool `yaml:"perRecipient,omitempty" json:"perRecipient,omitempty"`
	// RequestBody is the Go template of the request body; data has .To,
	// .Phone, .Text and the notification (.Status, .Alerts, …).
	RequestBody string `yaml:"requestBody,omitempty" json:"requestBody,omitempty"`
	// SuccessContains, when set, must appear in a 2xx answer, for gateways
	// that report errors inside a 200.
	SuccessContains string `yaml:"successContains,omitempty" json:"successContains,omitempty"`
	// MaxLength cuts the text (characters, default 300: about two segments
	// of Chinese or five of Latin text).
	MaxLength int `yaml:"maxLength,omitempty" json:"maxLength,omitempty"`

	notify.TemplateConfig `yaml:",inline" json:",inline"`

	Timeout    time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	HTTPClient *http.Client  `yaml:"-" json:"-"`
}

// Receiver posts to one gateway.
type Receiver struct {
	cfg     Config
	text    *notify.Template
	body    *notify.TextTemplate
	client  *http.Client
	secrets []notify.Secret
}

var _ notify.Notifier = (*Receiver)(nil)

// Data is what RequestBody is rendered with.
type Data struct {
	notify.Notification
	To    []string
	Phone string // set with PerRecipient
	Text  string // the rendered message
}

// New validates c.
func New(c Config) (*Receiver, error) {
	_, err := notify.CheckURL("sms_http", "url", c.URL)
	if err != nil {
		return nil, err
	}
	if len(c.To) == 0 {
		return nil, errors.New("sms_http: to needs at least one phone number")
	}
	switch c.Method {
	case "":
		c.Method = http.MethodPost
	case http.MethodPost, http.MethodPut:
	default:
		return nil, fmt.Errorf("sms_http: method %q: want POST or PUT", c.Method)
	}
	if c.ContentType == "" {
		c.ContentType = "application/json"
	}
	if c.RequestBody == "" {
		c.RequestBody = DefaultBody
	}
	if c.MaxLength <= 0 {
		c.MaxLength = 300
	}
	text, err := c.Template(notify.FormatSMS)
	if err != nil {
		return nil, fmt.Errorf("sms_http: %w", err)
	}
	body, err := notify.NewTextTemplate("requestBody", c.RequestBody, c.Lang)
	if err != nil {
		return nil, fmt.Errorf("sms_http: %w", err)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: c.Timeout}
	}
	secrets := []notify.Secret{c.URL}
	for _, v := range c.Headers {
		secrets = append(secrets, v)
	}
	return &Receiver{cfg: c, text: text, body: body, client: client, secrets: secrets}, nil
}

// Text renders the SMS text for n.
func (r *Receiver) Text(n notify.Notification) (string, error) {
	title, body, err := r.text.Render(n)
	if err != nil {
		return "", fmt.Errorf("sms_http: %w", err)
	}
	return notify.Clip(title+": "+body, r.cfg.MaxLength), nil
}

// Bodies renders one request body, or one per number with PerRecipient.
func (r *Receiver) Bodies(n notify.Notification) ([]string, error) {
	text, err := r.Text(n)
	if err != nil {
		return nil, err
	}
	phones := []string{""}
	if r.cfg.PerRecipient {
		phones = r.cfg.To
	}
	var out []string
	for _, p := range phones {
		b, err := r.body.Execute(Data{Notification: n, To: r.cfg.To, Phone: p, Text: text})
		if err != nil {
			return nil, fmt.Errorf("sms_http: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}

// Notify sends n. A failure for any recipient fails the notification; it is
// retryable when every failure was (a retry resends to all numbers, which
// may repeat an SMS, the lesser evil next to a lost page).
func (r *Receiver) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	bodies, err := r.Bodies(n)
	if err != nil {
		return false, err
	}
	var errs []error
	retryable := true
	for _, b := range bodies {
		if rt, err := r.send(ctx, b); err != nil {
			errs = append(errs, err)
			retryable = retryable && rt
		}
	}
	if len(errs) > 0 {
		return retryable, errors.Join(errs...)
	}
	return false, nil
}

func (r *Receiver) send(ctx context.Context, body string) (bool, error) {
	req, err := http.NewRequest(r.cfg.Method, r.cfg.URL.Reveal(), bytes.NewReader([]byte(body)))
	if err != nil {
		return false, r.fail(err)
	}
	req.Header.Set("Content-Type", r.cfg.ContentType)
	req.Header.Set("User-Agent", notify.UserAgent)
	for k, v := range r.cfg.Headers {
		req.Header.Set(k, v.Reveal())
	}
	resp, retryable, err := notify.Send(ctx, r.client, req)
	if err != nil {
		return retryable, r.fail(err)
	}
	if resp.Status/100 != 2 {
		return notify.RetryableStatus(resp.Status), r.fail(notify.StatusError(resp))
	}
	if r.cfg.SuccessContains != "" && !strings.Contains(string(resp.Body), r.cfg.SuccessContains) {
		return false, r.fail(fmt.Errorf("answer lacks %q: %w", r.cfg.SuccessContains, notify.StatusError(resp)))
	}
	return false, nil
}

func (r *Receiver) fail(err error) error {
	return notify.Redact(fmt.Errorf("sms_http: %s %s: %w", r.cfg.Method, notify.SafeURL(r.cfg.URL), err), r.secrets...)
}
