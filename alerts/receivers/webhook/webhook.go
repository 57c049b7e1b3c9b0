package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"time"

	"github.com/swell-pipeline/swell/alerts/notify"
)

// DefaultSignatureHeader carries "sha256=" + hex(HMAC-SHA256(secret, body)).
const DefaultSignatureHeader = "X-Swell-Signature"

// Config is a webhook receiver's settings.
type Config struct {
	URL             notify.Secret            `yaml:"url" json:"url"`
	Secret          notify.Secret            `yaml:"secret,omitempty" json:"secret,omitempty"` // HMAC key; no signature when empty
	SignatureHeader string                   `yaml:"signatureHeader,omitempty" json:"signatureHeader,omitempty"`
	Headers         map[string]notify.Secret `yaml:"headers,omitempty" json:"headers,omitempty"`     // e.g. Authorization
	MaxAlerts       int                      `yaml:"maxAlerts,omitempty" json:"maxAlerts,omitempty"` // 0 = all; the rest are counted in truncatedAlerts
	Timeout         time.Duration            `yaml:"timeout,omitempty" json:"timeout,omitempty"`     // default 10s
	HTTPClient      *http.Client             `yaml:"-" json:"-"`
}

// Receiver posts to one webhook URL.
type Receiver struct {
	cfg     Config
	client  *http.Client
	secrets []notify.Secret
}

var _ notify.Notifier = (*Receiver)(nil)

// New validates c.
func New(c Config) (*Receiver, error) {
	_, err := notify.CheckURL("webhook", "url", c.URL)
	if err != nil {
		return nil, err
	}
	if c.MaxAlerts < 0 {
		return nil, fmt.Errorf("webhook: maxAlerts %d is negative", c.MaxAlerts)
	}
	if c.SignatureHeader == "" {
		c.SignatureHeader = DefaultSignatureHeader
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: c.Timeout}
	}
	secrets := []notify.Secret{c.URL, c.Secret}
	for _, v := range c.Headers {
		secrets = append(secrets, v)
	}
	return &Receiver{cfg: c, client: client, secrets: secrets}, nil
}

// Message is the Alertmanager webhook v4 body; field order follows
// Alertmanager's so the bytes match what its consumers have seen.
type Message struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Alerts            []Alert           `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
}

// Alert is one alert in a Message.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// nonNil keeps empty maps as {} rather than null, as Alertmanager sends them.
func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

// Encode builds the v4 body for n, keeping at most maxAlerts alerts (0: all).
func Encode(n notify.Notification, maxAlerts int) ([]byte, error) {
	alerts := n.Alerts
	truncated := 0
	if maxAlerts > 0 && len(alerts) > maxAlerts {
		truncated = len(alerts) - maxAlerts
		alerts = alerts[:maxAlerts]
	}
	m := Message{
		Receiver: n.Receiver, Status: string(n.Status), Alerts: make([]Alert, 0, len(alerts)),
		GroupLabels: nonNil(n.GroupLabels), CommonLabels: nonNil(n.CommonLabels), CommonAnnotations: nonNil(n.CommonAnnotations),
		ExternalURL: n.ExternalURL, Version: "4", GroupKey: n.GroupKey, TruncatedAlerts: truncated,
	}
	for _, a := range alerts {
		m.Alerts = append(m.Alerts, Alert{
			Status: string(a.Status), Labels: nonNil(a.Labels), Annotations: nonNil(a.Annotations),
			StartsAt: a.StartsAt.UTC(), EndsAt: a.EndsAt.UTC(), GeneratorURL: a.GeneratorURL, Fingerprint: a.Fingerprint,
		})
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("webhook: encode: %w", err)
	}
	return append(b, '\n'), nil
}

// Sign returns the signature header value for body.
func Sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Notify posts n. Network errors, 429 and 5xx are retryable; other answers
// outside 2xx are not.
func (r *Receiver) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	body, err := Encode(n, r.cfg.MaxAlerts)
	if err != nil {
		return false, err
	}
	req, err := notify.NewJSONRequest(r.cfg.URL.Reveal(), body)
	if err != nil {
		return false, r.fail(err)
	}
	for k, v := range r.cfg.Headers {
		req.Header.Set(k, v.Reveal())
	}
	if !r.cfg.Secret.IsZero() {
		req.Header.Set(r.cfg.SignatureHeader, Sign([]byte(r.cfg.Secret.Reveal()), body))
	}
	resp, retryable, err := notify.Send(ctx, r.client, req)
	if err != nil {
		return retryable, r.fail(err)
	}
	if resp.Status/100 != 2 {
		return notify.RetryableStatus(resp.Status), r.fail(notify.StatusError(resp))
	}
	return false, nil
}

func (r *Receiver) fail(err error) error {
	return notify.Redact(fmt.Errorf("webhook: POST %s: %w", notify.SafeURL(r.cfg.URL), err), r.secrets...)
}
