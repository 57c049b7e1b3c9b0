package bus

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// ConnOptions says how to reach NATS. Every swell process that talks to NATS
// builds its connection from this, so auth and TLS flags mean the same
// everywhere.
type ConnOptions struct {
	// URL is one or more comma-separated server URLs.
	URL string
	// Name identifies the connection in NATS monitoring (e.g. "swell-agent node1").
	Name string

	User     string
	Password string
	Token    string
	// NKeyFile is a file holding an NKey seed.
	NKeyFile string
	// CredsFile is a NATS credentials file (JWT and seed).
	CredsFile string

	// TLSCAFile verifies the server; TLSCertFile/TLSKeyFile present a client certificate.
	TLSCAFile   string
	TLSCertFile string
	TLSKeyFile  string

	// RetryOnFailedConnect keeps trying in the background when no server
	// answers at start instead of returning an error. Agents set it, so a node
	// that boots before NATS spools and catches up.
	RetryOnFailedConnect bool
	// MaxReconnectWait caps the exponential backoff between reconnect
	// attempts (default 5 s).
	MaxReconnectWait time.Duration
}

// Validate reports options that cannot work together.
func (o ConnOptions) Validate() error {
	if strings.TrimSpace(strings.ReplaceAll(o.URL, ",", "")) == "" {
		return errors.New("nats: no server URL (--nats-url)")
	}
	if err := checkURLs(o.URL); err != nil {
		return err
	}
	n := 0
	for _, set := range []bool{o.User != "", o.Token != "", o.NKeyFile != "", o.CredsFile != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return errors.New("nats: choose one of --nats-user, --nats-token, --nats-nkey, --nats-creds")
	}
	if o.Password != "" && o.User == "" {
		return errors.New("nats: --nats-password needs --nats-user")
	}
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		return errors.New("nats: --nats-tls-cert and --nats-tls-key go together")
	}
	return nil
}

// Connect dials NATS. It reconnects forever with capped exponential backoff
// once connected; the logger hears about disconnects and reconnects.
func (o ConnOptions) Connect(logger *slog.Logger) (*nats.Conn, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	maxWait := o.MaxReconnectWait
	if maxWait <= 0 {
		maxWait = 5 * time.Second
	}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectBufSize(-1), // callers own buffering (the spool); never buffer silently in memory
		nats.CustomReconnectDelay(func(attempts int) time.Duration {
			d := 100 * time.Millisecond
			for i := 1; i < attempts && d < maxWait; i++ {
				d *= 2
			}
			return min(d, maxWait)
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ConnectHandler(func(nc *nats.Conn) {
			logger.Debug("nats connected", "url", nc.ConnectedUrlRedacted())
		}),
	}
	if o.RetryOnFailedConnect {
		opts = append(opts, nats.RetryOnFailedConnect(true))
	}
	switch {
	case o.User != "":
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	case o.Token != "":
		opts = append(opts, nats.Token(o.Token))
	case o.NKeyFile != "":
		opt, err := nats.NkeyOptionFromSeed(o.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("nats: read nkey seed %s: %w", o.NKeyFile, err)
		}
		opts = append(opts, opt)
	case o.CredsFile != "":
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	}
	if o.TLSCAFile != "" {
		opts = append(opts, nats.RootCAs(o.TLSCAFile))
	}
	if o.TLSCertFile != "" {
		opts = append(opts, nats.ClientCert(o.TLSCertFile, o.TLSKeyFile))
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect to %s: %w", redactURL(o.URL), err)
	}
	return nc, nil
}

// checkURLs parses every server URL as nats.go will. nats.go's own parse
// error quotes the whole URL, password included, so it must never reach the
// caller; this one names the URL redacted, and gives the parser's reason only
// when the URL holds no user info the reason could quote.
func checkURLs(urls string) error {
	for p := range strings.SplitSeq(urls, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		full, _ := withScheme(p)
		_, err := url.Parse(full)
		if err == nil {
			continue
		}
		if strings.Contains(p, "@") {
			return fmt.Errorf("nats: server URL %s is not a valid URL (check the escaping of its user and password)", redactURL(p))
		}
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("nats: server URL %s is not a valid URL: %w", p, err)
	}
	return nil
}
