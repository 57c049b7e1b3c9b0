package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/swell-pipeline/swell/api"
	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/loadgen"
)

// The demo service and what the profile is measured against.
const (
	// ServiceID is the demo service.
	ServiceID = "/demo/web"
	// AlertName is the demo's alert rule.
	AlertName = "demo-overloaded"
	// ReceiverName is the webhook receiver that posts to the sink.
	ReceiverName = "demo-sink"
	// Target is the policy's in-flight requests per instance.
	Target = 5
	// TargetUtilization is the policy's share of Target each instance is
	// planned for: 3.5 requests each.
	TargetUtilization = 0.7
	// MinReplicas and MaxReplicas bound the demo service.
	MinReplicas = 1
	MaxReplicas = 10
	// RequestMS is how long the demo app takes to answer each request, so
	// a closed loop of C workers keeps about C requests in flight.
	RequestMS = 200
	// DefaultImage is what `make demo-image` builds.
	DefaultImage = "swell-demo:1"
)

// Phase is one stretch of the load profile: Concurrency workers, each
// sending one request after another, for Duration. Concurrency 0 sends
// nothing.
type Phase struct {
	Name        string
	Concurrency int
	Duration    time.Duration
}

// DefaultProfile is quiet → a step up → a burst → quiet: 1 instance, then
// 5, then the burst's 9, then back to 1 (15 and 30 requests in flight over
// 3.5 planned per instance).
func DefaultProfile() []Phase {
	return []Phase{
		{Name: "quiet", Concurrency: 2, Duration: 20 * time.Second},
		{Name: "step", Concurrency: 15, Duration: 40 * time.Second},
		{Name: "burst", Concurrency: 30, Duration: 20 * time.Second},
		{Name: "quiet", Concurrency: 2, Duration: 30 * time.Second},
	}
}

// ParseProfile reads a profile written as name=duration@concurrency,…
// (quiet=20s@2,step=40s@15), as the --profile flag takes it.
func ParseProfile(s string) ([]Phase, error) {
	var out []Phase
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		name, rest, ok := strings.Cut(part, "=")
		dur, conc, ok2 := strings.Cut(rest, "@")
		if !ok || !ok2 || name == "" {
			return nil, fmt.Errorf("profile phase %d %q: want name=duration@concurrency, e.g. step=40s@15", i+1, part)
		}
		d, err := time.ParseDuration(dur)
		if err != nil {
			return nil, fmt.Errorf("profile phase %d %q: duration: %w", i+1, part, err)
		}
		c, err := strconv.Atoi(conc)
		if err != nil {
			return nil, fmt.Errorf("profile phase %d %q: concurrency %q is not a whole number", i+1, part, conc)
		}
		out = append(out, Phase{Name: name, Concurrency: c, Duration: d})
	}
	return out, validateProfile(out)
}

func validateProfile(ps []Phase) error {
	if len(ps) == 0 {
		return errors.New("demo: empty load profile")
	}
	var total time.Duration
	for i, p := range ps {
		if p.Name == "" {
			return fmt.Errorf("demo: profile phase %d has no name", i+1)
		}
		if p.Duration < time.Second || p.Duration > 5*time.Minute {
			return fmt.Errorf("demo: profile phase %d (%s): duration %s: want 1s to 5m", i+1, p.Name, p.Duration)
		}
		if p.Concurrency < 0 || p.Concurrency > 200 {
			return fmt.Errorf("demo: profile phase %d (%s): concurrency %d: want 0 to 200", i+1, p.Name, p.Concurrency)
		}
		total += p.Duration
	}
	if total > 6*time.Minute {
		return fmt.Errorf("demo: the profile lasts %s; at most 6m, so the demo ends within ten minutes", total)
	}
	return nil
}

// Options configure a demo run.
type Options struct {
	// DataDir holds everything the run keeps: swell up's data (up/), the
	// agents' spools, the log, the plot and the summary. Required.
	DataDir string
	// Image is the demo app's image (default swell-demo:1, `make demo-image`).
	Image string
	// InfluxdBinary is influxd (default ./bin/influxd, then $PATH).
	InfluxdBinary string
	// DockerHost is the engine (default DOCKER_HOST or the local socket).
	DockerHost string
	// Profile is the load (default DefaultProfile).
	Profile []Phase
	// Settle bounds the wait after the last phase for the service to be
	// back at its minimum with the alert resolved (default 2m).
	Settle time.Duration
	// Timeout bounds the run before the clean-up (default 8m).
	Timeout time.Duration
	// Nodes names the three nodes (default demo-1, demo-2, demo-3) and
	// Addrs gives their addresses (default 127.0.0.1, .2, .3).
	Nodes []string
	Addrs []string
	// Labels are added to the demo service, and so to its containers.
	Labels map[string]string
	// PlotPath is the PNG written at the end (default DataDir/demo.png).
	PlotPath string
	// Out receives the live lines and the summary.
	Out io.Writer
	// Logger receives the parts' logs (default: DataDir/demo.log, info).
	Logger *slog.Logger
}

// Demo is one run.
type Demo struct {
	o Options
}

