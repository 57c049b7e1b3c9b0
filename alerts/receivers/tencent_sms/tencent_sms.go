package tencent_sms //nolint:revive // the folder name is the receiver type users write

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/internal/clock"
)

// API constants of SendSms.
const (
	DefaultEndpoint = "https://sms.tencentcloudapi.com"
	Service         = "sms"
	Action          = "SendSms"
	Version         = "2021-01-11"
	contentType     = "application/json; charset=utf-8"
)

// DefaultTemplateParams fill a template like "{1} is {2}".
var DefaultTemplateParams = []string{
	`{{or .CommonLabels.alertname .GroupKey}}`,
	`{{tr .Status}}{{if .Alerts.Firing}} {{len .Alerts.Firing}}{{end}}`,
}

// Config is a Tencent Cloud SMS receiver's settings.
type Config struct {
	SecretID   string        `yaml:"secretID" json:"secretID"`
	SecretKey  notify.Secret `yaml:"secretKey" json:"secretKey"`
	SdkAppID   string        `yaml:"sdkAppID" json:"sdkAppID"`     // the SMS application, 1400…
	SignName   string        `yaml:"signName" json:"signName"`     // approved sign name (mainland China numbers)
	TemplateID string        `yaml:"templateID" json:"templateID"` // approved template id
	// TemplateParams are Go templates for the template's {1}, {2}, … in
	// order (default DefaultTemplateParams).
	TemplateParams []string `yaml:"templateParams,omitempty" json:"templateParams,omitempty"`
	// MaxParamLength cuts each parameter (characters; 0: no cut). Accounts
	// of individuals are limited to 12 characters per variable.
	MaxParamLength int         `yaml:"maxParamLength,omitempty" json:"maxParamLength,omitempty"`
	PhoneNumbers   []string    `yaml:"phoneNumbers" json:"phoneNumbers"`             // E.164, e.g. +8613800000000; at most 200
	Region         string      `yaml:"region,omitempty" json:"region,omitempty"`     // default ap-guangzhou
	Endpoint       string      `yaml:"endpoint,omitempty" json:"endpoint,omitempty"` // default DefaultEndpoint
	Lang           notify.Lang `yaml:"lang,omitempty" json:"lang,omitempty"`

	Timeout    time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	HTTPClient *http.Client  `yaml:"-" json:"-"`
	Clock      clock.Clock   `yaml:"-" json:"-"`
}

// Receiver sends through one Tencent Cloud account.
type Receiver struct {
	cfg    Config
	host   string
	params []*notify.TextTemplate
	client *http.Client
}

var _ notify.Notifier = (*Receiver)(nil)

