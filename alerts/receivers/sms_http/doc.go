// Package sms_http sends SMS through any HTTP gateway: the request body is
// a Go template, so one receiver covers the many regional gateways that take
// "numbers + text" in their own JSON or form shape.
package sms_http //nolint:revive // the folder name is the receiver type users write
