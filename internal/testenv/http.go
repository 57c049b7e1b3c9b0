package testenv

import (
	"context"
	"testing"

	"github.com/swell-pipeline/swell/internal/httpd"
)

// Serve runs s on its address (port 0 picks a free one) until the test
// ends, fails the test if serving fails, and returns the base URL.
func Serve(t testing.TB, s *httpd.Server) string {
	t.Helper()
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("HTTP server on %s: %v", s.Addr(), err)
		}
	})
	return "http://" + s.Addr()
}
