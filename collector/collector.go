package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/internal/clock"
)

// Defaults for Options.
const (
	DefaultInterval        = 10 * time.Second
	DefaultFlushInterval   = time.Second
	DefaultShutdownTimeout = 5 * time.Second
	// DefaultMaxBatchBytes leaves 4 KiB of NATS' default 1 MiB max_payload
	// for the message headers (Nats-Msg-Id and friends), which count
	// against the same limit.
	DefaultMaxBatchBytes = 1<<20 - 4<<10
)

// PipelineMeasurement is the measurement of the collector's own metrics
// written with the data every Interval.
const PipelineMeasurement = "swell_pipeline"

// ConfiguredInput is an input with the name and interval it runs under.
type ConfiguredInput struct {
	// Name labels the input's self-metrics and errors ("cpu", "docker").
	Name  string
	Input Input
	// Interval overrides Options.Interval for this input; 0 uses it.
	Interval time.Duration
}

// Primer is implemented by inputs that report values computed between two
// gathers, such as CPU usage. GatherOnce primes them and waits briefly so a
// one-shot run shows those fields too; the running collector needs no
// priming since its second gather has a predecessor.
type Primer interface {
	Prime(ctx context.Context) error
}

// Options configure a Collector.
type Options struct {
	// Node is the node's name; it becomes the `host` and `node` tags of
	// every point. Required.
	Node string
	// Inputs to run. At least one, with unique non-empty names.
	Inputs []ConfiguredInput
	// Interval between gathers of an input (default 10s). It is also the
	// gather timeout and the period of the swell_pipeline point.
	Interval time.Duration
	// Jitter is the upper bound of a random delay before each gather, to
	// spread the load of many inputs or nodes. Zero (the default, like
	// Telegraf's collection_jitter) means none, which keeps every node's
	// points on the same seconds. It is capped at each input's interval.
	Jitter time.Duration
	// FlushInterval is the longest a point waits in a partial batch
	// (default 1s).
	FlushInterval time.Duration
	// MaxBatchBytes caps one batch (default DefaultMaxBatchBytes). A
	// batch never exceeds it; a single line longer than it is dropped and
	// counted.
	MaxBatchBytes int
	// Precision truncates timestamps. Zero means 1s for inputs whose
	// interval is at least 1s and 1ms for faster ones, so that frequent
	// gathers never collapse onto one timestamp.
	Precision time.Duration
	// ShutdownTimeout bounds the final flush when Run's context ends
	// (default 5s).
	ShutdownTimeout time.Duration
	// GlobalTags are added to every point that does not set the tag
	// itself. `host` and `node` are added from Node unless set here.
	GlobalTags map[string]string
	// Output takes the batches. Required.
	Output Output

	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Clock      clock.Clock
}

// Collector runs inputs and ships their points in batches. Build it with
// New, run it with Run.
type Collector struct {
	opts    Options
	inputs  []*inputState
	global  []tag
	log     *slog.Logger
	clock   clock.Clock
	m       *metrics
	totals  totals
	running atomic.Bool
}

// inputState is one input as the collector runs it.
type inputState struct {
	ConfiguredInput
	precision time.Duration
	jitter    time.Duration
	// stuck holds the result channel of a gather that outlived its
	// timeout and was abandoned; no new gather starts until it returns.
	stuck <-chan error
	// lastErr is the first error of the previous gather ("" when it had
	// none). Only the input's own goroutine touches it.
	lastErr string
}

