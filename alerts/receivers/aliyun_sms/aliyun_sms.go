package aliyun_sms //nolint:revive // the folder name is the receiver type users write

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // the provider's signature is defined with HMAC-SHA1
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/internal/clock"
)

// DefaultEndpoint is the SMS API host.
const DefaultEndpoint = "https://dysmsapi.aliyuncs.com"

// DefaultTemplateParams fill a template like "${name} is ${status}".
var DefaultTemplateParams = map[string]string{
	"name":   `{{or .CommonLabels.alertname .GroupKey}}`,
	"status": `{{tr .Status}}{{if .Alerts.Firing}} {{len .Alerts.Firing}}{{end}}`,
}

// Config is an Alibaba Cloud SMS receiver's settings.
type Config struct {
	AccessKeyID     string        `yaml:"accessKeyID" json:"accessKeyID"`
	AccessKeySecret notify.Secret `yaml:"accessKeySecret" json:"accessKeySecret"`
	SignName        string        `yaml:"signName" json:"signName"`         // approved sign name
	TemplateCode    string        `yaml:"templateCode" json:"templateCode"` // approved template, SMS_…
	// TemplateParams maps the template's variables to Go templates over the
	// notification (default DefaultTemplateParams).
	TemplateParams map[string]string `yaml:"templateParams,omitempty" json:"templateParams,omitempty"`
	// MaxParamLength cuts each rendered parameter (characters, default 35,
	// the limit Alibaba Cloud sets for most variable types).
	MaxParamLength int         `yaml:"maxParamLength,omitempty" json:"maxParamLength,omitempty"`
	PhoneNumbers   []string    `yaml:"phoneNumbers" json:"phoneNumbers"`
	RegionID       string      `yaml:"regionID,omitempty" json:"regionID,omitempty"` // default cn-hangzhou
	Endpoint       string      `yaml:"endpoint,omitempty" json:"endpoint,omitempty"` // default DefaultEndpoint
	Lang           notify.Lang `yaml:"lang,omitempty" json:"lang,omitempty"`

	Timeout    time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	HTTPClient *http.Client  `yaml:"-" json:"-"`
	Clock      clock.Clock   `yaml:"-" json:"-"`
	Nonce      func() string `yaml:"-" json:"-"` // SignatureNonce source; default random
}

// Receiver sends through one Alibaba Cloud account.
type Receiver struct {
	cfg    Config
	params map[string]*notify.TextTemplate
	client *http.Client
}

var _ notify.Notifier = (*Receiver)(nil)

// New validates c.
func New(c Config) (*Receiver, error) {
	switch {
	case c.AccessKeyID == "":
		return nil, errors.New("aliyun_sms: accessKeyID is required")
	case c.AccessKeySecret.IsZero():
		return nil, errors.New("aliyun_sms: accessKeySecret is required")
	case c.SignName == "":
		return nil, errors.New("aliyun_sms: signName is required")
	case c.TemplateCode == "":
		return nil, errors.New("aliyun_sms: templateCode is required")
	case len(c.PhoneNumbers) == 0:
		return nil, errors.New("aliyun_sms: phoneNumbers needs at least one number")
	case len(c.PhoneNumbers) > 1000:
		return nil, fmt.Errorf("aliyun_sms: %d phoneNumbers, SendSms takes at most 1000", len(c.PhoneNumbers))
	}
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("aliyun_sms: endpoint %q is not an http(s) URL", c.Endpoint)
	}
	if c.RegionID == "" {
		c.RegionID = "cn-hangzhou"
	}
	if c.TemplateParams == nil {
		c.TemplateParams = DefaultTemplateParams
	}
	if c.MaxParamLength <= 0 {
		c.MaxParamLength = 35
	}
	params := map[string]*notify.TextTemplate{}
	for k, src := range c.TemplateParams {
		t, err := notify.NewTextTemplate("templateParams."+k, src, c.Lang)
		if err != nil {
			return nil, fmt.Errorf("aliyun_sms: %w", err)
		}
		params[k] = t
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Nonce == nil {
		c.Nonce = randomNonce
	}
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: c.Timeout}
	}
	return &Receiver{cfg: c, params: params, client: client}, nil
}

func randomNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// PercentEncode is the RPC signature's encoding: RFC 3986 unreserved
// characters stay, everything else is %XX in upper case, space is %20
// (not +), * is %2A and ~ is left alone.
func PercentEncode(s string) string {
	e := url.QueryEscape(s)
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(e)
}

// Canonicalize sorts params by key and joins them percent-encoded.
func Canonicalize(params map[string]string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(params)) {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(PercentEncode(k) + "=" + PercentEncode(params[k]))
	}
	return b.String()
}

// Sign returns the base64 signature of a request: HMAC-SHA1 keyed by
// secret + "&" over method + "&%2F&" + PercentEncode(Canonicalize(params)).
func Sign(method string, params map[string]string, secret string) string {
	toSign := method + "&" + PercentEncode("/") + "&" + PercentEncode(Canonicalize(params))
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Params returns the SendSms parameters for n, without the signature.
func (r *Receiver) Params(n notify.Notification) (map[string]string, error) {
	values := map[string]string{}
	for k, t := range r.params {
		v, err := t.Execute(n)
		if err != nil {
			return nil, fmt.Errorf("aliyun_sms: %w", err)
		}
		values[k] = notify.Clip(v, r.cfg.MaxParamLength)
	}
	tp, err := notify.EncodeJSON(values)
	if err != nil {
		return nil, fmt.Errorf("aliyun_sms: encode templateParams: %w", err)
	}
	return map[string]string{
		"AccessKeyId":      r.cfg.AccessKeyID,
		"Action":           "SendSms",
		"Format":           "JSON",
		"PhoneNumbers":     strings.Join(r.cfg.PhoneNumbers, ","),
		"RegionId":         r.cfg.RegionID,
		"SignName":         r.cfg.SignName,
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureNonce":   r.cfg.Nonce(),
		"SignatureVersion": "1.0",
		"TemplateCode":     r.cfg.TemplateCode,
		"TemplateParam":    string(tp),
		"Timestamp":        r.cfg.Clock.Now().UTC().Format("2006-01-02T15:04:05Z"),
		"Version":          "2017-05-25",
	}, nil
}

type answer struct {
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	RequestID string `json:"RequestId"`
}

// retryableCodes are flow control and provider-side faults; everything
// else (bad number, unapproved sign or template, wrong key or signature)
// cannot succeed by repeating.
var retryableCodes = map[string]bool{
	"isv.BUSINESS_LIMIT_CONTROL": true,
	"Throttling":                 true,
	"Throttling.User":            true,
	"Throttling.Api":             true,
	"isp.SYSTEM_ERROR":           true,
	"ServiceUnavailable":         true,
	"InternalError":              true,
}

// Notify sends one SendSms request for all numbers.
func (r *Receiver) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	params, err := r.Params(n)
	if err != nil {
		return false, err
	}
	sig := Sign(http.MethodGet, params, r.cfg.AccessKeySecret.Reveal())
	target := strings.TrimRight(r.cfg.Endpoint, "/") + "/?Signature=" + PercentEncode(sig) + "&" + Canonicalize(params)
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return false, r.fail(err)
	}
	req.Header.Set("User-Agent", notify.UserAgent)
	req.Header.Set("Accept", "application/json")
	resp, retryable, err := notify.Send(ctx, r.client, req)
	if err != nil {
		return retryable, r.fail(err)
	}
	var a answer
	if json.Unmarshal(resp.Body, &a) != nil || a.Code == "" {
		return notify.RetryableStatus(resp.Status), r.fail(fmt.Errorf("unexpected answer: %w", notify.StatusError(resp)))
	}
	if a.Code == "OK" && resp.Status/100 == 2 {
		return false, nil
	}
	return retryableCodes[a.Code] || resp.Status >= 500, r.fail(fmt.Errorf("HTTP %d, Code %s: %s (RequestId %s)", resp.Status, a.Code, a.Message, a.RequestID))
}

func (r *Receiver) fail(err error) error {
	// Errors from the transport quote the whole URL; only its host is kept.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return notify.Redact(fmt.Errorf("aliyun_sms: SendSms to %d numbers via %s: %w", len(r.cfg.PhoneNumbers), r.cfg.Endpoint, err), r.cfg.AccessKeySecret)
}
