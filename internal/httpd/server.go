package httpd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check reports whether one part of the process works. It must return
// quickly; the server gives it a deadline of CheckTimeout.
type Check func(ctx context.Context) error

// CheckTimeout bounds each health check.
const CheckTimeout = 2 * time.Second

// Options configures a Server.
type Options struct {
	// Addr is host:port to listen on; port 0 picks a free one.
	Addr string
	// Gatherer serves /metrics.
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	// Token guards the API routes (/v1/…) with a bearer token; /healthz and
	// /metrics stay open for probes and scrapers.
	Token string
}

// Server serves /healthz, /metrics and the routes added with Handle.
type Server struct {
	opts   Options
	mux    *http.ServeMux
	mu     sync.Mutex
	checks map[string]Check
	ln     net.Listener
	ready  chan struct{}
}

// New validates the options. It does not listen yet.
func New(o Options) (*Server, error) {
	if o.Addr == "" {
		return nil, errors.New("http: no listen address (--http)")
	}
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		return nil, fmt.Errorf("http: --http %q: want host:port: %w", o.Addr, err)
	}
	if o.Gatherer == nil {
		o.Gatherer = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: o, mux: http.NewServeMux(), checks: map[string]Check{}, ready: make(chan struct{})}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{ErrorLog: slogPrinter{o.Logger}}))
	return s, nil
}

// AddCheck registers a named health check.
func (s *Server) AddCheck(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = c
}

// Handle adds an API route (Go 1.22 pattern syntax), behind the token.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, withToken(s.opts.Token, h))
}

// Listen binds the address. Run calls it if it was not called before;
// callers that need the bound address first (port 0) call it themselves.
func (s *Server) Listen() error {
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("http: listen on %s: %w", s.opts.Addr, err)
	}
	s.ln = ln
	close(s.ready)
	return nil
}

// Addr is the bound address (valid after Listen).
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.opts.Addr
	}
	return s.ln.Addr().String()
}

// Run serves until ctx ends, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	hs := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http: serve on %s: %w", s.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("http: shut down: %w", err)
	}
	return nil
}

// Health runs every check and returns the result of each (nil error: ok).
func (s *Server) Health(ctx context.Context) map[string]error {
	s.mu.Lock()
	checks := make(map[string]Check, len(s.checks))
	for k, v := range s.checks {
		checks[k] = v
	}
	s.mu.Unlock()
	res := make(map[string]error, len(checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, CheckTimeout)
			defer cancel()
			err := c(cctx)
			mu.Lock()
			res[name] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	return res
}

// HealthReport is the body of /healthz.
type HealthReport struct {
	Status string            `json:"status"` // "ok" or "unhealthy"
	Checks map[string]string `json:"checks"` // "ok" or the error
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	res := s.Health(r.Context())
	rep := HealthReport{Status: "ok", Checks: make(map[string]string, len(res))}
	names := make([]string, 0, len(res))
	for name := range res {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := res[name]; err != nil {
			rep.Status = "unhealthy"
			rep.Checks[name] = err.Error()
		} else {
			rep.Checks[name] = "ok"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if rep.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(rep)
}

type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.l.Error(fmt.Sprint(v...)) }
