package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/swell-pipeline/swell/internal/clock"
)

// primeWait is how long GatherOnce waits between priming and gathering:
// long enough for CPU counters to move, short enough for a shell command.
const primeWait = 500 * time.Millisecond

// GatherOnce gathers every input once, concurrently, each with its interval
// (default 10s) as timeout, and writes the points to w as line protocol
// sorted line by line, so that runs are easy to compare. Inputs that
// implement Primer are primed first. globalTags are added to every point
// that lacks them; unlike the Collector, GatherOnce adds no host or node
// tag by itself.
//
// An input that fails does not stop the others: its error, naming the
// input, is joined into the returned error and everything gathered is still
// written.
func GatherOnce(ctx context.Context, inputs []ConfiguredInput, globalTags map[string]string, w io.Writer) error {
	if len(inputs) == 0 {
		return errors.New("collector: no inputs to gather")
	}
	for k, v := range globalTags {
		if err := validateTag(k, v); err != nil {
			return fmt.Errorf("collector: global tag: %w", err)
		}
	}
	global := sortedTags(globalTags)
	inputs = slices.Clone(inputs)
	for i := range inputs {
		if inputs[i].Interval <= 0 {
			inputs[i].Interval = DefaultInterval
		}
	}

	var errs []error
	if primeErrs := prime(ctx, inputs); primeErrs != nil {
		errs = append(errs, primeErrs...)
	}

	results := make([]gatherResult, len(inputs))
	var wg sync.WaitGroup
	for i, in := range inputs {
		wg.Go(func() {
			acc := newAccumulator(in.Name, time.Now(), precisionFor(0, in.Interval), global)
			results[i], _ = runGather(ctx, in, acc, clock.Real{})
		})
	}
	wg.Wait()

	var lines [][]byte
	for _, res := range results {
		start := 0
		for _, end := range res.ends {
			lines = append(lines, res.data[start:end])
			start = end
		}
		for _, err := range res.errs {
			errs = append(errs, fmt.Errorf("input %s: %w", res.input, err))
		}
		if extra := res.errCount - len(res.errs); extra > 0 {
			errs = append(errs, fmt.Errorf("input %s: %d more errors", res.input, extra))
		}
	}
	slices.SortFunc(lines, bytes.Compare)
	for _, line := range lines {
		if _, err := w.Write(line); err != nil {
			return errors.Join(append(errs, fmt.Errorf("collector: write gathered points: %w", err))...)
		}
	}
	return errors.Join(errs...)
}

// prime primes the inputs that need it, then waits primeWait so their
// counters move. It returns the errors, naming each input.
func prime(ctx context.Context, inputs []ConfiguredInput) []error {
	var (
		mu     sync.Mutex
		errs   []error
		primed bool
		wg     sync.WaitGroup
	)
	for _, in := range inputs {
		p, ok := in.Input.(Primer)
		if !ok {
			continue
		}
		primed = true
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, in.Interval)
			defer cancel()
			if err := p.Prime(pctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("input %s: prime: %w", in.Name, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if primed {
		t := time.NewTimer(primeWait)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	return errs
}
