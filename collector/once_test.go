package collector_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/collector/collectortest"
)

// primingInput records whether it was primed before its gather.
type primingInput struct {
	primed         atomic.Bool
	primedAtGather atomic.Bool
}

func (p *primingInput) Prime(context.Context) error {
	p.primed.Store(true)
	return nil
}

func (p *primingInput) Gather(_ context.Context, acc collector.Accumulator) error {
	p.primedAtGather.Store(p.primed.Load())
	acc.AddFields("primed", map[string]any{"v": 1}, nil, time.Time{})
	return nil
}

func TestGatherOnceWritesSortedLinesAndReportsFailingInputs(t *testing.T) {
	zeta := &funcInput{fn: func(_ context.Context, acc collector.Accumulator) error {
		acc.AddFields("zeta", map[string]any{"v": 1}, map[string]string{"k": "b"}, time.Time{})
		acc.AddFields("zeta", map[string]any{"v": 2}, map[string]string{"k": "a"}, time.Time{})
		return nil
	}}
	alpha := constInput("alpha")
	broken := &funcInput{fn: func(_ context.Context, acc collector.Accumulator) error {
		acc.AddFields("broken", map[string]any{"partial": 1}, nil, time.Time{})
		acc.AddError(errors.New("one sensor unreadable"))
		return errors.New("permission denied")
	}}
	hung := &funcInput{fn: func(ctx context.Context, _ collector.Accumulator) error {
		<-ctx.Done()
		return ctx.Err()
	}}
	primer := &primingInput{}

	var buf bytes.Buffer
	err := collector.GatherOnce(t.Context(), []collector.ConfiguredInput{
		{Name: "zeta", Input: zeta},
		{Name: "alpha", Input: alpha},
		{Name: "broken", Input: broken},
		{Name: "hung", Input: hung, Interval: 50 * time.Millisecond},
		{Name: "primer", Input: primer},
	}, map[string]string{"host": "h1"}, &buf)

	for _, want := range []string{
		"input broken: one sensor unreadable",
		"input broken: permission denied",
		"input hung: gather timed out after 50ms: context deadline exceeded",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to contain %q", err, want)
		}
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
	}

	ps, derr := collectortest.Decode(buf.Bytes())
	if derr != nil {
		t.Fatalf("decode: %v\n%s", derr, buf.Bytes())
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Measurement+"/"+p.Tags["k"])
		if p.Tags["host"] != "h1" {
			t.Errorf("%s has tags %v, want host=h1", p.Measurement, p.Tags)
		}
		if p.Time.Nanosecond() != 0 {
			t.Errorf("%s timestamp %s not truncated to the second", p.Measurement, p.Time)
		}
	}
	want := []string{"alpha/", "broken/", "primed/", "zeta/a", "zeta/b"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("points in order %v, want %v", got, want)
	}
	if !primer.primedAtGather.Load() {
		t.Error("the Primer input was not primed before its gather")
	}
}

func TestGatherOnceNeedsInputs(t *testing.T) {
	if err := collector.GatherOnce(t.Context(), nil, nil, &bytes.Buffer{}); err == nil {
		t.Fatal("GatherOnce with no inputs returned nil")
	}
}