// New validates the options; it starts nothing.
func New(o Options) (*Demo, error) {
	if o.DataDir == "" {
		return nil, errors.New("demo: no data dir (--data-dir)")
	}
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if o.Profile == nil {
		o.Profile = DefaultProfile()
	}
	if err := validateProfile(o.Profile); err != nil {
		return nil, err
	}
	if o.Settle == 0 {
		o.Settle = 2 * time.Minute
	}
	if o.Timeout == 0 {
		o.Timeout = 8 * time.Minute
	}
	if o.Settle < 0 || o.Timeout < 0 {
		return nil, fmt.Errorf("demo: settle %s and timeout %s must not be negative", o.Settle, o.Timeout)
	}
	if o.Nodes == nil {
		o.Nodes = []string{"demo-1", "demo-2", "demo-3"}
	}
	if o.Addrs == nil {
		o.Addrs = []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	}
	if len(o.Nodes) != len(o.Addrs) || len(o.Nodes) == 0 {
		return nil, fmt.Errorf("demo: %d node names for %d addresses", len(o.Nodes), len(o.Addrs))
	}
	for _, a := range o.Addrs {
		if err := loadgen.CheckTarget(context.Background(), "http://"+a+"/", false); err != nil {
			return nil, fmt.Errorf("demo: node address %s: the demo stays on loopback addresses: %w", a, err)
		}
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	abs, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("demo: data dir %s: %w", o.DataDir, err)
	}
	o.DataDir = abs
	if o.PlotPath == "" {
		o.PlotPath = filepath.Join(abs, "demo.png")
	}
	return &Demo{o: o}, nil
}

// Result is what a run saw.
type Result struct {
	Elapsed time.Duration
	// Phases are the load phases with what loadgen measured.
	Phases []PhaseResult
	// Requests and Errors add up the phases.
	Requests, Errors int64
	// ScaleEvents are the demo service's scale events, oldest first.
	ScaleEvents []events.Event
	// PeakDesired and PeakHealthy are the highest counts seen;
	// PeakPerNode the most instances seen on each node at once.
	PeakDesired, PeakHealthy int
	PeakPerNode              map[string]int
	// Notifications are what the sink received, in order.
	Notifications []Notification
	// Settled is true when the service was back at its minimum with the
	// alert resolved before the settle bound.
	Settled bool
	// Samples are the per-second observations the plot draws.
	Samples []Sample
	// Where the run's files are.
	PlotPath, SummaryPath, LogPath, GrafanaDir string
	// Endpoints the run opened (all closed when Run returns).
	HTTPURL, NATSURL, InfluxURL string
	ServicePort                 int
	SinkURL                     string
	// LeftoverContainers counts demo containers the clean-up had to
	// remove itself because their agent had not.
	LeftoverContainers int
}

// PhaseResult is one phase and its load result.
type PhaseResult struct {
	Phase
	Start  time.Duration
	Result loadgen.Result
}

// Run starts everything, drives the profile, prints what happens, and
// stops everything it started before it returns — also when ctx ends or a
// part fails. The error says what went wrong and what to do.
func (d *Demo) Run(ctx context.Context) (Result, error) {
	o := d.o
	res := Result{PlotPath: o.PlotPath, SummaryPath: filepath.Join(o.DataDir, "summary.txt")}
	pre, err := preflight(ctx, o)
	if err != nil {
		return res, err
	}
	defer pre.close()
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return res, fmt.Errorf("demo: data dir %s: %w", o.DataDir, err)
	}
	log := o.Logger
	if log == nil {
		res.LogPath = filepath.Join(o.DataDir, "demo.log")
		f, err := os.OpenFile(res.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return res, fmt.Errorf("demo: log file: %w", err)
		}
		defer f.Close()
		log = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	p := newPrinter(o.Out)

	runCtx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	c := &cluster{o: o, log: log, p: p, docker: pre.docker}
	// Whatever happens from here, everything started is stopped.
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if _, err := c.stop(stopCtx); err != nil {
			p.line("clean-up: %v", err)
		}
	}()

	p.line("starting swell up and three nodes (data dir %s)", o.DataDir)
	if err := c.start(runCtx); err != nil {
		return res, err
	}
	res.HTTPURL, res.NATSURL, res.InfluxURL, res.GrafanaDir = c.httpURL, c.natsURL, c.influxURL, c.grafanaDir
	res.ServicePort, res.SinkURL = c.servicePort, c.sink.url()
	p.line("swell is up: API %s · NATS %s · InfluxDB %s · nodes %s", c.httpURL, c.natsURL, c.influxURL, c.nodesLine())

	if err := c.apply(runCtx, o); err != nil {
		return res, err
	}
	driveErr := c.drive(runCtx, &res)
	res.Elapsed = time.Since(c.t0)
	stopCtx, cancelStop := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancelStop()
	n, stopErr := c.stop(stopCtx)
	res.LeftoverContainers = n
	if driveErr != nil {
		if ctx.Err() != nil {
			return res, errors.New("demo: interrupted; everything it started is stopped")
		}
		return res, driveErr
	}
	if stopErr != nil {
		return res, fmt.Errorf("demo: clean-up: %w", stopErr)
	}
	if err := c.finish(&res); err != nil {
		return res, err
	}
	if !res.Settled {
		return res, fmt.Errorf("demo: %s was not back at %d instance(s) with its alert resolved within %s of the last phase; see %s", ServiceID, MinReplicas, o.Settle, res.LogPath)
	}
	return res, nil
}

// apiClient returns an API client for base.
func apiClient(base string) (*api.Client, error) {
	c, err := api.NewClient(base, "")
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	c.HTTP.Timeout = 5 * time.Second
	return c, nil
}
