package collector_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/collector/collectortest"
	"github.com/swell-pipeline/swell/internal/clock"
	"github.com/swell-pipeline/swell/internal/testenv"
)

// recordingOutput keeps every batch it is given and reports fixed pipeline
// stats, like the NATS output would.
type recordingOutput struct {
	mu      sync.Mutex
	batches []collector.Batch
	err     error
}

func (o *recordingOutput) Write(_ context.Context, b collector.Batch) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	o.batches = append(o.batches, b)
	return nil
}

func (o *recordingOutput) PipelineStats() map[string]any {
	return map[string]any{"published": int64(7), "spooled": int64(1), "dropped": int64(0), "spool_bytes": int64(512)}
}

func (o *recordingOutput) snapshot() []collector.Batch {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]collector.Batch(nil), o.batches...)
}

// points decodes every batch so far; a batch that does not decode, or
// whose Points disagrees with its lines, fails the test.
func (o *recordingOutput) points(t *testing.T) []collectortest.Point {
	t.Helper()
	var all []collectortest.Point
	for i, b := range o.snapshot() {
		ps, err := collectortest.Decode(b.Data)
		if err != nil {
			t.Fatalf("batch %d does not decode: %v\n%s", i, err, b.Data)
		}
		if len(ps) != b.Points || bytes.Count(b.Data, []byte("\n")) != b.Points {
			t.Fatalf("batch %d says %d points, holds %d lines", i, b.Points, len(ps))
		}
		all = append(all, ps...)
	}
	return all
}

// funcInput adapts a function to collector.Input and counts its gathers.
type funcInput struct {
	gathers atomic.Int64
	fn      func(ctx context.Context, acc collector.Accumulator) error
}

func (f *funcInput) Gather(ctx context.Context, acc collector.Accumulator) error {
	f.gathers.Add(1)
	return f.fn(ctx, acc)
}

func constInput(measurement string) *funcInput {
	return &funcInput{fn: func(_ context.Context, acc collector.Accumulator) error {
		acc.AddFields(measurement, map[string]any{"value": 1}, nil, time.Time{})
		return nil
	}}
}

// start runs c until the returned stop function is called (or the test
// ends) and fails the test if Run does not return within 10s of stop.
func start(t *testing.T, c *collector.Collector) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return within 10s of its context ending")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds or 10s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// counter reads a counter from reg by name and label values.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	return testenv.Metric(t, reg, name, labels)
}

func newCollector(t *testing.T, o collector.Options) (*collector.Collector, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o.Registerer = reg
	if o.Node == "" {
		o.Node = "node-1"
	}
	c, err := collector.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, reg
}

