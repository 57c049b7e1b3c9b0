package natsd

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options configures the NATS server that `swell up` and the tests
// run inside their own process.
type Options struct {
	// Host to listen on (default 127.0.0.1).
	Host string
	// Port to listen on; 0 picks a free one (tests), default for `swell up` is 4222.
	Port int
	// StoreDir holds JetStream's files; restarting on the same dir keeps
	// every stream and its unacknowledged messages.
	StoreDir string
	// ServerName names the server (default "swell").
	ServerName string
	// MaxStore caps JetStream file storage in bytes (0: NATS' default, a share of the disk).
	MaxStore int64
	Logger   *slog.Logger

	// ClusterName joins the server to a NATS cluster of that name, with
	// JetStream clustered so streams and KV buckets can be replicated (R3).
	// ServerName must then differ per server.
	ClusterName string
	// ClusterPort is this server's route port (0: a free one).
	ClusterPort int
	// Routes are the route URLs of the other servers (nats-route://host:port).
	Routes []string
}

// Server is a running in-process NATS server with JetStream.
type Server struct {
	srv *server.Server
}

// Start starts a NATS server with JetStream and waits until it
// accepts connections.
func Start(o Options) (*Server, error) {
	if o.StoreDir == "" {
		return nil, errors.New("nats: embedded server needs a store dir")
	}
	host := o.Host
	if host == "" {
		host = "127.0.0.1"
	}
	port := o.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	name := o.ServerName
	if name == "" {
		name = "swell"
	}
	opts := &server.Options{
		ServerName:            name,
		Host:                  host,
		Port:                  port,
		JetStream:             true,
		StoreDir:              o.StoreDir,
		JetStreamMaxStore:     o.MaxStore,
		NoSigs:                true,
		MaxPayload:            8 << 20,
		DisableShortFirstPing: true,
	}
	if o.ClusterName != "" {
		cport := o.ClusterPort
		if cport == 0 {
			cport = server.RANDOM_PORT
		}
		opts.Cluster = server.ClusterOpts{Name: o.ClusterName, Host: host, Port: cport}
		for _, r := range o.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("nats: route %q: %w", r, err)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats: embedded server: %w", err)
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sl := &serverLogger{l: logger.With("component", "nats"), fatal: make(chan string, 1)}
	srv.SetLoggerV2(sl, false, false, false)
	go srv.Start()
	// nats-server reports a port in use or a JetStream store it cannot open
	// only through Fatalf and then never becomes ready; watching for it
	// turns a 15 s wait into an immediate error that says why.
	addr := net.JoinHostPort(host, strconv.Itoa(o.Port))
	deadline := time.Now().Add(15 * time.Second)
	for !srv.ReadyForConnections(50 * time.Millisecond) {
		select {
		case msg := <-sl.fatal:
			srv.Shutdown()
			srv.WaitForShutdown()
			return nil, fmt.Errorf("nats: embedded server on %s did not start: %s", addr, msg)
		default:
		}
		if time.Now().After(deadline) {
			srv.Shutdown()
			srv.WaitForShutdown()
			return nil, fmt.Errorf("nats: embedded server did not start on %s within 15s (is the port in use?)", addr)
		}
	}
	return &Server{srv: srv}, nil
}

// ClientURL is the URL clients connect to.
func (e *Server) ClientURL() string { return e.srv.ClientURL() }

// Addr is the listening address.
func (e *Server) Addr() net.Addr { return e.srv.Addr() }

// Shutdown stops the server and waits until it has stopped.
func (e *Server) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// serverLogger adapts nats-server's logger to slog, and passes the first
// fatal message to Start.
type serverLogger struct {
	l     *slog.Logger
	fatal chan string
}

func (s *serverLogger) Noticef(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s *serverLogger) Warnf(format string, v ...any)   { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s *serverLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	s.l.Error(msg)
	select {
	case s.fatal <- msg:
	default:
	}
}
func (s *serverLogger) Errorf(format string, v ...any) { s.l.Error(fmt.Sprintf(format, v...)) }
func (s *serverLogger) Debugf(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s *serverLogger) Tracef(format string, v ...any) {}
