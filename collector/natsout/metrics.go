package natsout

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// register exposes the counters. They read the same numbers PipelineStats
// returns, so the two never disagree.
func (o *Output) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	counter := func(name, help string, v func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v()) })
	}
	gauge := func(name, help string, v func() int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return float64(v()) })
	}
	collectors := []prometheus.Collector{
		counter("swell_output_points_published_total",
			"Points in batches JetStream acknowledged as newly stored.", o.pointsPublished.Load),
		counter("swell_output_points_spooled_total",
			"Points written to the on-disk spool because NATS could not take them.", o.pointsSpooled.Load),
		counter("swell_output_points_dropped_total",
			"Points lost: pushed out of the full spool, torn by a crash, or refused by NATS for good.", o.droppedPoints),
		counter("swell_output_batches_published_total",
			"Messages JetStream acknowledged as newly stored.", o.batchesPublished.Load),
		counter("swell_output_batches_duplicate_total",
			"Replayed messages JetStream had already stored (ack lost the first time).", o.batchesDuplicate.Load),
		counter("swell_output_publish_errors_total",
			"Publishes that failed or got no ack in time.", o.publishErrors.Load),
		gauge("swell_output_spool_bytes",
			"Size of the spool's files on disk.", o.spool.Bytes),
		gauge("swell_output_spool_batches",
			"Batches waiting in the spool.", func() int64 { return int64(o.spool.Len()) }),
		gauge("swell_output_inflight_batches",
			"Messages waiting for their JetStream ack.", func() int64 { return int64(len(o.slots)) }),
	}
	for i, c := range collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range collectors[:i] {
				reg.Unregister(done)
			}
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return fmt.Errorf("natsout: metrics already registered (one Output per registry): %w", err)
			}
			return fmt.Errorf("natsout: register metrics: %w", err)
		}
	}
	return nil
}

func (o *Output) droppedPoints() int64 {
	_, spooled := o.spool.Dropped()
	return spooled + o.pointsDropped.Load()
}

// PipelineStats returns the output's cumulative counts for the collector's
// swell_pipeline point.
func (o *Output) PipelineStats() map[string]any {
	return map[string]any{
		"points_published": o.pointsPublished.Load(),
		"points_spooled":   o.pointsSpooled.Load(),
		"points_dropped":   o.droppedPoints(),
		"spool_bytes":      o.spool.Bytes(),
		"spool_batches":    int64(o.spool.Len()),
		"publish_errors":   o.publishErrors.Load(),
	}
}
