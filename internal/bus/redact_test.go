package bus

import (
	"strings"
	"testing"
)

func TestRedactURLHidesPasswordsAndTokens(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no credentials unchanged", "nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"password hidden, user kept", "nats://swell:s3cret@h:4222", "nats://swell:xxxxx@h:4222"},
		{"token hidden", "nats://s3cret@h:4222", "nats://xxxxx@h:4222"},
		{"tls scheme", "tls://swell:s3cret@h:4222", "tls://swell:xxxxx@h:4222"},
		{"no scheme", "swell:s3cret@h:4222", "swell:xxxxx@h:4222"},
		{"no scheme, token", "s3cret@h:4222", "xxxxx@h:4222"},
		{"comma list, only the one with credentials changes",
			"nats://a:4222,nats://swell:s3cret@b:4222,nats://s3cret@c:4222",
			"nats://a:4222,nats://swell:xxxxx@b:4222,nats://xxxxx@c:4222"},
		{"blanks around list items", "nats://a:4222 , nats://swell:s3cret@b:4222", "nats://a:4222,nats://swell:xxxxx@b:4222"},
		{"escaped characters in password", "nats://swell:s3cret%40x@h:4222", "nats://swell:xxxxx@h:4222"},
		{"unparseable escape", "nats://swell:s3cret%zz@h:4222", "nats://xxxxx@h:4222"},
		{"hash in password", "nats://swell:s3cret#1@h:4222", "nats://xxxxx@h:4222"},
		{"unparseable, no scheme", "swell:s3cret%zz@h:4222", "xxxxx@h:4222"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := redactURL(tc.in)
			if got != tc.want {
				t.Errorf("redactURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if strings.Contains(got, "s3cret") {
				t.Errorf("redactURL(%q) = %q still shows the secret", tc.in, got)
			}
		})
	}
}
