package httpd_test

import (
	"strings"
	"testing"

	"github.com/swell-pipeline/swell/internal/httpd"
)

func TestRequireToken(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:7070": false, "localhost:7070": false, "[::1]:7070": false,
		"0.0.0.0:7070": true, ":7070": true, "10.0.0.5:7070": true, "bad": true,
	} {
		if got := httpd.RequireToken(addr); got != want {
			t.Errorf("RequireToken(%q) = %v, want %v", addr, got, want)
		}
	}
	if err := httpd.CheckTokenConfig("0.0.0.0:7070", ""); err == nil || !strings.Contains(err.Error(), "--api-token") {
		t.Errorf("CheckTokenConfig = %v", err)
	}
}
