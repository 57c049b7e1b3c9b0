package standalone

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/api"
	"github.com/swell-pipeline/swell/dashboards"
	"github.com/swell-pipeline/swell/internal/agent"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/httpd"
	"github.com/swell-pipeline/swell/internal/influxd"
	"github.com/swell-pipeline/swell/internal/natsd"
	"github.com/swell-pipeline/swell/internal/server"
)

// Options configures `swell up`.
type Options struct {
	// DataDir holds everything swell up keeps: nats/, influxdb/, spool/, grafana/.
	DataDir string

	// NATS is an existing NATS to use; with an empty URL an embedded server
	// listens on NATSHost:NATSPort.
	NATS     bus.ConnOptions
	NATSHost string
	NATSPort int

	// InfluxURL is an existing InfluxDB to use; empty starts influxd from
	// InfluxdBinary on 127.0.0.1:InfluxPort.
	InfluxURL     string
	InfluxPort    int
	InfluxdBinary string

	// HTTPAddr serves /healthz, /metrics and the API.
	HTTPAddr string
	// APIToken guards the API; required when HTTPAddr is not loopback.
	APIToken string
	// NoAgent runs without the local agent.
	NoAgent bool

	// Agent and Server carry the flags of `swell agent` and `swell server`;
	// connection fields are filled in here.
	Agent  agent.Options
	Server server.Options

	Logger   *slog.Logger
	Registry *prometheus.Registry
	// Out receives the banner that says where to look.
	Out io.Writer
}

// Up is a running single-machine swell.
type Up struct {
	opts Options
	log  *slog.Logger
	// ready is closed once everything runs; endpoints is set before.
	ready     chan struct{}
	endpoints Endpoints
}

// Endpoints are where a running swell up answers, as its banner prints
// them.
type Endpoints struct {
	// HTTP is the API's base URL (http://host:port).
	HTTP       string
	NATS       string
	InfluxDB   string
	GrafanaDir string
}

// Ready is closed once Run has started every part and printed its banner.
func (u *Up) Ready() <-chan struct{} { return u.ready }

// Endpoints says where the parts answer; valid once Ready is closed.
func (u *Up) Endpoints() Endpoints { return u.endpoints }