// New validates o and builds a Collector. It does not start anything.
func New(o Options) (*Collector, error) {
	if o.Node == "" {
		return nil, errors.New("collector: Options.Node is empty; give the node name (the agent's --node)")
	}
	if len(o.Inputs) == 0 {
		return nil, errors.New("collector: no inputs to run; enable at least one input")
	}
	if o.Output == nil {
		return nil, errors.New("collector: Options.Output is nil")
	}
	if o.Interval < 0 || o.Jitter < 0 || o.FlushInterval < 0 || o.MaxBatchBytes < 0 || o.Precision < 0 || o.ShutdownTimeout < 0 {
		return nil, fmt.Errorf("collector: negative option (interval %s, jitter %s, flush interval %s, max batch bytes %d, precision %s, shutdown timeout %s)",
			o.Interval, o.Jitter, o.FlushInterval, o.MaxBatchBytes, o.Precision, o.ShutdownTimeout)
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.MaxBatchBytes == 0 {
		o.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}

	tags := map[string]string{"host": o.Node, "node": o.Node}
	for k, v := range o.GlobalTags {
		if err := validateTag(k, v); err != nil {
			return nil, fmt.Errorf("collector: global tag: %w", err)
		}
		tags[k] = v
	}

	c := &Collector{opts: o, global: sortedTags(tags), log: o.Logger, clock: o.Clock}
	seen := map[string]bool{}
	var names []string
	for i, ci := range o.Inputs {
		switch {
		case ci.Name == "":
			return nil, fmt.Errorf("collector: input %d has no name", i)
		case ci.Input == nil:
			return nil, fmt.Errorf("collector: input %q is nil", ci.Name)
		case seen[ci.Name]:
			return nil, fmt.Errorf("collector: input %q is listed twice; give each a unique name", ci.Name)
		case ci.Interval < 0:
			return nil, fmt.Errorf("collector: input %q: negative interval %s", ci.Name, ci.Interval)
		}
		seen[ci.Name] = true
		names = append(names, ci.Name)
		if ci.Interval == 0 {
			ci.Interval = o.Interval
		}
		c.inputs = append(c.inputs, &inputState{
			ConfiguredInput: ci,
			precision:       precisionFor(o.Precision, ci.Interval),
			jitter:          min(o.Jitter, ci.Interval),
		})
	}
	m, err := newMetrics(o.Registerer, names)
	if err != nil {
		return nil, err
	}
	c.m = m
	return c, nil
}

// precisionFor picks the timestamp precision of an input.
func precisionFor(configured, interval time.Duration) time.Duration {
	switch {
	case configured > 0:
		return configured
	case interval >= time.Second:
		return time.Second
	default:
		return time.Millisecond
	}
}

// Run gathers every input on its interval and writes batches to the output
// until ctx ends; then it flushes what is buffered, waiting at most
// ShutdownTimeout for the output, and returns nil. It returns an error only
// if it is already running.
func (c *Collector) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("collector: Run called while already running")
	}
	defer c.running.Store(false)

	// Writes get their own context so that the last batches still go out
	// after ctx ends; it is cancelled ShutdownTimeout later at the latest.
	writeCtx, cancelWrites := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWrites()

	gathered := make(chan gatherResult, len(c.inputs))
	b := &batcher{c: c, max: c.opts.MaxBatchBytes}
	batcherDone := make(chan struct{})
	go func() {
		defer close(batcherDone)
		b.run(writeCtx, gathered)
	}()

	var wg sync.WaitGroup
	for _, in := range c.inputs {
		wg.Go(func() { c.runInput(ctx, in, gathered) })
	}
	c.log.Info("collector started", "inputs", len(c.inputs), "interval", c.opts.Interval)

	<-ctx.Done()
	go func() {
		t := c.clock.NewTimer(c.opts.ShutdownTimeout)
		defer t.Stop()
		select {
		case <-t.C():
			c.log.Warn("collector: output did not take the last batches in time; giving up on them", "timeout", c.opts.ShutdownTimeout)
			cancelWrites()
		case <-batcherDone:
		}
	}()
	wg.Wait()
	close(gathered)
	<-batcherDone
	c.log.Info("collector stopped", "points_gathered", c.totals.pointsGathered.Load(), "batches", c.totals.batches.Load())
	return nil
}

// runInput gathers one input right away and then on every tick until ctx
// ends.
func (c *Collector) runInput(ctx context.Context, in *inputState, out chan<- gatherResult) {
	ticker := c.clock.NewTicker(in.Interval)
	defer ticker.Stop()
	for {
		if in.jitter > 0 && !c.sleep(ctx, rand.N(in.jitter)) {
			return
		}
		if res, ok := c.gatherScheduled(ctx, in); ok {
			out <- res
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
		}
	}
}

