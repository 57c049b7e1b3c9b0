package collector

import (
	"context"
	"time"
)

// Input gathers one kind of metric (host CPU, containers, …). Gather is
// called once per interval with a context that ends when the interval's
// deadline passes or the agent stops; an input must honour it.
type Input interface {
	Gather(ctx context.Context, acc Accumulator) error
}

// Accumulator receives what an input gathers. It is safe for concurrent use.
type Accumulator interface {
	// AddFields records one point. Field values may be float64, float32,
	// any signed or unsigned integer, string or bool; other types are
	// reported as an error and the field skipped. A zero t means "now".
	AddFields(measurement string, fields map[string]any, tags map[string]string, t time.Time)
	// AddError reports a problem that did not stop the whole gather (one
	// disk unreadable, one container gone).
	AddError(err error)
}

// Batch is one encoded batch of line protocol, the unit that travels as one
// NATS message.
type Batch struct {
	// Data is line protocol, one point per line, each ending in '\n'.
	Data []byte
	// Points is the number of lines in Data.
	Points int
}

// Output takes encoded batches off the collector. Write must not lose a
// batch it returned nil for; an output that cannot deliver now (NATS down)
// keeps the batch (the NATS output spools it to disk) and returns nil.
type Output interface {
	Write(ctx context.Context, b Batch) error
}

// StatsSource is implemented by outputs that count their own work (points
// published, spooled, dropped). The collector folds these counts into its
// swell_pipeline point each interval.
type StatsSource interface {
	PipelineStats() map[string]any
}
