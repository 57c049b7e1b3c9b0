package email_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/alerts/receivers/email"
	"github.com/swell-pipeline/swell/alerts/receivers/receivertest"
)

const (
	user = "alerts@swell.example"
	pass = "sm7p-p4ss-s3cr3t"
)

var secrets = []string{pass, base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))}

func newReceiver(t *testing.T, s *smtpServer, pool *x509.CertPool, mutate func(*email.Config)) *email.Receiver {
	t.Helper()
	host, port, err := net.SplitHostPort(s.addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	c := email.Config{
		Host: host, Port: p, Username: user, Password: notify.NewSecret(pass),
		From: "swell <alerts@swell.example>", To: []string{"oncall@example.com", "Ops Team <ops@example.com>"},
		Hello: "swell.test", TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, Clock: receivertest.Clock{},
	}
	if mutate != nil {
		mutate(&c)
	}
	r, err := email.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDeliversOverSTARTTLSWithAuth(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*email.Config)
		golden string
	}{
		{name: "english", golden: "message.eml"},
		{name: "chinese subject is RFC 2047 encoded", golden: "message_zh.eml", mutate: func(c *email.Config) { c.Lang = notify.LangZH }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, pool := newSMTPServer(t, user, pass)
			r := newReceiver(t, srv, pool, tt.mutate)
			if retryable, err := r.Notify(t.Context(), receivertest.Sample()); err != nil {
				t.Fatalf("Notify: %v (retryable %v)", err, retryable)
			}
			msgs := srv.messages()
			if len(msgs) != 1 {
				t.Fatalf("server received %d messages", len(msgs))
			}
			m := msgs[0]
			if !m.tls || !m.authed || m.from != "alerts@swell.example" || strings.Join(m.to, ",") != "oncall@example.com,ops@example.com" {
				t.Errorf("envelope: tls %v auth %v from %q to %v", m.tls, m.authed, m.from, m.to)
			}
			cmds := srv.commands()
			if cmds[0] != "EHLO swell.test" || cmds[1] != "STARTTLS" || !strings.HasPrefix(cmds[3], "AUTH PLAIN ") {
				t.Errorf("conversation did not go EHLO, STARTTLS, EHLO, AUTH: %q", cmds)
			}
			receivertest.Golden(t, tt.golden, []byte(m.data))
		})
	}
}

func TestRefusesServerWithoutSTARTTLS(t *testing.T) {
	srv, pool := newSMTPServer(t, user, pass)
	srv.startTLS = false
	r := newReceiver(t, srv, pool, nil)
	retryable, err := r.Notify(t.Context(), receivertest.Sample())
	if err == nil || retryable || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Fatalf("err = %v, retryable = %v; want a permanent STARTTLS error", err, retryable)
	}
	for _, c := range srv.commands() {
		if strings.HasPrefix(c, "AUTH") {
			t.Fatalf("credentials were sent without TLS: %q", srv.commands())
		}
	}
}

func TestFailures(t *testing.T) {
	tests := []struct {
		name          string
		setup         func(*smtpServer)
		mutate        func(*email.Config)
		wantErr       string
		wantRetryable bool
	}{
		{name: "wrong password is permanent", mutate: func(c *email.Config) { c.Password = notify.NewSecret(pass + "-wrong") }, wantErr: "AUTH: 535"},
		{name: "mailbox temporarily unavailable is retryable", setup: func(s *smtpServer) { s.rcptCode = "450 4.2.1 mailbox busy" }, wantErr: "RCPT TO oncall@example.com: 450", wantRetryable: true},
		{name: "unknown mailbox is permanent", setup: func(s *smtpServer) { s.rcptCode = "550 5.1.1 no such user" }, wantErr: "RCPT TO oncall@example.com: 550"},
		{name: "untrusted certificate is permanent", mutate: func(c *email.Config) { c.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12} }, wantErr: "STARTTLS: tls: failed to verify certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, pool := newSMTPServer(t, user, pass)
			if tt.setup != nil {
				tt.setup(srv)
			}
			r := newReceiver(t, srv, pool, tt.mutate)
			retryable, err := r.Notify(t.Context(), receivertest.Sample())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || retryable != tt.wantRetryable {
				t.Fatalf("err = %v, retryable = %v; want %q, retryable %v", err, retryable, tt.wantErr, tt.wantRetryable)
			}
			res, logs := receivertest.ThroughPipeline(t, r, receivertest.Sample())
			receivertest.NoSecrets(t, secrets, err.Error(), fmt.Sprintf("%+v", err), res.Err.Error(), logs)
		})
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	r, err := email.New(email.Config{Host: "127.0.0.1", Port: addr.Port, From: "a@b.c", To: []string{"d@e.f"}, Password: notify.NewSecret(pass), Username: user})
	if err != nil {
		t.Fatal(err)
	}
	retryable, err := r.Notify(t.Context(), receivertest.Sample())
	if err == nil || !retryable || !strings.Contains(err.Error(), "connect:") {
		t.Fatalf("err = %v, retryable = %v", err, retryable)
	}
	receivertest.NoSecrets(t, secrets, err.Error())
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		c    email.Config
		want string
	}{
		{"no host", email.Config{}, "host is required"},
		{"bad tls mode", email.Config{Host: "h", TLS: "ssl"}, `tls "ssl"`},
		{"password in clear", email.Config{Host: "h", TLS: "none", Password: notify.NewSecret(pass)}, "needs tls"},
		{"bad from", email.Config{Host: "h", From: "not an address"}, `from "not an address"`},
		{"no recipients", email.Config{Host: "h", From: "a@b.c"}, "at least one address"},
		{"missing CA file", email.Config{Host: "h", From: "a@b.c", To: []string{"d@e.f"}, CAFile: "/nonexistent/ca.pem"}, "caFile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := email.New(tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			receivertest.NoSecrets(t, secrets, err.Error())
		})
	}
}
