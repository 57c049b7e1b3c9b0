package collector

import (
	"context"
	"maps"
	"time"

	"github.com/swell-pipeline/swell/internal/clock"
)

// batcher packs gathered lines into batches of at most max bytes and hands
// them to the output, one at a time, from a single goroutine. A batch goes
// out when the next line would not fit, or FlushInterval after its first
// line arrived, whichever comes first.
type batcher struct {
	c   *Collector
	max int

	buf    []byte
	points int
	// flush is armed while buf holds lines.
	flush clock.Timer
	armed bool
}

func (b *batcher) run(ctx context.Context, in <-chan gatherResult) {
	c := b.c
	b.flush = c.clock.NewTimer(c.opts.FlushInterval)
	b.flush.Stop()
	defer b.flush.Stop()
	stats := c.clock.NewTicker(c.opts.Interval)
	defer stats.Stop()
	for {
		select {
		case res, ok := <-in:
			if !ok {
				// Shutdown: record the final counts, then ship everything.
				b.addPipelinePoint(ctx)
				b.write(ctx)
				return
			}
			b.add(ctx, res.data, res.ends)
		case <-b.flush.C():
			b.armed = false
			b.write(ctx)
		case <-stats.C():
			b.addPipelinePoint(ctx)
		}
	}
}

// add appends lines, writing a batch whenever the next line would overflow
// it.
func (b *batcher) add(ctx context.Context, data []byte, ends []int) {
	start := 0
	for _, end := range ends {
		line := data[start:end]
		start = end
		if len(line) > b.max {
			b.c.totals.pointsDropped.Add(1)
			b.c.m.pointsDropped.WithLabelValues(reasonOversize).Inc()
			b.c.log.Warn("collector: dropped a point larger than the batch limit",
				"bytes", len(line), "max_batch_bytes", b.max, "line_start", string(line[:min(len(line), 80)]))
			continue
		}
		if len(b.buf)+len(line) > b.max {
			b.write(ctx)
		}
		if b.buf == nil {
			// A fresh buffer per batch: the output may keep Data after
			// Write returns (spooling it, say), so it is never reused.
			b.buf = make([]byte, 0, min(b.max, 64<<10))
		}
		b.buf = append(b.buf, line...)
		b.points++
		if !b.armed {
			b.flush.Reset(b.c.opts.FlushInterval)
			b.armed = true
		}
	}
}

// write hands the current batch, if any, to the output.
func (b *batcher) write(ctx context.Context) {
	if b.armed {
		b.flush.Stop()
		b.armed = false
	}
	if b.points == 0 {
		return
	}
	c := b.c
	batch := Batch{Data: b.buf, Points: b.points}
	b.buf, b.points = nil, 0

	start := c.clock.Now()
	err := c.opts.Output.Write(ctx, batch)
	c.m.writeSeconds.Observe(c.clock.Now().Sub(start).Seconds())
	if err != nil {
		c.totals.writeErrors.Add(1)
		c.totals.pointsDropped.Add(int64(batch.Points))
		c.m.writeErrors.Inc()
		c.m.pointsDropped.WithLabelValues(reasonWriteError).Add(float64(batch.Points))
		c.log.Error("collector: output rejected a batch; its points are lost",
			"points", batch.Points, "bytes", len(batch.Data), "err", err)
		return
	}
	c.totals.batches.Add(1)
	c.totals.batchBytes.Add(int64(len(batch.Data)))
	c.m.batches.Inc()
	c.m.batchBytes.Add(float64(len(batch.Data)))
}

// addPipelinePoint adds the swell_pipeline point with the collector's
// cumulative counts and, when the output keeps its own, the output's.
func (b *batcher) addPipelinePoint(ctx context.Context) {
	c := b.c
	fields := c.totals.fields()
	if s, ok := c.opts.Output.(StatsSource); ok {
		maps.Copy(fields, s.PipelineStats())
	}
	acc := newAccumulator(PipelineMeasurement, c.clock.Now(), precisionFor(c.opts.Precision, c.opts.Interval), c.global)
	acc.AddFields(PipelineMeasurement, fields, map[string]string{"component": "collector"}, time.Time{})
	res := acc.finish(nil)
	for _, err := range res.errs {
		c.log.Warn("collector: pipeline point", "err", err)
	}
	b.add(ctx, res.data, res.ends)
}