// New validates c.
func New(c Config) (*Receiver, error) {
	switch {
	case c.SecretID == "":
		return nil, errors.New("tencent_sms: secretID is required")
	case c.SecretKey.IsZero():
		return nil, errors.New("tencent_sms: secretKey is required")
	case c.SdkAppID == "":
		return nil, errors.New("tencent_sms: sdkAppID is required")
	case c.TemplateID == "":
		return nil, errors.New("tencent_sms: templateID is required")
	case len(c.PhoneNumbers) == 0:
		return nil, errors.New("tencent_sms: phoneNumbers needs at least one number")
	case len(c.PhoneNumbers) > 200:
		return nil, fmt.Errorf("tencent_sms: %d phoneNumbers, SendSms takes at most 200", len(c.PhoneNumbers))
	}
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tencent_sms: endpoint %q is not an http(s) URL", c.Endpoint)
	}
	if c.Region == "" {
		c.Region = "ap-guangzhou"
	}
	if c.TemplateParams == nil {
		c.TemplateParams = DefaultTemplateParams
	}
	var params []*notify.TextTemplate
	for i, src := range c.TemplateParams {
		t, err := notify.NewTextTemplate(fmt.Sprintf("templateParams[%d]", i), src, c.Lang)
		if err != nil {
			return nil, fmt.Errorf("tencent_sms: %w", err)
		}
		params = append(params, t)
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
	return &Receiver{cfg: c, host: u.Host, params: params, client: client}, nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// Authorization returns the TC3-HMAC-SHA256 Authorization header for a
// POST of payload to host, signing the content-type and host headers:
//
//	CanonicalRequest = "POST\n/\n\ncontent-type:" + ct + "\nhost:" + host + "\n\ncontent-type;host\n" + hex(sha256(payload))
//	StringToSign     = "TC3-HMAC-SHA256\n" + timestamp + "\n" + date/service/tc3_request + "\n" + hex(sha256(CanonicalRequest))
//	key              = HMAC(HMAC(HMAC("TC3" + secretKey, date), service), "tc3_request")
//	Signature        = hex(HMAC(key, StringToSign))
//
// with date the UTC day of timestamp.
func Authorization(secretID, secretKey, service, host, ct string, payload []byte, timestamp int64) string {
	date := time.Unix(timestamp, 0).UTC().Format("2006-01-02")
	const signed = "content-type;host"
	canonical := "POST\n/\n\n" + "content-type:" + ct + "\nhost:" + host + "\n\n" + signed + "\n" + sha256Hex(payload)
	scope := date + "/" + service + "/tc3_request"
	toSign := "TC3-HMAC-SHA256\n" + strconv.FormatInt(timestamp, 10) + "\n" + scope + "\n" + sha256Hex([]byte(canonical))
	key := hmacSHA256(hmacSHA256(hmacSHA256([]byte("TC3"+secretKey), date), service), "tc3_request")
	sig := hex.EncodeToString(hmacSHA256(key, toSign))
	return "TC3-HMAC-SHA256 Credential=" + secretID + "/" + scope + ", SignedHeaders=" + signed + ", Signature=" + sig
}

type request struct {
	PhoneNumberSet   []string `json:"PhoneNumberSet"`
	SmsSdkAppID      string   `json:"SmsSdkAppId"`
	SignName         string   `json:"SignName,omitempty"`
	TemplateID       string   `json:"TemplateId"`
	TemplateParamSet []string `json:"TemplateParamSet"`
}

// Body renders the SendSms payload for n.
func (r *Receiver) Body(n notify.Notification) ([]byte, error) {
	values := make([]string, 0, len(r.params))
	for _, t := range r.params {
		v, err := t.Execute(n)
		if err != nil {
			return nil, fmt.Errorf("tencent_sms: %w", err)
		}
		if r.cfg.MaxParamLength > 0 {
			v = notify.Clip(v, r.cfg.MaxParamLength)
		}
		values = append(values, v)
	}
	b, err := notify.EncodeJSON(request{
		PhoneNumberSet: r.cfg.PhoneNumbers, SmsSdkAppID: r.cfg.SdkAppID, SignName: r.cfg.SignName,
		TemplateID: r.cfg.TemplateID, TemplateParamSet: values,
	})
	if err != nil {
		return nil, fmt.Errorf("tencent_sms: encode: %w", err)
	}
	return b, nil
}

type answer struct {
	Response struct {
		Error *struct {
			Code    string `json:"Code"`
			Message string `json:"Message"`
		} `json:"Error"`
		SendStatusSet []struct {
			PhoneNumber string `json:"PhoneNumber"`
			Code        string `json:"Code"`
			Message     string `json:"Message"`
		} `json:"SendStatusSet"`
		RequestID string `json:"RequestId"`
	} `json:"Response"`
}

// retryable says whether an error code can clear by itself: request
// throttling, internal errors and the 30-second per-number limit. Daily
// and hourly limits, bad numbers, unapproved templates and auth failures
// cannot.
func retryable(code string) bool {
	return strings.HasPrefix(code, "RequestLimitExceeded") ||
		strings.HasPrefix(code, "InternalError") ||
		code == "LimitExceeded.PhoneNumberThirtySecondLimit"
}

// Notify sends one SendSms request for all numbers. The call fails if the
// API reports an error or if any number's status is not "Ok".
func (r *Receiver) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	body, err := r.Body(n)
	if err != nil {
		return false, err
	}
	ts := r.cfg.Clock.Now().Unix()
	req, err := http.NewRequest(http.MethodPost, r.cfg.Endpoint, strings.NewReader(string(body)))
	if err != nil {
		return false, r.fail(err)
	}
	req.Header.Set("Authorization", Authorization(r.cfg.SecretID, r.cfg.SecretKey.Reveal(), Service, r.host, contentType, body, ts))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-TC-Action", Action)
	req.Header.Set("X-TC-Version", Version)
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-TC-Region", r.cfg.Region)
	req.Header.Set("User-Agent", notify.UserAgent)
	resp, rt, err := notify.Send(ctx, r.client, req)
	if err != nil {
		return rt, r.fail(err)
	}
	var a answer
	if json.Unmarshal(resp.Body, &a) != nil || (a.Response.Error == nil && a.Response.SendStatusSet == nil) {
		return notify.RetryableStatus(resp.Status), r.fail(fmt.Errorf("unexpected answer: %w", notify.StatusError(resp)))
	}
	if e := a.Response.Error; e != nil {
		return retryable(e.Code), r.fail(fmt.Errorf("%s: %s (RequestId %s)", e.Code, e.Message, a.Response.RequestID))
	}
	var failed []string
	allRetryable := true
	for _, s := range a.Response.SendStatusSet {
		if s.Code != "Ok" {
			failed = append(failed, fmt.Sprintf("%s: %s %s", s.PhoneNumber, s.Code, s.Message))
			allRetryable = allRetryable && retryable(s.Code)
		}
	}
	if len(failed) > 0 {
		return allRetryable, r.fail(fmt.Errorf("%d of %d numbers failed: %s (RequestId %s)", len(failed), len(a.Response.SendStatusSet), strings.Join(failed, "; "), a.Response.RequestID))
	}
	return false, nil
}

func (r *Receiver) fail(err error) error {
	return notify.Redact(fmt.Errorf("tencent_sms: SendSms to %d numbers via %s: %w", len(r.cfg.PhoneNumbers), r.cfg.Endpoint, err), r.cfg.SecretKey)
}
