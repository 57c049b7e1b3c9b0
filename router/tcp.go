package router

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// tcpProxy splices a route's connections to its instances: a connection
// is one request in flight for as long as it lasts.
type tcpProxy struct {
	pool        *pool
	dialTimeout time.Duration
	log         *slog.Logger
	results     *prometheus.CounterVec

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newTCPProxy(p *pool, dialTimeout time.Duration, log *slog.Logger, results *prometheus.CounterVec) *tcpProxy {
	return &tcpProxy{pool: p, dialTimeout: dialTimeout, log: log, results: results, conns: map[net.Conn]struct{}{}}
}

// serve accepts until l is closed.
func (t *tcpProxy) serve(ctx context.Context, l net.Listener) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		wg.Go(func() { t.handle(ctx, c) })
	}
}

// closeAll ends every spliced connection (shutdown).
func (t *tcpProxy) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.conns {
		_ = c.Close()
	}
}

func (t *tcpProxy) track(c net.Conn, on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if on {
		t.conns[c] = struct{}{}
	} else {
		delete(t.conns, c)
	}
}

func (t *tcpProxy) handle(ctx context.Context, in net.Conn) {
	t.track(in, true)
	defer t.track(in, false)
	defer in.Close()
	var failed *backend
	for attempt := 0; attempt < 2; attempt++ {
		b, err := t.pool.acquire(ctx, failed)
		if err != nil {
			t.results.WithLabelValues(t.pool.service, "unavailable").Inc()
			t.log.Debug("connection refused: no instance", "service", t.pool.service, "err", err)
			return
		}
		start := t.pool.clock.Now()
		d := net.Dialer{Timeout: t.dialTimeout}
		out, err := d.DialContext(ctx, "tcp", b.addr)
		if err != nil {
			t.pool.release(b, t.pool.clock.Now().Sub(start))
			t.log.Debug("cannot connect to instance", "service", t.pool.service, "instance", b.instance, "err", err)
			failed = b
			if attempt == 0 {
				t.results.WithLabelValues(t.pool.service, "retried").Inc()
			} else {
				t.results.WithLabelValues(t.pool.service, "bad_gateway").Inc()
			}
			continue
		}
		t.results.WithLabelValues(t.pool.service, "ok").Inc()
		t.track(out, true)
		splice(in, out)
		t.track(out, false)
		_ = out.Close()
		t.pool.release(b, t.pool.clock.Now().Sub(start))
		return
	}
}

// splice copies both ways until both sides are done, passing half-closes
// on so protocols that end their requests with one keep working.
func splice(a, b net.Conn) {
	var wg sync.WaitGroup
	cp := func(dst, src net.Conn) {
		defer wg.Done()
		_, err := io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok && err == nil {
			_ = cw.CloseWrite()
		} else {
			_ = dst.Close()
			_ = src.Close()
		}
		if err != nil && !errors.Is(err, net.ErrClosed) {
			_ = src.Close()
		}
	}
	wg.Add(2)
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
}
