package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
)

// influx writes line protocol with the blocking write API: ingest owns
// batching and retries, so the client's own (which would keep retrying in
// memory and finally drop) stay unused.
type influx struct {
	client influxdb2.Client
	write  api.WriteAPIBlocking
	url    string
}

func newInflux(o InfluxOptions) *influx {
	opts := influxdb2.DefaultOptions().
		SetApplicationName("swell-ingest").
		SetHTTPRequestTimeout(uint(o.Timeout.Seconds())).
		SetUseGZip(o.GZip).
		SetPrecision(time.Nanosecond)
	c := influxdb2.NewClientWithOptions(o.URL, o.Token, opts)
	return &influx{client: c, write: c.WriteAPIBlocking(o.Org, o.Bucket), url: o.URL}
}

// errClass says what a failed write means for the lines in it.
type errClass int

const (
	// unavailable: InfluxDB could not take anything now (down, 5xx,
	// timeout, auth, missing database). Retry later; the lines are fine.
	unavailable errClass = iota
	// rejected: InfluxDB refused some lines of the request (400 partial
	// write, field type conflict, unable to parse; 413; 422). Split the
	// request to find them.
	rejected
)

// writeError is a failed write with InfluxDB's reason.
type writeError struct {
	class  errClass
	status int
	reason string
	err    error
}

func (e *writeError) Error() string {
	if e.status != 0 {
		return fmt.Sprintf("HTTP %d: %s", e.status, e.reason)
	}
	return e.reason
}

func (e *writeError) Unwrap() error { return e.err }

// put writes body and classifies a failure.
func (x *influx) put(ctx context.Context, body []byte) error {
	err := x.write.WriteRecord(ctx, string(body))
	if err == nil {
		return nil
	}
	return classify(err)
}

func classify(err error) *writeError {
	he, ok := errors.AsType[*influxhttp.Error](err)
	if !ok || he.StatusCode == 0 {
		// Transport errors: refused, reset, timeout, cancelled.
		cause := err
		if ok && he.Err != nil {
			cause = he.Err
		}
		return &writeError{class: unavailable, reason: cause.Error(), err: cause}
	}
	reason := strings.TrimSpace(he.Message)
	if reason == "" {
		reason = strings.TrimSpace(he.Header.Get("X-Influxdb-Error"))
	}
	if reason == "" {
		reason = he.Error()
	}
	we := &writeError{class: unavailable, status: he.StatusCode, reason: reason, err: err}
	switch he.StatusCode {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		we.class = rejected
	}
	return we
}

// ping asks InfluxDB whether it answers at all.
func (x *influx) ping(ctx context.Context) error {
	if _, err := x.client.Ping(ctx); err != nil {
		return fmt.Errorf("ingest: ping InfluxDB at %s: %w", x.url, err)
	}
	return nil
}
