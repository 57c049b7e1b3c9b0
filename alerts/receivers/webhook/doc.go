// Package webhook posts notifications as Alertmanager webhook (version 4)
// JSON, so anything written for Alertmanager's webhook receiver can consume
// swell's alerts unchanged. An optional HMAC-SHA256 of the body lets the
// consumer check the sender.
package webhook
