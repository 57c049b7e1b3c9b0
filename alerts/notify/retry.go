package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/swell-pipeline/swell/internal/clock"
)

// RetryPolicy bounds how long a retryable failure is retried.
type RetryPolicy struct {
	Initial     time.Duration // first wait; default 500ms
	Max         time.Duration // cap on one wait; default 10s
	MaxAttempts int           // attempts including the first; default 6
	MaxElapsed  time.Duration // give up once this much time passed; default 1m
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Initial <= 0 {
		p.Initial = 500 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 10 * time.Second
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 6
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = time.Minute
	}
	return p
}

// Backoff returns the wait before attempt number attempt+1 (attempt counts
// from 1): Initial doubled per attempt, capped at Max. No jitter: there is
// one sender per receiver, so there is no herd to spread out, and a fixed
// schedule keeps the tests exact.
func (p RetryPolicy) Backoff(attempt int) time.Duration {
	p = p.withDefaults()
	d := p.Initial
	for i := 1; i < attempt; i++ {
		d *= 2
		if d >= p.Max {
			return p.Max
		}
	}
	return min(d, p.Max)
}

// ErrGaveUp marks a retryable failure that ran out of attempts or time.
var ErrGaveUp = errors.New("gave up retrying")

// retry calls send until it succeeds, fails for good, or the policy's
// bounds are reached. It returns the number of attempts made.
func retry(ctx context.Context, clk clock.Clock, p RetryPolicy, send func(context.Context) (bool, error), onRetry func(attempt int, wait time.Duration, err error)) (int, error) {
	p = p.withDefaults()
	start := clk.Now()
	for attempt := 1; ; attempt++ {
		retryable, err := send(ctx)
		if err == nil {
			return attempt, nil
		}
		if !retryable {
			return attempt, err
		}
		wait := p.Backoff(attempt)
		var hint interface{ RetryAfter() time.Duration }
		if errors.As(err, &hint) {
			wait = max(wait, hint.RetryAfter())
		}
		if attempt >= p.MaxAttempts || clk.Now().Add(wait).Sub(start) > p.MaxElapsed {
			return attempt, fmt.Errorf("%w after %d attempts: %w", ErrGaveUp, attempt, err)
		}
		if onRetry != nil {
			onRetry(attempt, wait, err)
		}
		t := clk.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, fmt.Errorf("retry cancelled after %d attempts: %w (last error: %w)", attempt, ctx.Err(), err)
		case <-t.C():
		}
	}
}

// retryAfterError carries a provider's own "try again in" hint (HTTP
// Retry-After, Telegram's retry_after).
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string             { return e.err.Error() }
func (e *retryAfterError) Unwrap() error             { return e.err }
func (e *retryAfterError) RetryAfter() time.Duration { return e.after }

// WithRetryAfter attaches a provider's hint to err; the pipeline then waits
// at least that long before the next attempt (still within MaxElapsed).
func WithRetryAfter(err error, after time.Duration) error {
	if err == nil || after <= 0 {
		return err
	}
	return &retryAfterError{err: err, after: after}
}

// RetryAfterHeader parses an HTTP Retry-After value given in seconds (the
// form rate limiters use); dates and garbage give 0.
func RetryAfterHeader(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}
