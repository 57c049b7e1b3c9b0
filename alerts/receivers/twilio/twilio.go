package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/swell-pipeline/swell/alerts/notify"
)

// DefaultAPIURL is Twilio's REST API host.
const DefaultAPIURL = "https://api.twilio.com"

// Config is a Twilio receiver's settings.
type Config struct {
	AccountSID string        `yaml:"accountSID" json:"accountSID"`
	AuthToken  notify.Secret `yaml:"authToken" json:"authToken"`
	// APIKeySID, when set, authenticates as that API key (AuthToken is
	// then the key's secret) instead of the account.
	APIKeySID string `yaml:"apiKeySID,omitempty" json:"apiKeySID,omitempty"`
	// From is the sending number; or MessagingServiceSID picks one.
	From                string   `yaml:"from,omitempty" json:"from,omitempty"`
	MessagingServiceSID string   `yaml:"messagingServiceSID,omitempty" json:"messagingServiceSID,omitempty"`
	To                  []string `yaml:"to" json:"to"`
	MaxLength           int      `yaml:"maxLength,omitempty" json:"maxLength,omitempty"` // characters, default 300
	APIURL              string   `yaml:"apiURL,omitempty" json:"apiURL,omitempty"`

	notify.TemplateConfig `yaml:",inline" json:",inline"`

	Timeout    time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	HTTPClient *http.Client  `yaml:"-" json:"-"`
}

// Receiver sends through one Twilio account.
type Receiver struct {
	cfg      Config
	tpl      *notify.Template
	endpoint string
	client   *http.Client
}

var _ notify.Notifier = (*Receiver)(nil)

// New validates c.
func New(c Config) (*Receiver, error) {
	switch {
	case !strings.HasPrefix(c.AccountSID, "AC"):
		return nil, fmt.Errorf("twilio: accountSID %q must start with AC", c.AccountSID)
	case c.AuthToken.IsZero():
		return nil, errors.New("twilio: authToken is required")
	case c.From == "" && c.MessagingServiceSID == "":
		return nil, errors.New("twilio: from or messagingServiceSID is required")
	case len(c.To) == 0:
		return nil, errors.New("twilio: to needs at least one phone number")
	}
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	u, err := url.Parse(c.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("twilio: apiURL %q is not an http(s) URL", c.APIURL)
	}
	if c.MaxLength <= 0 {
		c.MaxLength = 300
	}
	tpl, err := c.Template(notify.FormatSMS)
	if err != nil {
		return nil, fmt.Errorf("twilio: %w", err)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: c.Timeout}
	}
	endpoint := strings.TrimRight(c.APIURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(c.AccountSID) + "/Messages.json"
	return &Receiver{cfg: c, tpl: tpl, endpoint: endpoint, client: client}, nil
}

// Form returns the request body for one recipient (url.Values encodes in
// key order: Body, From or MessagingServiceSid, To).
func (r *Receiver) Form(n notify.Notification, to string) (string, error) {
	title, body, err := r.tpl.Render(n)
	if err != nil {
		return "", fmt.Errorf("twilio: %w", err)
	}
	v := url.Values{"To": {to}, "Body": {notify.Clip(title+": "+body, r.cfg.MaxLength)}}
	if r.cfg.MessagingServiceSID != "" {
		v.Set("MessagingServiceSid", r.cfg.MessagingServiceSID)
	} else {
		v.Set("From", r.cfg.From)
	}
	return v.Encode(), nil
}

type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
}

// Notify sends one message per recipient. 429 (code 20429), 5xx and
// transport errors are retryable; 400/401/403/404 (invalid number,
// unverified sender, bad credentials) are not.
func (r *Receiver) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	var errs []error
	retryable := true
	for _, to := range r.cfg.To {
		if rt, err := r.send(ctx, n, to); err != nil {
			errs = append(errs, err)
			retryable = retryable && rt
		}
	}
	if len(errs) > 0 {
		return retryable, errors.Join(errs...)
	}
	return false, nil
}

func (r *Receiver) send(ctx context.Context, n notify.Notification, to string) (bool, error) {
	form, err := r.Form(n, to)
	if err != nil {
		return false, err
	}
	req, err := http.NewRequest(http.MethodPost, r.endpoint, strings.NewReader(form))
	if err != nil {
		return false, r.fail(to, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", notify.UserAgent)
	user := r.cfg.AccountSID
	if r.cfg.APIKeySID != "" {
		user = r.cfg.APIKeySID
	}
	req.SetBasicAuth(user, r.cfg.AuthToken.Reveal())
	resp, retryable, err := notify.Send(ctx, r.client, req)
	if err != nil {
		return retryable, r.fail(to, err)
	}
	if resp.Status/100 == 2 {
		return false, nil
	}
	var e apiError
	if json.Unmarshal(resp.Body, &e) == nil && e.Code != 0 {
		return notify.RetryableStatus(resp.Status), r.fail(to, fmt.Errorf("HTTP %d, code %d: %s", resp.Status, e.Code, e.Message))
	}
	return notify.RetryableStatus(resp.Status), r.fail(to, notify.StatusError(resp))
}

func (r *Receiver) fail(to string, err error) error {
	return notify.Redact(fmt.Errorf("twilio: send to %s via %s: %w", to, r.endpoint, err), r.cfg.AuthToken)
}
