package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// maxDelay bounds ?ms and ?cpu_ms so a typo cannot pin a container for hours.
const maxDelay = time.Minute

// app holds the server's injected failures. Environment, clock and exit
// are passed in so the handlers can be tested without a process.
type app struct {
	now     func() time.Time
	exit    func(code int)
	version string

	mu sync.Mutex
	// healthzFailFrom and healthzFailUntil bound the time /healthz fails;
	// a zero until means for ever.
	healthzFailFrom  time.Time
	healthzFailUntil time.Time
	failing          bool
}

func newApp(getenv func(string) string, now func() time.Time, exit func(int)) (*app, error) {
	a := &app{now: now, exit: exit, version: getenv("VERSION")}
	if v := getenv("FAIL_HEALTHZ"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("FAIL_HEALTHZ=%q: want 1 or 0", v)
		}
		if on {
			a.failing, a.healthzFailFrom = true, now()
		}
	}
	if v := getenv("FAIL_HEALTHZ_AFTER"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("FAIL_HEALTHZ_AFTER=%q: want a duration such as 30s or a number of seconds", v)
		}
		if !a.failing {
			a.failing, a.healthzFailFrom = true, now().Add(d)
		}
	}
	return a, nil
}

func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("bad duration")
	}
	return d, nil
}

func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", a.handleHealthz)
	mux.HandleFunc("/version", a.handleVersion)
	mux.HandleFunc("/fail", a.handleFail)
	mux.HandleFunc("/", handleWork)
	return mux
}

func (a *app) healthzFailing() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.failing {
		return false
	}
	now := a.now()
	if now.Before(a.healthzFailFrom) {
		return false
	}
	return a.healthzFailUntil.IsZero() || now.Before(a.healthzFailUntil)
}

func (a *app) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	if a.healthzFailing() {
		http.Error(w, "failing (injected)", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (a *app) handleVersion(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprintln(w, a.version)
}

func (a *app) handleFail(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("healthz") {
		n, err := strconv.Atoi(q.Get("healthz"))
		if err != nil || n < 0 {
			http.Error(w, fmt.Sprintf("healthz=%q: want a non-negative number of seconds", q.Get("healthz")), http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		now := a.now()
		a.failing = n > 0
		a.healthzFailFrom, a.healthzFailUntil = now, now.Add(time.Duration(n)*time.Second)
		a.mu.Unlock()
		fmt.Fprintf(w, "healthz fails for %ds\n", n)
	}
	if q.Has("exit") {
		code, err := strconv.Atoi(q.Get("exit"))
		if err != nil || code < 0 || code > 255 {
			http.Error(w, fmt.Sprintf("exit=%q: want a status 0-255", q.Get("exit")), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "exiting with status %d\n", code)
		// The answer must reach the caller before the process is gone.
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		a.exit(code)
		return
	}
	if !q.Has("healthz") {
		http.Error(w, "want ?healthz=SECONDS or ?exit=STATUS", http.StatusBadRequest)
	}
}

func serve(ctx context.Context, addr string, a *app) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	ready()

	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", addr, err)
	case <-ctx.Done():
	}
	// Give in-flight requests a moment so a stop during a test's load does
	// not turn into connection resets.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func handleWork(w http.ResponseWriter, r *http.Request) {
	burn, err := durationParam(r, "cpu_ms")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	wait, err := durationParam(r, "ms")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	status := http.StatusOK
	if s := r.URL.Query().Get("status"); s != "" {
		status, err = strconv.Atoi(s)
		if err != nil || status < 200 || status > 599 {
			http.Error(w, fmt.Sprintf("status=%q: want an HTTP status 200-599", s), http.StatusBadRequest)
			return
		}
	}
	spin(burn)
	if wait > 0 {
		select {
		case <-time.After(wait):
		case <-r.Context().Done():
			return
		}
	}
	w.WriteHeader(status)
	fmt.Fprintln(w, "ok")
}

func durationParam(r *http.Request, name string) (time.Duration, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: want a non-negative integer of milliseconds", name, s)
	}
	d := time.Duration(n) * time.Millisecond
	if d > maxDelay {
		return 0, fmt.Errorf("%s=%d: at most %d", name, n, maxDelay.Milliseconds())
	}
	return d, nil
}

// spin keeps one core busy for d of wall time; each clock read is the work.
func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}
