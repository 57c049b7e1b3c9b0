package email

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/internal/clock"
)

// TLS modes.
const (
	TLSStartTLS = "starttls" // plain connect, then STARTTLS; refuse servers without it
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // no encryption: only for a relay on localhost
)

// Config is an email receiver's settings.
type Config struct {
	Host     string        `yaml:"host" json:"host"`
	Port     int           `yaml:"port,omitempty" json:"port,omitempty"` // default 587 (465 with tls: tls)
	TLS      string        `yaml:"tls,omitempty" json:"tls,omitempty"`   // starttls (default), tls or none
	CAFile   string        `yaml:"caFile,omitempty" json:"caFile,omitempty"`
	Username string        `yaml:"username,omitempty" json:"username,omitempty"`
	Password notify.Secret `yaml:"password,omitempty" json:"password,omitempty"`
	From     string        `yaml:"from" json:"from"`
	To       []string      `yaml:"to" json:"to"`
	// Hello is the name sent in EHLO (default: the local host name).
	Hello string `yaml:"hello,omitempty" json:"hello,omitempty"`

	notify.TemplateConfig `yaml:",inline" json:",inline"` // title = subject, body = text

	Timeout   time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"` // whole conversation, default 30s
	TLSConfig *tls.Config   `yaml:"-" json:"-"`                                 // overrides CAFile (tests)
	Clock     clock.Clock   `yaml:"-" json:"-"`
}

// Receiver sends through one SMTP server.
type Receiver struct {
	cfg  Config
	tpl  *notify.Template
	tls  *tls.Config
	from *mail.Address
	to   []*mail.Address
}

var _ notify.Notifier = (*Receiver)(nil)

// New validates c and loads its CA file; it does not connect.
func New(c Config) (*Receiver, error) {
	if c.Host == "" {
		return nil, errors.New("email: host is required")
	}
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	switch c.TLS {
	case TLSStartTLS, TLSNone:
		if c.Port == 0 {
			c.Port = 587
		}
	case TLSImplicit:
		if c.Port == 0 {
			c.Port = 465
		}
	default:
		return nil, fmt.Errorf("email: tls %q: want starttls, tls or none", c.TLS)
	}
	if c.TLS == TLSNone && !c.Password.IsZero() {
		return nil, errors.New("email: a password needs tls: starttls or tls (it would cross the network in clear)")
	}
	from, err := mail.ParseAddress(c.From)
	if err != nil {
		return nil, fmt.Errorf("email: from %q: %w", c.From, err)
	}
	if len(c.To) == 0 {
		return nil, errors.New("email: to needs at least one address")
	}
	var to []*mail.Address
	for _, s := range c.To {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("email: to %q: %w", s, err)
		}
		to = append(to, a)
	}
	tpl, err := c.Template(notify.FormatText)
	if err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	tc := c.TLSConfig
	if tc == nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("email: caFile: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("email: caFile %s holds no PEM certificate", c.CAFile)
			}
			tc.RootCAs = pool
		}
	}
	tc = tc.Clone()
	tc.ServerName = c.Host
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Hello == "" {
		if h, err := os.Hostname(); err == nil {
			c.Hello = h
		} else {
			c.Hello = "localhost"
		}
	}
	return &Receiver{cfg: c, tpl: tpl, tls: tc, from: from, to: to}, nil
}

// Message renders the complete RFC 5322 message for n.
func (r *Receiver) Message(n notify.Notification) ([]byte, error) {
	subject, body, err := r.tpl.Render(n)
	if err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	now := r.cfg.Clock.Now()
	// A stable id per group and time lets threads and duplicates be spotted.
	sum := sha256.Sum256([]byte(n.GroupKey + "\x00" + string(n.Status) + "\x00" + now.UTC().Format(time.RFC3339Nano)))
	to := make([]string, len(r.to))
	for i, a := range r.to {
		to[i] = a.String()
	}
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", r.from.String())
	header("To", strings.Join(to, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(sum[:12])+"@swell>")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n") + "\r\n")); err != nil {
		return nil, fmt.Errorf("email: encode body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, fmt.Errorf("email: encode body: %w", err)
	}
	return b.Bytes(), nil
}

// Notify delivers n in one SMTP conversation. 4xx replies, connection
// failures and timeouts are retryable; 5xx replies (unknown recipient,
// authentication failed) and certificate errors are not.
func (r *Receiver) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	msg, err := r.Message(n)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	if err := r.send(ctx, msg); err != nil {
		return classify(ctx, err), notify.Redact(fmt.Errorf("email: via %s:%d: %w", r.cfg.Host, r.cfg.Port, err), r.cfg.Password)
	}
	return false, nil
}

func classify(ctx context.Context, err error) bool {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return tp.Code >= 400 && tp.Code < 500
	}
	var cv *tls.CertificateVerificationError
	var uaErr x509.UnknownAuthorityError
	var hnErr x509.HostnameError
	if errors.As(err, &cv) || errors.As(err, &uaErr) || errors.As(err, &hnErr) || errors.Is(err, errNoStartTLS) || errors.Is(err, errNoAuth) {
		return false
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return false
	}
	return true
}

var (
	errNoStartTLS = errors.New("server does not offer STARTTLS")
	errNoAuth     = errors.New("server offers no AUTH but a username is configured")
)

func (r *Receiver) send(ctx context.Context, msg []byte) error {
	addr := net.JoinHostPort(r.cfg.Host, strconv.Itoa(r.cfg.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	// One deadline for the whole conversation; ctx cancellation closes the
	// connection so a hung server cannot hold the pipeline.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if r.cfg.TLS == TLSImplicit {
		tc := tls.Client(conn, r.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("tls: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, r.cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("greeting: %w", err)
	}
	defer func() { _ = c.Close() }()
	if err := c.Hello(r.cfg.Hello); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if r.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errNoStartTLS
		}
		if err := c.StartTLS(r.tls); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if r.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errNoAuth
		}
		if err := c.Auth(smtp.PlainAuth("", r.cfg.Username, r.cfg.Password.Reveal(), r.cfg.Host)); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := c.Mail(r.from.Address); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	for _, a := range r.to {
		if err := c.Rcpt(a.Address); err != nil {
			return fmt.Errorf("RCPT TO %s: %w", a.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of DATA: %w", err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("QUIT: %w", err)
	}
	return nil
}
