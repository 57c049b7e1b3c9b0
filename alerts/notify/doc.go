// Package notify is the notification model and the pipeline every receiver
// sits behind.
//
// A route hands a Notification (one group of alerts) to a Pipeline:
//
//	Notify ─► rate limit (token bucket) ─┬─► retry (backoff, retryable only) ─► Notifier ─► record
//	                                     └─► fold into digest ─► Run flushes it when a token returns
//
// A Notifier is one integration (webhook, DingTalk, SMS …) in its own package
// under alerts/receivers. It only sends and says whether a failure is worth
// retrying; backoff, rate limits and accounting belong to the pipeline, so
// every integration behaves the same way under failure.
//
// Secret holds a credential resolved from ${ENV} or file:/path; it prints as
// "xxxxx" everywhere, and Redact strips secret values out of errors before
// they reach logs or API output. Template renders titles and bodies with
// Go text/template, with default texts in English and Chinese.
package notify
