package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/alerts"
	"github.com/swell-pipeline/swell/alerts/runner"
	asrunner "github.com/swell-pipeline/swell/autoscaler/runner"
	"github.com/swell-pipeline/swell/ingest"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/clock"
	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/httpd"
	"github.com/swell-pipeline/swell/internal/leader"
	"github.com/swell-pipeline/swell/scheduler/controller"
)

// Options configures a server.
type Options struct {
	// NATS says how to reach NATS; ignored when Conn is set.
	NATS bus.ConnOptions
	// Conn is an existing connection to use (swell up shares one).
	Conn *nats.Conn

	Influx        ingest.InfluxOptions
	IngestWorkers int
	Limits        bus.StreamLimits

	// StartTimeout bounds the start-up checks of NATS and InfluxDB (default 10s).
	StartTimeout time.Duration

	// Name is this server's candidate id in the leader election (default
	// hostname:pid); the scheduler runs on the leader only.
	Name string
	// NodeTimeout is how long a node may miss heartbeats before it is lost
	// (default 10s).
	NodeTimeout time.Duration
	// NoScheduler leaves the leader election and scheduler out.
	NoScheduler bool
	// AutoscaleTick is how often the autoscaler decides (default 1s). The
	// autoscaler runs on the leader with the scheduler.
	AutoscaleTick time.Duration
	// NoAlerts leaves the alert runner out. With NoScheduler too, the
	// server takes no part in the leader election.
	NoAlerts bool
	// AlertsBuiltin adjusts the built-in alert rules.
	AlertsBuiltin alerts.BuiltinOptions
	// ExternalURL is where people reach swell's API; notifications link to it.
	ExternalURL string
	// PipelineInterval is how often the ingest lag and InfluxDB's
	// reachability go into the metrics stream (default 10s).
	PipelineInterval time.Duration

	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Clock      clock.Clock
}

// Server runs the control-plane parts.
type Server struct {
	opts Options
	log  *slog.Logger
	// Set by Run, read by the health checks from the HTTP goroutines.
	ing        atomic.Pointer[ingest.Ingest]
	nc         atomic.Pointer[nats.Conn]
	js         atomic.Pointer[jetstream.JetStream]
	alerts     atomic.Pointer[runner.Supervisor]
	autoscaler atomic.Pointer[asrunner.Runner]
	// ready is closed once the start-up checks passed.
	ready chan struct{}
}

