package httpd

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// RequireToken reports whether an API on addr must have a token: anything
// not bound to loopback is reachable by others.
func RequireToken(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return true
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// CheckTokenConfig is the start-up check for --api-token.
func CheckTokenConfig(addr, token string) error {
	if token == "" && RequireToken(addr) {
		return fmt.Errorf("--http %s is reachable from other hosts: set --api-token (or SWELL_API_TOKEN), or listen on 127.0.0.1", addr)
	}
	return nil
}

// withToken guards h with a bearer token; an empty token lets all through.
func withToken(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(strings.TrimSpace(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="swell"`)
			WriteError(w, http.StatusUnauthorized, "missing or wrong API token: pass --api-token (or SWELL_API_TOKEN) with the server's token")
			return
		}
		h.ServeHTTP(w, r)
	})
}
