package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/collector/inputs"
	"github.com/swell-pipeline/swell/collector/inputs/connections"
	"github.com/swell-pipeline/swell/collector/natsout"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/clock"
	"github.com/swell-pipeline/swell/router"
)

// Options configures an agent.
type Options struct {
	// NATS says how to reach NATS; ignored when Conn is set.
	NATS bus.ConnOptions
	// Conn is an existing connection to use (swell up shares one).
	Conn *nats.Conn

	// Node names this node (default: the hostname).
	Node string
	// Tags are added to every point (like Telegraf's global_tags).
	Tags map[string]string
	// Labels describe the node to the scheduler (rack, zone, …).
	Labels map[string]string
	// Addr is the node's address: published container ports bind to it.
	Addr string
	// CPUs and MemMiB are the capacity offered to the scheduler (0: the host's).
	CPUs   float64
	MemMiB float64
	// Version is swell's version, shown in the node record.
	Version string

	// Interval is the default collection interval (default 10s).
	Interval time.Duration
	// FlushInterval is the longest a point waits before it is published (default 1s).
	FlushInterval time.Duration
	// Jitter delays each gather by up to this much, so a fleet does not
	// gather in lock step.
	Jitter time.Duration
	// Inputs to run; empty runs every default input.
	Inputs []string
	// InputIntervals overrides Interval per input.
	InputIntervals map[string]time.Duration

	// DataDir holds the spool (DataDir/spool).
	DataDir string
	// SpoolMaxBytes caps the spool (default 256 MiB).
	SpoolMaxBytes int64

	DockerHost string
	CgroupRoot string

	// NoRouter turns the node's router (service ports) off.
	NoRouter bool
	// DrainTimeout is the longest the executor waits for the routers to
	// finish an instance's requests before stopping it (default 30s).
	DrainTimeout time.Duration
	// HoldTimeout is how long the router holds a request for a service
	// with no instance ready (scale from zero) before a 503 (default 30s).
	HoldTimeout time.Duration

	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Clock      clock.Clock
}

// Agent runs the node's collection pipeline.
type Agent struct {
	opts   Options
	inputs []collector.ConfiguredInput
	log    *slog.Logger

	mu      sync.Mutex
	running bool

	// engineRetry is how often a Docker engine that did not answer is
	// asked again (tests shorten it).
	engineRetry time.Duration
}

// New validates the options and builds the inputs; it connects to nothing.
func New(o Options) (*Agent, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Node == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("agent: no --node given and the hostname is unknown: %w", err)
		}
		o.Node = h
	}
	if o.Interval == 0 {
		o.Interval = 10 * time.Second
	}
	if o.Interval < 100*time.Millisecond {
		return nil, fmt.Errorf("agent: --interval %s is too short (minimum 100ms)", o.Interval)
	}
	if o.DataDir == "" {
		return nil, errors.New("agent: no data dir (--data-dir) for the spool")
	}
	if o.DrainTimeout < 0 || o.HoldTimeout < 0 {
		return nil, fmt.Errorf("agent: --drain-timeout %s and --hold-timeout %s must not be negative", o.DrainTimeout, o.HoldTimeout)
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.CPUs < 0 || o.MemMiB < 0 {
		return nil, fmt.Errorf("agent: --cpus %v and --mem %v must not be negative", o.CPUs, o.MemMiB)
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1"
	}
	if net.ParseIP(o.Addr) == nil {
		return nil, fmt.Errorf("agent: --addr %q is not an IP address", o.Addr)
	}
	// An empty URL without a connection means the caller hands one over
	// later (swell up builds its agent before NATS runs, to fail fast).
	if o.Conn == nil && o.NATS.URL != "" {
		if err := o.NATS.Validate(); err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
	}
	// Every part's logger names the node once and its own component once.
	o.Logger = o.Logger.With("node", o.Node)
	log := o.Logger.With("component", "agent")
	ins, err := buildInputs(o, o.Logger.With("component", "collector"))
	if err != nil {
		return nil, err
	}
	return &Agent{opts: o, inputs: ins, log: log, engineRetry: engineRetry}, nil
}

// InputNames returns the names of the inputs this agent runs.
func (a *Agent) InputNames() []string {
	names := make([]string, len(a.inputs))
	for i, in := range a.inputs {
		names[i] = in.Name
	}
	return names
}

// Node is the node name in use.
func (a *Agent) Node() string { return a.opts.Node }

// BuildInputs resolves input names against the built-in registry, the way
// the agent and `swell collect` do.
func BuildInputs(names []string, intervals map[string]time.Duration, env inputs.Env) ([]collector.ConfiguredInput, error) {
	reg := inputs.Builtin()
	if len(names) == 0 {
		for name, spec := range reg {
			if spec.Default {
				names = append(names, name)
			}
		}
		sort.Strings(names)
	}
	known := make([]string, 0, len(reg))
	for name := range reg {
		known = append(known, name)
	}
	sort.Strings(known)
	for name := range intervals {
		if !slices.Contains(names, name) {
			return nil, fmt.Errorf("--input-interval names %q, which is not among the inputs run (%s)", name, strings.Join(names, ","))
		}
	}
	var out []collector.ConfiguredInput
	seen := map[string]bool{}
	for _, name := range names {
		name = strings.TrimSpace(name)
		if seen[name] {
			continue
		}
		seen[name] = true
		spec, ok := reg[name]
		if !ok {
			return nil, fmt.Errorf("unknown input %q (known: %s)", name, strings.Join(known, ", "))
		}
		ienv := env
		if ienv.Logger != nil {
			ienv.Logger = ienv.Logger.With("input", name)
		}
		in, err := spec.New(ienv)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", name, err)
		}
		out = append(out, collector.ConfiguredInput{Name: name, Input: in, Interval: intervals[name]})
	}
	return out, nil
}