// sleep waits d or until ctx ends; it reports whether d passed.
func (c *Collector) sleep(ctx context.Context, d time.Duration) bool {
	t := c.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// gatherScheduled runs one gather of in and accounts for it. ok is false
// when there is nothing to ship.
func (c *Collector) gatherScheduled(ctx context.Context, in *inputState) (gatherResult, bool) {
	if in.stuck != nil {
		select {
		case err := <-in.stuck:
			in.stuck = nil
			c.log.Info("collector: abandoned gather finally returned; its points were discarded", "input", in.Name, "err", err)
		default:
			c.totals.gatherErrors.Add(1)
			c.m.gatherErrors.WithLabelValues(in.Name).Inc()
			c.log.Warn("collector: input is still stuck in an earlier gather; skipping this one", "input", in.Name)
			return gatherResult{}, false
		}
	}
	start := c.clock.Now()
	acc := newAccumulator(in.Name, start, in.precision, c.global)
	res, stuck := runGather(ctx, in.ConfiguredInput, acc, c.clock)
	in.stuck = stuck
	c.m.gatherSeconds.WithLabelValues(in.Name).Observe(c.clock.Now().Sub(start).Seconds())
	c.account(ctx, in, &res)
	return res, res.points() > 0
}

// account counts a gather's result and logs its errors. An input that keeps
// failing the same way (no Docker engine, an unreadable mount) is logged when
// it starts failing and when it recovers, not at every interval; the repeats
// go to debug and are still counted.
func (c *Collector) account(ctx context.Context, in *inputState, res *gatherResult) {
	n := res.points()
	c.totals.pointsGathered.Add(int64(n))
	c.m.pointsGathered.WithLabelValues(res.input).Add(float64(n))
	for reason, k := range res.fieldsDropped {
		c.totals.fieldsDropped.Add(int64(k))
		c.m.fieldsDropped.WithLabelValues(res.input, reason).Add(float64(k))
	}
	for reason, k := range res.pointsDropped {
		c.totals.pointsDropped.Add(int64(k))
		c.m.pointsDropped.WithLabelValues(reason).Add(float64(k))
	}
	if ctx.Err() != nil {
		// A gather cut short by shutdown is not the input's fault.
		return
	}
	if res.errCount == 0 {
		if in.lastErr != "" {
			c.log.Info("collector: input recovered", "input", res.input)
			in.lastErr = ""
		}
		return
	}
	c.totals.gatherErrors.Add(int64(res.errCount))
	c.m.gatherErrors.WithLabelValues(res.input).Add(float64(res.errCount))
	level := slog.LevelWarn
	if first := res.errs[0].Error(); first == in.lastErr {
		level = slog.LevelDebug
	} else {
		in.lastErr = first
	}
	for _, err := range res.errs {
		c.log.Log(ctx, level, "collector: input error", "input", res.input, "err", err)
	}
	if extra := res.errCount - len(res.errs); extra > 0 {
		c.log.Log(ctx, level, "collector: more input errors not shown", "input", res.input, "count", extra)
	}
}

// runGather calls in.Gather with a timeout of the input's interval. An input
// that ignores its context is abandoned shortly after the timeout: the
// returned channel then yields its result when it finally returns, and its
// late points are discarded.
func runGather(ctx context.Context, in ConfiguredInput, acc *accumulator, clk clock.Clock) (gatherResult, <-chan error) {
	gctx, cancel := context.WithTimeout(ctx, in.Interval)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("input %s panicked: %v\n%s", in.Name, p, debug.Stack())
			}
		}()
		done <- in.Input.Gather(gctx, acc)
	}()

	var err error
	select {
	case err = <-done:
	case <-gctx.Done():
		grace := clk.NewTimer(min(in.Interval, time.Second))
		select {
		case err = <-done:
			grace.Stop()
		case <-grace.C():
			cause := gctx.Err()
			if ctx.Err() == nil {
				cause = fmt.Errorf("gather did not return %s after its %s timeout; abandoned it: %w",
					min(in.Interval, time.Second), in.Interval, gctx.Err())
			}
			return acc.finish(cause), done
		}
	}
	if err != nil {
		if errors.Is(gctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("gather timed out after %s: %w", in.Interval, err)
		}
	} else if errors.Is(gctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		// The input returned nil after its deadline: its data may be
		// partial, which the operator should know.
		err = fmt.Errorf("gather took longer than its %s interval", in.Interval)
	}
	return acc.finish(err), nil
}