func TestNewRejectsBadOptions(t *testing.T) {
	out := &recordingOutput{}
	in := []collector.ConfiguredInput{{Name: "a", Input: constInput("a")}}
	tests := []struct {
		name string
		opts collector.Options
		want string
	}{
		{"no node", collector.Options{Inputs: in, Output: out}, "Node is empty"},
		{"no inputs", collector.Options{Node: "n", Output: out}, "no inputs"},
		{"no output", collector.Options{Node: "n", Inputs: in}, "Output is nil"},
		{"negative interval", collector.Options{Node: "n", Inputs: in, Output: out, Interval: -time.Second}, "negative option"},
		{"negative jitter", collector.Options{Node: "n", Inputs: in, Output: out, Jitter: -1}, "negative option"},
		{"unnamed input", collector.Options{Node: "n", Output: out, Inputs: []collector.ConfiguredInput{{Input: constInput("a")}}}, "input 0 has no name"},
		{"nil input", collector.Options{Node: "n", Output: out, Inputs: []collector.ConfiguredInput{{Name: "x"}}}, `input "x" is nil`},
		{"duplicate input", collector.Options{Node: "n", Output: out, Inputs: append(in, in...)}, `input "a" is listed twice`},
		{"negative input interval", collector.Options{Node: "n", Output: out, Inputs: []collector.ConfiguredInput{{Name: "a", Input: constInput("a"), Interval: -1}}}, "negative interval"},
		{"empty global tag", collector.Options{Node: "n", Output: out, Inputs: in, GlobalTags: map[string]string{"rack": ""}}, `tag "rack" has an empty value`},
		{"reserved global tag", collector.Options{Node: "n", Output: out, Inputs: in, GlobalTags: map[string]string{"time": "x"}}, "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := collector.New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestNewRejectsSecondCollectorOnSameRegisterer(t *testing.T) {
	reg := prometheus.NewRegistry()
	o := collector.Options{Node: "n", Output: &recordingOutput{}, Registerer: reg,
		Inputs: []collector.ConfiguredInput{{Name: "a", Input: constInput("a")}}}
	if _, err := collector.New(o); err != nil {
		t.Fatalf("first New: %v", err)
	}
	_, err := collector.New(o)
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); !ok {
		t.Fatalf("second New error = %v, want an AlreadyRegisteredError", err)
	} else if are.ExistingCollector == nil {
		t.Fatal("AlreadyRegisteredError without the existing collector")
	}
}

func TestCollectorGathersEachInputOnItsOwnInterval(t *testing.T) {
	clk := newFakeClock()
	fast, slow, deflt := constInput("fast"), constInput("slow"), constInput("default")
	c, _ := newCollector(t, collector.Options{
		Interval: 4 * time.Second,
		Clock:    clk,
		Output:   &recordingOutput{},
		Inputs: []collector.ConfiguredInput{
			{Name: "fast", Input: fast, Interval: time.Second},
			{Name: "slow", Input: slow, Interval: 5 * time.Second},
			{Name: "default", Input: deflt},
		},
	})
	start(t, c)

	count := func(i *funcInput) int64 { return i.gathers.Load() }
	// Every input gathers once right away, then on its own ticker.
	for sec := int64(0); sec <= 10; sec++ {
		wantFast, wantSlow, wantDefault := sec+1, sec/5+1, sec/4+1
		waitFor(t, "gathers at second "+time.Duration(sec*int64(time.Second)).String(), func() bool {
			return count(fast) == wantFast && count(slow) == wantSlow && count(deflt) == wantDefault
		})
		clk.Advance(time.Second)
	}
}

func TestCollectorDelaysGathersByJitter(t *testing.T) {
	clk := newFakeClock()
	in := constInput("m")
	c, _ := newCollector(t, collector.Options{
		Clock: clk, Output: &recordingOutput{}, Interval: 10 * time.Second, Jitter: time.Second,
		Inputs: []collector.ConfiguredInput{{Name: "in", Input: in}},
	})
	start(t, c)
	// The jitter timer is armed right after Run starts; until time moves,
	// nothing may be gathered.
	time.Sleep(20 * time.Millisecond)
	if n := in.gathers.Load(); n != 0 {
		t.Fatalf("%d gathers before the jitter delay passed", n)
	}
	clk.Advance(time.Second)
	waitFor(t, "the first gather once the jitter bound passed", func() bool { return in.gathers.Load() == 1 })
}

func TestCollectorTagsEveryPointWithHostAndNode(t *testing.T) {
	clk := newFakeClock()
	out := &recordingOutput{}
	in := &funcInput{fn: func(_ context.Context, acc collector.Accumulator) error {
		acc.AddFields("plain", map[string]any{"v": 1}, nil, time.Time{})
		acc.AddFields("own_host", map[string]any{"v": 1}, map[string]string{"host": "elsewhere"}, time.Time{})
		return nil
	}}
	c, _ := newCollector(t, collector.Options{
		Node: "node-7", Clock: clk, Output: out,
		GlobalTags: map[string]string{"rack": "r1"},
		Inputs:     []collector.ConfiguredInput{{Name: "in", Input: in}},
	})
	stop := start(t, c)
	waitFor(t, "first gather", func() bool { return in.gathers.Load() == 1 })
	stop()

	got := map[string]map[string]string{}
	for _, p := range out.points(t) {
		got[p.Measurement] = p.Tags
	}
	want := map[string]map[string]string{
		"plain":          {"host": "node-7", "node": "node-7", "rack": "r1"},
		"own_host":       {"host": "elsewhere", "node": "node-7", "rack": "r1"},
		"swell_pipeline": {"host": "node-7", "node": "node-7", "rack": "r1", "component": "collector"},
	}
	for m, tags := range want {
		if !mapsEqual(got[m], tags) {
			t.Errorf("%s tags = %v, want %v", m, got[m], tags)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func TestCollectorNeverExceedsMaxBatchBytes(t *testing.T) {
	clk := newFakeClock()
	out := &recordingOutput{}
	const points = 500
	in := &funcInput{fn: func(_ context.Context, acc collector.Accumulator) error {
		for i := range points {
			acc.AddFields("m", map[string]any{"i": i, "s": strings.Repeat("x", i%50)}, map[string]string{"k": "v"}, time.Time{})
		}
		// One line longer than a batch may be: dropped, never shipped.
		acc.AddFields("huge", map[string]any{"s": strings.Repeat("y", 5000)}, nil, time.Time{})
		return nil
	}}
	const maxBytes = 2000
	c, reg := newCollector(t, collector.Options{
		Clock: clk, Output: out, MaxBatchBytes: maxBytes,
		Inputs: []collector.ConfiguredInput{{Name: "in", Input: in}},
	})
	stop := start(t, c)
	waitFor(t, "full batches to be written", func() bool { return len(out.snapshot()) > 10 })
	stop()

	batches := out.snapshot()
	for i, b := range batches {
		if len(b.Data) > maxBytes {
			t.Errorf("batch %d is %d bytes, limit %d", i, len(b.Data), maxBytes)
		}
	}
	if got := len(collectortest.Filter(out.points(t), "m")); got != points {
		t.Errorf("delivered %d points of measurement m, want %d", got, points)
	}
	if n := len(collectortest.Filter(out.points(t), "huge")); n != 0 {
		t.Errorf("delivered %d oversize points", n)
	}
	if got := counter(t, reg, "swell_collector_points_dropped_total", map[string]string{"reason": "oversize"}); got != 1 {
		t.Errorf("oversize drops = %v, want 1", got)
	}
}

func TestCollectorFlushesPartialBatchAfterFlushInterval(t *testing.T) {
	clk := newFakeClock()
	out := &recordingOutput{}
	in := constInput("m")
	c, _ := newCollector(t, collector.Options{
		Clock: clk, Output: out, Interval: time.Minute, FlushInterval: 2 * time.Second,
		Inputs: []collector.ConfiguredInput{{Name: "in", Input: in}},
	})
	start(t, c)
	waitFor(t, "first gather", func() bool { return in.gathers.Load() == 1 })

	clk.Advance(1999 * time.Millisecond)
	// Nothing may go out before the flush interval; give the batcher a
	// moment to (wrongly) do so.
	time.Sleep(20 * time.Millisecond)
	if n := len(out.snapshot()); n != 0 {
		t.Fatalf("%d batches written before the flush interval passed", n)
	}
	clk.Advance(time.Millisecond)
	waitFor(t, "the partial batch to be flushed", func() bool { return len(out.snapshot()) == 1 })
	if got := out.snapshot()[0].Points; got != 1 {
		t.Errorf("flushed batch has %d points, want 1", got)
	}
}

func TestCollectorFlushesBufferedPointsOnShutdown(t *testing.T) {
	clk := newFakeClock()
	out := &recordingOutput{}
	in := constInput("m")
	c, _ := newCollector(t, collector.Options{
		Clock: clk, Output: out, Interval: time.Hour, FlushInterval: time.Hour,
		Inputs: []collector.ConfiguredInput{{Name: "in", Input: in}},
	})
	stop := start(t, c)
	waitFor(t, "first gather", func() bool { return in.gathers.Load() == 1 })
	if n := len(out.snapshot()); n != 0 {
		t.Fatalf("%d batches written before shutdown with an hour-long flush interval", n)
	}
	stop()
	ps := out.points(t)
	if len(collectortest.Filter(ps, "m")) != 1 || len(collectortest.Filter(ps, "swell_pipeline")) != 1 {
		t.Fatalf("after shutdown got %v, want the m point and a final swell_pipeline point", ps)
	}
}

func TestCollectorWritesPipelinePointWithOutputStats(t *testing.T) {
	clk := newFakeClock()
	out := &recordingOutput{}
	in := &funcInput{fn: func(_ context.Context, acc collector.Accumulator) error {
		acc.AddFields("m", map[string]any{"a": 1, "b": 2}, nil, time.Time{})
		acc.AddFields("m", map[string]any{"a": 3}, map[string]string{"x": "y"}, time.Time{})
		acc.AddError(errors.New("one disk unreadable"))
		return nil
	}}
	c, _ := newCollector(t, collector.Options{
		Clock: clk, Output: out, Interval: 10 * time.Second, FlushInterval: time.Second,
		// The input's own interval is longer than the pipeline period so
		// that the counts in the first pipeline point are exact.
		Inputs: []collector.ConfiguredInput{{Name: "in", Input: in, Interval: time.Hour}},
	})
	start(t, c)
	waitFor(t, "first gather", func() bool { return in.gathers.Load() == 1 })
	clk.Advance(time.Second) // flush the gathered points: batches becomes 1
	waitFor(t, "first batch", func() bool { return len(out.snapshot()) == 1 })
	clk.Advance(9 * time.Second) // pipeline tick
	var pipe []collectortest.Point
	waitFor(t, "a swell_pipeline point", func() bool {
		// Keep time moving: the flush timer is armed only once the
		// batcher has taken the tick, which the test cannot observe.
		clk.Advance(100 * time.Millisecond)
		pipe = collectortest.Filter(out.points(t), "swell_pipeline")
		return len(pipe) > 0
	})
	p := pipe[0]
	if p.Tags["component"] != "collector" || p.Tags["node"] != "node-1" || p.Tags["host"] != "node-1" {
		t.Errorf("swell_pipeline tags = %v", p.Tags)
	}
	want := map[string]int64{
		"batches": 1, "gather_errors": 1, "points_gathered": 2,
		"published": 7, "spooled": 1, "dropped": 0, "spool_bytes": 512,
	}
	for k, v := range want {
		if p.Fields[k] != v {
			t.Errorf("swell_pipeline %s = %v, want %d", k, p.Fields[k], v)
		}
	}
}

func TestCollectorDropsNonFiniteFields(t *testing.T) {
	clk := newFakeClock()
	out := &recordingOutput{}
	in := &funcInput{fn: func(_ context.Context, acc collector.Accumulator) error {
		acc.AddFields("m", map[string]any{"ok": 1.5, "nan": math.NaN(), "inf": math.Inf(1), "f32nan": float32(math.NaN())}, nil, time.Time{})
		acc.AddFields("only_nan", map[string]any{"nan": math.NaN()}, nil, time.Time{})
		return nil
	}}
	c, reg := newCollector(t, collector.Options{
		Clock: clk, Output: out,
		Inputs: []collector.ConfiguredInput{{Name: "in", Input: in}},
	})
	stop := start(t, c)
	waitFor(t, "first gather", func() bool { return in.gathers.Load() == 1 })
	stop()

	ps := out.points(t)
	m := collectortest.Filter(ps, "m")
	if len(m) != 1 || len(m[0].Fields) != 1 || m[0].Fields["ok"] != 1.5 {
		t.Errorf("m points = %v, want one with only ok=1.5", m)
	}
	if n := len(collectortest.Filter(ps, "only_nan")); n != 0 {
		t.Errorf("a point whose only field is NaN was shipped %d times", n)
	}
	if got := counter(t, reg, "swell_collector_fields_dropped_total", map[string]string{"input": "in", "reason": "non_finite"}); got != 4 {
		t.Errorf("non-finite fields dropped = %v, want 4", got)
	}
	if got := counter(t, reg, "swell_collector_points_dropped_total", map[string]string{"reason": "no_fields"}); got != 1 {
		t.Errorf("points dropped for no fields = %v, want 1", got)
	}
}

func TestCollectorCancelsHungInput(t *testing.T) {
	out := &recordingOutput{}
	hung := &funcInput{fn: func(ctx context.Context, acc collector.Accumulator) error {
		acc.AddFields("partial", map[string]any{"v": 1}, nil, time.Time{})
		<-ctx.Done()
		return ctx.Err()
	}}
	good := constInput("good")
	c, reg := newCollector(t, collector.Options{
		Clock: clock.Real{}, Output: out, Interval: 50 * time.Millisecond, FlushInterval: 10 * time.Millisecond,
		Inputs: []collector.ConfiguredInput{{Name: "hung", Input: hung}, {Name: "good", Input: good}},
	})
	start(t, c)
	waitFor(t, "the hung input to time out twice", func() bool {
		return counter(t, reg, "swell_collector_gather_errors_total", map[string]string{"input": "hung"}) >= 2
	})
	if good.gathers.Load() < 2 {
		t.Errorf("the good input gathered %d times while the other hung", good.gathers.Load())
	}
	// Points the hung input added before its deadline are kept.
	waitFor(t, "the hung input's partial points", func() bool {
		return len(collectortest.Filter(out.points(t), "partial")) >= 1
	})
}

func TestCollectorAbandonsInputThatIgnoresItsContext(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	stubborn := &funcInput{fn: func(_ context.Context, acc collector.Accumulator) error {
		<-release
		acc.AddFields("late", map[string]any{"v": 1}, nil, time.Time{})
		return nil
	}}
	good := constInput("good")
	out := &recordingOutput{}
	c, reg := newCollector(t, collector.Options{
		Clock: clock.Real{}, Output: out, Interval: 30 * time.Millisecond, FlushInterval: 10 * time.Millisecond,
		Inputs: []collector.ConfiguredInput{{Name: "stubborn", Input: stubborn}, {Name: "good", Input: good}},
	})
	stop := start(t, c)
	waitFor(t, "the stubborn input to be abandoned and skipped", func() bool {
		return counter(t, reg, "swell_collector_gather_errors_total", map[string]string{"input": "stubborn"}) >= 2
	})
	if n := stubborn.gathers.Load(); n != 1 {
		t.Errorf("a new gather started while the abandoned one still ran: %d gathers", n)
	}
	began := time.Now()
	stop()
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("Run took %s to return with a stuck input", d)
	}
	if len(collectortest.Filter(out.points(t), "good")) == 0 {
		t.Error("no points from the good input")
	}
}

func TestCollectorSurvivesPanickingInput(t *testing.T) {
	clk := newFakeClock()
	out := &recordingOutput{}
	bad := &funcInput{fn: func(context.Context, collector.Accumulator) error { panic("boom") }}
	good := constInput("good")
	c, reg := newCollector(t, collector.Options{
		Clock: clk, Output: out,
		Inputs: []collector.ConfiguredInput{{Name: "bad", Input: bad}, {Name: "good", Input: good}},
	})
	stop := start(t, c)
	waitFor(t, "the panic to be counted", func() bool {
		return counter(t, reg, "swell_collector_gather_errors_total", map[string]string{"input": "bad"}) == 1
	})
	waitFor(t, "the good input", func() bool { return good.gathers.Load() == 1 })
	stop()
	if len(collectortest.Filter(out.points(t), "good")) != 1 {
		t.Error("the good input's point was not shipped")
	}
}

func TestCollectorCountsBatchesTheOutputRejects(t *testing.T) {
	clk := newFakeClock()
	out := &recordingOutput{err: errors.New("spool full")}
	in := constInput("m")
	c, reg := newCollector(t, collector.Options{
		Clock: clk, Output: out,
		Inputs: []collector.ConfiguredInput{{Name: "in", Input: in}},
	})
	stop := start(t, c)
	waitFor(t, "first gather", func() bool { return in.gathers.Load() == 1 })
	stop()
	if got := counter(t, reg, "swell_collector_write_errors_total", nil); got != 1 {
		t.Errorf("write errors = %v, want 1", got)
	}
	if got := counter(t, reg, "swell_collector_points_dropped_total", map[string]string{"reason": "write_error"}); got != 2 {
		t.Errorf("points dropped by write errors = %v, want 2 (m and swell_pipeline)", got)
	}
	if got := counter(t, reg, "swell_collector_batches_total", nil); got != 0 {
		t.Errorf("batches = %v, want 0", got)
	}
}

func TestCollectorRunTwiceAtOnceFails(t *testing.T) {
	in := constInput("m")
	c, _ := newCollector(t, collector.Options{
		Clock: newFakeClock(), Output: &recordingOutput{},
		Inputs: []collector.ConfiguredInput{{Name: "in", Input: in}},
	})
	start(t, c)
	waitFor(t, "first gather", func() bool { return in.gathers.Load() == 1 })
	err := c.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Run = %v, want an already-running error", err)
	}
}

func TestCollectorLogsARepeatedInputErrorOnceAndItsRecovery(t *testing.T) {
	clk := newFakeClock()
	var failing atomic.Bool
	failing.Store(true)
	in := &funcInput{fn: func(_ context.Context, acc collector.Accumulator) error {
		if failing.Load() {
			return errors.New("cannot reach the Docker engine")
		}
		acc.AddFields("ok", map[string]any{"v": 1}, nil, time.Time{})
		return nil
	}}
	logs := &testenv.SyncBuffer{}
	c, reg := newCollector(t, collector.Options{
		Clock: clk, Output: &recordingOutput{},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Inputs: []collector.ConfiguredInput{{Name: "docker", Input: in, Interval: time.Second}},
	})
	start(t, c)
	errorsCounted := func(n float64) func() bool {
		return func() bool {
			return counter(t, reg, "swell_collector_gather_errors_total", map[string]string{"input": "docker"}) == n
		}
	}
	waitFor(t, "first failure", errorsCounted(1))
	for i := 2; i <= 4; i++ {
		clk.Advance(time.Second)
		waitFor(t, "next failure", errorsCounted(float64(i)))
	}
	if n := strings.Count(logs.String(), "input error"); n != 1 {
		t.Errorf("4 identical failures logged %d times at info or above, want 1:\n%s", n, logs.String())
	}
	failing.Store(false)
	clk.Advance(time.Second)
	waitFor(t, "recovery logged", func() bool { return strings.Count(logs.String(), "input recovered") == 1 })
	failing.Store(true)
	clk.Advance(time.Second)
	waitFor(t, "failure after recovery", errorsCounted(5))
	waitFor(t, "a failure after recovery to be logged again", func() bool { return strings.Count(logs.String(), "input error") == 2 })
}