func buildInputs(o Options, log *slog.Logger) ([]collector.ConfiguredInput, error) {
	env := inputs.Env{Node: o.Node, Logger: log, DockerHost: o.DockerHost, CgroupRoot: o.CgroupRoot}
	ins, err := BuildInputs(o.Inputs, o.InputIntervals, env)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	return ins, nil
}

// Run connects to NATS (retrying in the background while it is away, with
// the spool taking the batches) and collects until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	o := a.opts
	nc := o.Conn
	if nc == nil {
		if o.NATS.URL == "" {
			return errors.New("agent: no NATS connection and no --nats-url")
		}
		co := o.NATS
		co.RetryOnFailedConnect = true
		if co.Name == "" {
			co.Name = "swell-agent " + o.Node
		}
		var err error
		nc, err = co.Connect(a.log)
		if err != nil {
			return fmt.Errorf("agent: %w", err)
		}
		defer nc.Close()
	}
	spoolDir := filepath.Join(o.DataDir, "spool")
	out, err := natsout.New(natsout.Options{
		Conn:          nc,
		Node:          o.Node,
		SpoolDir:      spoolDir,
		SpoolMaxBytes: o.SpoolMaxBytes,
		Logger:        o.Logger.With("component", "natsout"),
		Registerer:    o.Registerer,
		Clock:         o.Clock,
	})
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	tags := map[string]string{}
	for k, v := range o.Tags {
		tags[k] = v
	}
	col, err := collector.New(collector.Options{
		Node:          o.Node,
		Inputs:        a.inputs,
		Interval:      o.Interval,
		Jitter:        o.Jitter,
		FlushInterval: o.FlushInterval,
		GlobalTags:    tags,
		Output:        out,
		Logger:        o.Logger.With("component", "collector"),
		Registerer:    o.Registerer,
		Clock:         o.Clock,
	})
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	a.log.Info("agent collecting", "inputs", strings.Join(a.InputNames(), ","), "interval", o.Interval, "spool", spoolDir)

	// The output outlives the collector: the collector's last flush must
	// still reach NATS or the spool.
	outCtx, stopOut := context.WithCancel(context.WithoutCancel(ctx))
	defer stopOut()
	outErr := make(chan error, 1)
	go func() { outErr <- out.Run(outCtx) }()

	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("agent: jetstream: %w", err)
	}
	node, err := a.nodeRecord(ctx)
	if err != nil {
		return err
	}
	regDone := make(chan struct{})
	go func() {
		defer close(regDone)
		a.register(ctx, js, node)
	}()
	// The connections input also tells the autoscaler every second, on
	// the signal subjects, for the containers the routers do not count.
	for _, ci := range a.inputs {
		if c, ok := ci.Input.(*connections.Input); ok {
			go func() {
				if err := c.RunSignals(ctx, nc); err != nil && ctx.Err() == nil {
					a.log.Warn("connection signals stopped", "err", err)
				}
			}()
		}
	}

	var drain Drainer
	rtDone := make(chan struct{})
	if o.NoRouter {
		close(rtDone)
	} else {
		rt, err := router.New(router.Options{
			Node:            o.Node,
			Addr:            o.Addr,
			JS:              js,
			Metrics:         out,
			MetricsInterval: o.Interval,
			HoldTimeout:     o.HoldTimeout,
			Logger:          o.Logger,
			Clock:           o.Clock,
			Registerer:      o.Registerer,
		})
		if err != nil {
			return fmt.Errorf("agent: %w", err)
		}
		dw, err := router.NewDrainWaiter(router.DrainOptions{Conn: nc, Timeout: o.DrainTimeout, Clock: o.Clock})
		if err != nil {
			return fmt.Errorf("agent: %w", err)
		}
		drain = dw
		go func() {
			defer close(rtDone)
			if err := rt.Run(ctx); err != nil {
				a.log.Error("router stopped", "err", err)
			}
		}()
	}

	exDone := make(chan struct{})
	go func() {
		defer close(exDone)
		a.runContainers(ctx, js, out, drain)
	}()

	a.setRunning(true)
	colErr := col.Run(ctx)
	a.setRunning(false)
	<-regDone
	<-exDone
	<-rtDone
	stopOut()
	if err := <-outErr; err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("agent: output: %w", err)
	}
	if colErr != nil && !errors.Is(colErr, context.Canceled) {
		return fmt.Errorf("agent: collector: %w", colErr)
	}
	return nil
}

func (a *Agent) setRunning(v bool) {
	a.mu.Lock()
	a.running = v
	a.mu.Unlock()
}

// Check is the agent's health check: it is collecting.
func (a *Agent) Check(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.running {
		return errors.New("collector not running")
	}
	return nil
}