// New validates the options.
func New(o Options) (*Up, error) {
	if o.DataDir == "" {
		return nil, errors.New("up: no data dir (--data-dir)")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Server.Influx.Database == "" {
		o.Server.Influx.Database = "swell"
	}
	if o.NATS.URL == "" && (o.NATSPort < 0 || o.NATSPort > 65535) {
		return nil, fmt.Errorf("up: --nats-port %d is not a port", o.NATSPort)
	}
	if o.InfluxURL == "" && (o.InfluxPort < 0 || o.InfluxPort > 65535) {
		return nil, fmt.Errorf("up: --influx-port %d is not a port", o.InfluxPort)
	}
	if o.InfluxURL != "" {
		if u, err := url.Parse(o.InfluxURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("up: --influx-url %q: want http(s)://host:port", o.InfluxURL)
		}
	}
	if _, _, err := net.SplitHostPort(o.HTTPAddr); err != nil {
		return nil, fmt.Errorf("up: --http %q: want host:port", o.HTTPAddr)
	}
	if err := httpd.CheckTokenConfig(o.HTTPAddr, o.APIToken); err != nil {
		return nil, fmt.Errorf("up: %w", err)
	}
	return &Up{opts: o, log: o.Logger, ready: make(chan struct{})}, nil
}

// Run starts everything, prints where to look, and runs until ctx ends.
func (u *Up) Run(ctx context.Context) error {
	o := u.opts
	dataDir, err := prepareDataDir(o.DataDir)
	if err != nil {
		return err
	}

	// Build (and so validate) the agent before starting any child process,
	// so a bad flag costs nothing.
	var ag *agent.Agent
	if !o.NoAgent {
		ao := o.Agent
		ao.DataDir = dataDir
		ao.Logger = o.Logger
		ao.Registerer = o.Registry
		ao.NATS = bus.ConnOptions{} // the connection is given once NATS runs
		if ag, err = agent.New(ao); err != nil {
			return err
		}
	}

	natsURL := o.NATS.URL
	natsDesc := "existing server"
	if natsURL == "" {
		emb, err := natsd.Start(natsd.Options{
			Host:     o.NATSHost,
			Port:     o.NATSPort,
			StoreDir: filepath.Join(dataDir, "nats"),
			Logger:   o.Logger,
		})
		if err != nil {
			return fmt.Errorf("up: %w", err)
		}
		defer emb.Shutdown()
		natsURL = emb.ClientURL()
		natsDesc = "embedded, JetStream in " + filepath.Join(dataDir, "nats")
	}

	influxURL := o.InfluxURL
	influxDesc := "existing server"
	var proc *influxd.Process
	if influxURL == "" {
		proc, err = influxd.Start(ctx, influxd.Options{
			Binary:   o.InfluxdBinary,
			DataDir:  filepath.Join(dataDir, "influxdb"),
			BindAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(o.InfluxPort)),
			Database: o.Server.Influx.Database,
			Logger:   o.Logger.With("component", "influxd"),
		})
		if err != nil {
			return fmt.Errorf("up: %w", err)
		}
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
			defer cancel()
			if err := proc.Stop(stopCtx); err != nil {
				u.log.Warn("stop influxd", "err", err)
			}
		}()
		influxURL = proc.URL()
		influxDesc = "managed influxd, data in " + filepath.Join(dataDir, "influxdb")
	}

	co := o.NATS
	co.URL = natsURL
	co.Name = "swell up"
	nc, err := co.Connect(o.Logger)
	if err != nil {
		return fmt.Errorf("up: %w", err)
	}
	defer nc.Close()

	so := o.Server
	so.Conn = nc
	so.Influx.URL = influxURL
	so.Logger = o.Logger
	so.Registerer = o.Registry
	srv, err := server.New(so)
	if err != nil {
		return err
	}
	if ag != nil {
		ao := o.Agent
		ao.DataDir = dataDir
		ao.Logger = o.Logger
		ao.Registerer = o.Registry
		ao.Conn = nc
		if ag, err = agent.New(ao); err != nil {
			return err
		}
	}
	httpSrv, err := httpd.New(httpd.Options{Addr: o.HTTPAddr, Gatherer: o.Registry, Logger: o.Logger, Token: o.APIToken})
	if err != nil {
		return fmt.Errorf("up: %w", err)
	}
	api.RegisterRead(httpSrv, srv.Reader(), api.ReadOptions{NodeTimeout: srv.NodeTimeout()})
	api.RegisterServices(httpSrv, api.ServicesOptions{JS: srv.JetStream, NodeTimeout: srv.NodeTimeout()})
	api.RegisterAlerts(httpSrv, api.ServicesOptions{JS: srv.JetStream})
	for name, c := range srv.Checks() {
		httpSrv.AddCheck(name, c)
	}
	if ag != nil {
		httpSrv.AddCheck("agent", ag.Check)
	}
	if err := httpSrv.Listen(); err != nil {
		return fmt.Errorf("up: %w", err)
	}
	grafanaDir := filepath.Join(dataDir, "grafana", "provisioning")
	if _, err := dashboards.WriteProvisioning(grafanaDir, dashboards.NewDatasource(influxURL, so.Influx.Database, so.Influx.Token)); err != nil {
		return fmt.Errorf("up: %w", err)
	}

	// Server parts and HTTP stop together; the agent stops first so its last
	// flush reaches the stream while ingest still runs.
	srvCtx, stopSrv := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSrv()
	agCtx, stopAg := context.WithCancel(ctx)
	defer stopAg()

	errc := make(chan error, 4)
	var wg sync.WaitGroup
	run := func(name string, c context.Context, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(c); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	run("server", srvCtx, srv.Run)
	run("http", srvCtx, httpSrv.Run)
	var agDone chan struct{}
	if ag != nil {
		agDone = make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(agDone)
			if err := ag.Run(agCtx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("agent: %w", err)
			}
		}()
	}
	var influxDone <-chan struct{}
	if proc != nil {
		influxDone = proc.Done()
	}

	// Say "up" only once the server's start checks passed.
	select {
	case <-srv.Ready():
	case err := <-errc:
		stopAg()
		stopSrv()
		wg.Wait()
		return err
	case <-ctx.Done():
		stopAg()
		stopSrv()
		wg.Wait()
		return nil
	}

	node := "(none: --no-agent)"
	if ag != nil {
		node = ag.Node()
	}
	fmt.Fprintf(o.Out, `swell is up.
  node        %s
  HTTP        http://%s  (/healthz, /metrics, API /v1/…)
  NATS        %s  (%s)
  InfluxDB    %s  database %q (%s)
  Grafana     provisioning in %s
  data dir    %s
Press Ctrl-C to stop.
`, node, httpSrv.Addr(), natsURL, natsDesc, influxURL, so.Influx.Database, influxDesc, grafanaDir, dataDir)
	u.endpoints = Endpoints{HTTP: "http://" + httpSrv.Addr(), NATS: natsURL, InfluxDB: influxURL, GrafanaDir: grafanaDir}
	close(u.ready)

	var runErr error
	select {
	case <-ctx.Done():
		u.log.Info("stopping")
	case runErr = <-errc:
		u.log.Error("a part failed; stopping", "err", runErr)
	case <-influxDone:
		runErr = fmt.Errorf("influxd exited unexpectedly: %w (its log is in %s)", proc.Wait(), filepath.Join(dataDir, "influxdb"))
	}
	stopAg()
	if agDone != nil {
		<-agDone
	}
	stopSrv()
	wg.Wait()
	return runErr
}

// prepareDataDir creates the data dir and proves it is writable.
func prepareDataDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("up: data dir %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("up: data dir %s: cannot create it: %w", abs, err)
	}
	f, err := os.CreateTemp(abs, ".write-test-*")
	if err != nil {
		return "", fmt.Errorf("up: data dir %s is not writable: %w", abs, err)
	}
	name := f.Name()
	_ = f.Close()
	_ = os.Remove(name)
	return abs, nil
}
