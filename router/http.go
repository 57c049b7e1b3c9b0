package router

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// httpProxy forwards a route's HTTP requests to its pool.
type httpProxy struct {
	pool    *pool
	rp      *httputil.ReverseProxy
	base    *http.Transport
	log     *slog.Logger
	retryIn time.Duration
	results *prometheus.CounterVec
	ok      prometheus.Counter // the hot one, looked up once
}

// newTransport is the keep-alive pool to a route's instances; h2c speaks
// HTTP/2 without TLS to them (prior knowledge), as gRPC servers expect.
func newTransport(mode string, dialTimeout time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
	if mode == ModeH2C {
		ps := new(http.Protocols)
		ps.SetUnencryptedHTTP2(true)
		t.Protocols = ps
	}
	return t
}

func newHTTPProxy(p *pool, mode string, dialTimeout time.Duration, log *slog.Logger, results *prometheus.CounterVec) *httpProxy {
	h := &httpProxy{pool: p, base: newTransport(mode, dialTimeout), log: log, retryIn: time.Second, results: results,
		ok: results.WithLabelValues(p.service, "ok")}
	h.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = "instance" // the transport sets the instance
			pr.Out.Host = pr.In.Host     // the service's clients name it
			pr.SetXForwarded()
		},
		Transport:    h,
		ErrorHandler: h.fail,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return h
}

func (h *httpProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.rp.ServeHTTP(w, r) }

func (h *httpProxy) close() { h.base.CloseIdleConnections() }

// RoundTrip sends the request to the least loaded instance, and once to
// another when the connection to the first fails and the request may be
// repeated.
func (h *httpProxy) RoundTrip(req *http.Request) (*http.Response, error) {
	var failed *backend
	for attempt := 0; ; attempt++ {
		b, err := h.pool.acquire(req.Context(), failed)
		if err != nil {
			return nil, err
		}
		req.URL.Host = b.addr
		start := h.pool.clock.Now()
		resp, err := h.base.RoundTrip(req)
		if err != nil {
			h.pool.release(b, h.pool.clock.Now().Sub(start))
			if attempt == 0 && replayable(req) && req.Context().Err() == nil {
				h.results.WithLabelValues(h.pool.service, "retried").Inc()
				h.log.Debug("retrying on another instance", "service", h.pool.service, "instance", b.instance, "err", err)
				failed = b
				continue
			}
			return nil, err
		}
		rel := func() { h.pool.release(b, h.pool.clock.Now().Sub(start)) }
		if rwc, ok := resp.Body.(io.ReadWriteCloser); ok && resp.StatusCode == http.StatusSwitchingProtocols {
			resp.Body = &countedRWC{ReadWriteCloser: rwc, done: rel}
		} else {
			resp.Body = &countedBody{ReadCloser: resp.Body, done: rel}
		}
		h.ok.Inc()
		return resp, nil
	}
}

// replayable: idempotent and without a body to send again.
func replayable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
	default:
		return false
	}
	return req.Body == nil || req.Body == http.NoBody
}

func (h *httpProxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNoInstance), errors.Is(err, ErrQueueFull), errors.Is(err, ErrQueueTimeout):
		h.results.WithLabelValues(h.pool.service, "unavailable").Inc()
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(h.retryIn.Seconds()))))
		http.Error(w, "swell router: "+h.pool.service+": "+err.Error(), http.StatusServiceUnavailable)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		h.results.WithLabelValues(h.pool.service, "client_gone").Inc()
		w.WriteHeader(499) // the client left; nobody reads this
	default:
		h.results.WithLabelValues(h.pool.service, "bad_gateway").Inc()
		h.log.Debug("request failed", "service", h.pool.service, "err", err)
		http.Error(w, "swell router: "+h.pool.service+": "+err.Error(), http.StatusBadGateway)
	}
}

// countedBody ends the request's count when the proxy has copied the
// response and closes it.
type countedBody struct {
	io.ReadCloser
	done func()
	once bool
}

func (c *countedBody) Close() error {
	err := c.ReadCloser.Close()
	if !c.once {
		c.once = true
		c.done()
	}
	return err
}

// countedRWC is countedBody for an upgraded connection (WebSocket): the
// request is in flight as long as the connection lasts.
type countedRWC struct {
	io.ReadWriteCloser
	done func()
	once bool
}

func (c *countedRWC) Close() error {
	err := c.ReadWriteCloser.Close()
	if !c.once {
		c.once = true
		c.done()
	}
	return err
}
