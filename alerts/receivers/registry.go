package receivers

import (
	"github.com/swell-pipeline/swell/alerts/notify"
	aliyunsms "github.com/swell-pipeline/swell/alerts/receivers/aliyun_sms"
	"github.com/swell-pipeline/swell/alerts/receivers/dingtalk"
	"github.com/swell-pipeline/swell/alerts/receivers/email"
	"github.com/swell-pipeline/swell/alerts/receivers/feishu"
	"github.com/swell-pipeline/swell/alerts/receivers/slack"
	smshttp "github.com/swell-pipeline/swell/alerts/receivers/sms_http"
	"github.com/swell-pipeline/swell/alerts/receivers/teams"
	"github.com/swell-pipeline/swell/alerts/receivers/telegram"
	tencentsms "github.com/swell-pipeline/swell/alerts/receivers/tencent_sms"
	"github.com/swell-pipeline/swell/alerts/receivers/twilio"
	"github.com/swell-pipeline/swell/alerts/receivers/webhook"
	"github.com/swell-pipeline/swell/alerts/receivers/wecom"
)

// Decode fills a receiver's Config from its configuration document (for
// YAML, a *yaml.Node's Decode). Secrets are resolved while decoding.
type Decode func(config any) error

// Factory builds a receiver from its configuration. It validates but does
// not connect.
type Factory func(decode Decode) (notify.Notifier, error)

// Spec describes a built-in receiver.
type Spec struct {
	New         Factory
	Description string
	// RateLimit is the provider's documented limit, for the receiver's
	// pipeline; zero means none known.
	RateLimit notify.RateLimit
	// SMS receivers are the escalation targets of a route.
	SMS bool
}

// build adapts a receiver package's New to a Factory.
func build[C any, R notify.Notifier](newReceiver func(C) (R, error)) Factory {
	return func(decode Decode) (notify.Notifier, error) {
		var c C
		if err := decode(&c); err != nil {
			return nil, err
		}
		r, err := newReceiver(c)
		if err != nil {
			// Returned as a plain nil so callers' nil checks hold.
			return nil, err
		}
		return r, nil
	}
}

// Builtin returns the built-in receivers by type name.
func Builtin() map[string]Spec {
	return map[string]Spec{
		"webhook": {New: build(webhook.New), Description: "Alertmanager webhook v4 JSON, optional HMAC-SHA256 signature"},
		"dingtalk": {New: build(dingtalk.New), Description: "DingTalk custom robot, text or markdown, signed",
			RateLimit: dingtalk.RateLimit},
		"feishu": {New: build(feishu.New), Description: "Feishu custom bot, card or text, signed",
			RateLimit: feishu.RateLimit},
		"lark": {New: build(feishu.NewLark), Description: "Lark (larksuite.com) custom bot, card or text, signed",
			RateLimit: feishu.RateLimit},
		"wecom": {New: build(wecom.New), Description: "WeCom group robot, markdown or text",
			RateLimit: wecom.RateLimit},
		"slack":       {New: build(slack.New), Description: "Slack incoming webhook with Block Kit"},
		"teams":       {New: build(teams.New), Description: "Microsoft Teams Workflows webhook with an Adaptive Card"},
		"telegram":    {New: build(telegram.New), Description: "Telegram Bot API sendMessage", RateLimit: telegram.RateLimit},
		"email":       {New: build(email.New), Description: "plain-text mail over SMTP with STARTTLS or TLS"},
		"sms_http":    {New: build(smshttp.New), Description: "any HTTP SMS gateway, templated request body", SMS: true},
		"twilio":      {New: build(twilio.New), Description: "Twilio Messages API (SMS)", SMS: true},
		"aliyun_sms":  {New: build(aliyunsms.New), Description: "Alibaba Cloud SMS SendSms, RPC HMAC-SHA1 signature", SMS: true},
		"tencent_sms": {New: build(tencentsms.New), Description: "Tencent Cloud SMS SendSms, TC3-HMAC-SHA256 signature", SMS: true},
	}
}