// Ready is closed once Run has connected and InfluxDB answered, so a caller
// can say "up" only when it is.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// New validates the options; it connects to nothing.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 10 * time.Second
	}
	if o.NodeTimeout == 0 {
		o.NodeTimeout = controller.DefaultNodeTimeout
	}
	if o.PipelineInterval <= 0 {
		o.PipelineInterval = DefaultPipelineInterval
	}
	if o.NodeTimeout < 3*time.Second {
		return nil, fmt.Errorf("server: --node-timeout %s is too short: agents heartbeat every 2s, so a node would be lost between two beats; use 3s or more (default 10s)", o.NodeTimeout)
	}
	if o.Name == "" {
		host, _ := os.Hostname()
		o.Name = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	if o.Conn == nil {
		if err := o.NATS.Validate(); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	if o.Influx.URL == "" {
		return nil, errors.New("server: no InfluxDB URL (--influx-url)")
	}
	return &Server{opts: o, log: o.Logger.With("component", "server"), ready: make(chan struct{})}, nil
}

// Run connects, checks InfluxDB, and runs ingest until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	o := s.opts
	nc := o.Conn
	if nc == nil {
		co := o.NATS
		if co.Name == "" {
			co.Name = "swell-server"
		}
		var err error
		nc, err = co.Connect(s.log)
		if err != nil {
			return fmt.Errorf("server: %w (is NATS running? check --nats-url)", err)
		}
		defer nc.Close()
	}
	s.nc.Store(nc)
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("server: jetstream: %w", err)
	}
	if err := bus.EnsureKV(ctx, js, o.Limits.Replicas); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("server: %w", err)
	}
	s.js.Store(&js)
	ing, err := ingest.New(ingest.Options{
		JS:         js,
		Conn:       nc,
		Influx:     o.Influx,
		Workers:    o.IngestWorkers,
		Limits:     o.Limits,
		Logger:     o.Logger.With("component", "ingest"),
		Registerer: o.Registerer,
		Clock:      o.Clock,
	})
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	checkCtx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	err = ing.Check(checkCtx)
	cancel()
	if err != nil && ctx.Err() != nil {
		// Stopped while InfluxDB was slow to answer: a shutdown, not an outage.
		return nil
	}
	if err != nil {
		return fmt.Errorf("server: InfluxDB at %s does not answer: %w (check --influx-url, or start InfluxDB)", o.Influx.URL, err)
	}
	s.ing.Store(ing)
	var (
		el   *leader.Elector
		lead []leaderPart
	)
	if !o.NoScheduler || !o.NoAlerts {
		if el, err = leader.New(leader.Options{JS: js, ID: o.Name, Replicas: o.Limits.Replicas, Logger: o.Logger, Clock: o.Clock}); err != nil {
			return fmt.Errorf("server: %w", err)
		}
	}
	if !o.NoScheduler {
		ctl, err := controller.New(controller.Options{
			JS: js, Logger: o.Logger, Registerer: o.Registerer, Clock: o.Clock, NodeTimeout: o.NodeTimeout,
		})
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		lead = append(lead, leaderPart{"scheduler", ctl.Run})
	}
	if !o.NoScheduler {
		as, err := asrunner.New(asrunner.Options{
			Conn: nc, JS: js, Tick: o.AutoscaleTick, Logger: o.Logger, Registerer: o.Registerer, Clock: o.Clock,
			Events: events.NewPublisher(js, o.Clock.Now),
		})
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		s.autoscaler.Store(as)
		lead = append(lead, leaderPart{"autoscaler", as.Run})
	}
	if !o.NoAlerts {
		sup, err := runner.NewSupervisor(runner.SupervisorOptions{
			JS: js, Builtin: o.AlertsBuiltin, ExternalURL: o.ExternalURL,
			Logger: o.Logger, Registerer: o.Registerer, Clock: o.Clock,
			Events: events.NewPublisher(js, o.Clock.Now),
		})
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		s.alerts.Store(sup)
		lead = append(lead, leaderPart{"alerts", sup.Run})
	}
	close(s.ready)
	s.log.Info("server running", "influx", o.Influx.URL, "name", o.Name)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.reportPipeline(runCtx, js, ing)
	elected := make(chan error, 1)
	if el != nil {
		go func() {
			elected <- el.Run(runCtx, func(lctx context.Context) {
				var wg sync.WaitGroup
				for _, p := range lead {
					wg.Add(1)
					go func() {
						defer wg.Done()
						s.runLeaderPart(lctx, p)
					}()
				}
				wg.Wait()
			})
		}()
	} else {
		elected <- nil
	}
	err = ing.Run(runCtx)
	cancel()
	if eerr := <-elected; eerr != nil && err == nil {
		err = eerr
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// leaderPart is a component that runs on the leader only.
type leaderPart struct {
	name string
	run  func(context.Context) error
}

// runLeaderPart runs p while the lease is held (until ctx ends). A part
// that fails (a watch cut by a NATS restart) starts again here rather than
// leaving the cluster without it.
func (s *Server) runLeaderPart(ctx context.Context, p leaderPart) {
	for {
		err := p.run(ctx)
		if ctx.Err() != nil {
			return
		}
		s.log.Error(p.name+" stopped; restarting it", "err", err)
		t := s.opts.Clock.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// Autoscaler returns the autoscaler, nil until Run made it or when the
// scheduler is off. Its Status is empty on a server that is not the leader.
func (s *Server) Autoscaler() *asrunner.Runner { return s.autoscaler.Load() }

// Alerts returns the alert supervisor, nil until Run made it or when
// alerts are off. Its Active is empty on a server that is not the leader.
func (s *Server) Alerts() *runner.Supervisor { return s.alerts.Load() }

// JetStream returns the server's JetStream context once Run has connected.
func (s *Server) JetStream() (jetstream.JetStream, error) {
	js := s.js.Load()
	if js == nil {
		return nil, errNotConnected
	}
	return *js, nil
}

// NodeTimeout is the node timeout the scheduler uses, for the API to agree.
func (s *Server) NodeTimeout() time.Duration { return s.opts.NodeTimeout }

// Checks are the server's health checks for /healthz: NATS connected,
// ingest consuming, InfluxDB answering.
func (s *Server) Checks() map[string]httpd.Check {
	return map[string]httpd.Check{
		"nats": func(context.Context) error {
			nc := s.nc.Load()
			if nc == nil {
				return errors.New("not connected yet")
			}
			if !nc.IsConnected() {
				return fmt.Errorf("disconnected (status %s)", nc.Status())
			}
			return nil
		},
		"ingest": func(context.Context) error {
			ing := s.ing.Load()
			if ing == nil {
				return errors.New("not started yet")
			}
			return ing.Healthy()
		},
		"influxdb": func(ctx context.Context) error {
			ing := s.ing.Load()
			if ing == nil {
				return errors.New("not started yet")
			}
			return ing.Check(ctx)
		},
	}
}
