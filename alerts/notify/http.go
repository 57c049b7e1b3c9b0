package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// maxResponse caps how much of a provider's answer is read; answers are
// small JSON documents and a misbehaving endpoint must not fill memory.
const maxResponse = 64 << 10

// Response is what a provider answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Send performs req with client and reads the answer. A transport failure
// (refused, reset, timeout) is returned as an error and is retryable unless
// ctx itself ended. The caller redacts the error with its secrets.
func Send(ctx context.Context, client *http.Client, req *http.Request) (Response, bool, error) {
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return Response{}, ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return Response{}, true, fmt.Errorf("read response: %w", err)
	}
	out := Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if f, ok := ctx.Value(answerKey{}).(func(Response)); ok {
		f(out)
	}
	return out, false, nil
}

type answerKey struct{}

// WithAnswer returns a context under which every provider answer read by
// Send is also given to f: `swell alerts test` shows what the provider
// said.
func WithAnswer(ctx context.Context, f func(Response)) context.Context {
	return context.WithValue(ctx, answerKey{}, f)
}

// RetryableStatus reports whether an HTTP status is worth retrying: 429 and
// the server errors. Other 4xx mean the request or credentials are wrong and
// repeating it cannot help.
func RetryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// StatusError describes a non-2xx answer with the start of its body, which
// is where providers explain what was wrong. A Retry-After header is kept
// as a hint for the pipeline's next attempt.
func StatusError(r Response) error {
	err := fmt.Errorf("HTTP %d %s: %s", r.Status, http.StatusText(r.Status), snippet(r.Body))
	return WithRetryAfter(err, RetryAfterHeader(r.Header.Get("Retry-After")))
}

func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 256 {
		return string(b[:256]) + "…"
	}
	return string(b)
}

// NewJSONRequest builds a POST with a JSON body.
func NewJSONRequest(url string, body []byte) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	return req, nil
}

// UserAgent identifies swell to providers.
const UserAgent = "swell-alerts/1"

// SafeURL is a URL secret reduced to what may be shown in errors and logs:
// scheme and host, the rest masked (tokens live in the path or query).
func SafeURL(s Secret) string {
	u, err := url.Parse(s.Reveal())
	if err != nil || u.Host == "" {
		return Mask
	}
	return u.Scheme + "://" + u.Host + "/" + Mask
}

// EncodeJSON marshals v without escaping <, > and &: chat providers render
// those characters (mentions, links), and the escapes make golden files and
// captured requests hard to read.
func EncodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// CheckURL checks a receiver's URL setting: given, and an http(s) URL with
// a host. receiver prefixes the errors, which show the URL only as
// SafeURL does (never a token it carries).
func CheckURL(receiver, field string, s Secret) (*url.URL, error) {
	if s.IsZero() {
		return nil, fmt.Errorf("%s: %s is required", receiver, field)
	}
	u, err := url.Parse(s.Reveal())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: %s %s is not an http(s) URL", receiver, field, SafeURL(s))
	}
	return u, nil
}
