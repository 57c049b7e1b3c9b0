package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// maxDelay bounds ?ms and ?cpu_ms so a typo cannot pin a container for hours.
const maxDelay = time.Minute

func main() {
	mode := "serve"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	var err error
	switch mode {
	case "serve":
		err = serve(ctx, listenAddr())
	case "sleep":
		ready()
		<-ctx.Done()
	default:
		err = fmt.Errorf("unknown mode %q (want serve or sleep)", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testapp:", err)
		os.Exit(1)
	}
}

// readyLine tells a watching test that signals are handled from now on: as
// PID 1 in a container, a SIGTERM that arrives earlier is simply lost.
const readyLine = "testapp: ready"

func ready() {
	fmt.Fprintln(os.Stdout, readyLine)
}

func listenAddr() string {
	if p := os.Getenv("PORT"); p != "" {
		return ":" + p
	}
	return ":8080"
}

func serve(ctx context.Context, addr string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/", handleWork)

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
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
	spin(burn)
	if wait > 0 {
		select {
		case <-time.After(wait):
		case <-r.Context().Done():
			return
		}
	}
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
