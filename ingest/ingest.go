package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/clock"
)

const (
	// ackWait is how long NATS waits for an ack before redelivering. It
	// covers a slow write, a bisect of a bad batch and the write timeout.
	ackWait = 60 * time.Second
	// maxAckPending bounds messages delivered and not yet acked across all
	// ingest workers and processes.
	maxAckPending = 2048
	// fetchWait is how long one fetch waits for a full batch.
	fetchWait = time.Second
	// linger is how long a worker holding messages waits for more of the
	// same fetch before writing what it has.
	linger = 10 * time.Millisecond
	// maxNakDelay caps the redelivery delay of a message that failed.
	maxNakDelay = 30 * time.Second
	// maxProbeWait caps the pause between availability probes, so ingest
	// resumes within seconds of InfluxDB or NATS coming back.
	maxProbeWait = 5 * time.Second
)

// Ingest consumes SWELL_METRICS and writes it to InfluxDB.
type Ingest struct {
	opts    Options
	log     *slog.Logger
	influx  *influx
	metrics *metrics
	totals  totals
	health  health
	running atomic.Bool
	lag     atomic.Int64

	mu   sync.Mutex
	js   jetstream.JetStream
	cons jetstream.Consumer
}

// New validates the options and registers the self-metrics. It connects to
// nothing; Run does.
func New(o Options) (*Ingest, error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	in := &Ingest{
		opts:    o,
		log:     o.Logger,
		influx:  newInflux(o.Influx),
		metrics: m,
	}
	in.health = health{log: o.Logger, clock: o.Clock, influxURL: o.Influx.URL}
	return in, nil
}

// Run creates the streams and the durable consumer if needed, then fetches
// and writes until ctx ends. NATS or InfluxDB being away is waited out, not
// returned. It returns nil when ctx ends and an error only if it is already
// running or the options cannot give a JetStream handle.
func (in *Ingest) Run(ctx context.Context) error {
	if !in.running.CompareAndSwap(false, true) {
		return errors.New("ingest: Run called while already running")
	}
	defer in.running.Store(false)
	js := in.opts.JS
	if js == nil {
		var err error
		if js, err = jetstream.New(in.opts.Conn); err != nil {
			return fmt.Errorf("ingest: jetstream: %w", err)
		}
	}
	in.mu.Lock()
	in.js = js
	in.mu.Unlock()
	if !in.setupUntilDone(ctx) {
		return nil
	}
	in.log.Info("ingest started", "consumer", bus.ConsumerIngest, "stream", bus.StreamMetrics,
		"influx", in.opts.Influx.URL, "bucket", in.opts.Influx.Bucket, "workers", in.opts.Workers,
		"fetch_batch", in.opts.FetchBatch, "max_points_per_write", in.opts.MaxPointsPerWrite)

	var wg sync.WaitGroup
	for range in.opts.Workers {
		wg.Go(func() { (&worker{in: in}).run(ctx) })
	}
	wg.Go(func() { in.report(ctx) })
	wg.Wait()
	s := in.totals.stats()
	in.log.Info("ingest stopped", "points_written", s.PointsWritten, "messages_acked", s.MessagesAcked,
		"deadletter_lines", s.DeadLetterLines, "write_errors", s.WriteErrors)
	return nil
}

// Check asks InfluxDB whether it answers (GET /ping); /healthz uses it.
func (in *Ingest) Check(ctx context.Context) error { return in.influx.ping(ctx) }

// Healthy reports whether ingest runs, its last fetch from NATS worked and
// its last write to InfluxDB was accepted.
func (in *Ingest) Healthy() error {
	if !in.running.Load() {
		return errors.New("ingest: not running")
	}
	return in.health.err()
}

// Stats returns the cumulative counts.
func (in *Ingest) Stats() Stats { return in.totals.stats() }

// Lag is the consumer's messages not yet written, as last read.
func (in *Ingest) Lag() int64 { return in.lag.Load() }

// Node is the node tag of the worker's swell_pipeline points.
func (in *Ingest) Node() string { return in.opts.Node }

// setupUntilDone retries setup until it works or ctx ends; a NATS server
// that starts after swell is normal, not fatal.
func (in *Ingest) setupUntilDone(ctx context.Context) bool {
	for attempt := 1; ; attempt++ {
		err := in.setup(ctx)
		if err == nil {
			in.health.fetchOK()
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		in.health.fetchFailed(fmt.Errorf("ingest: set up stream and consumer: %w", err))
		if !sleep(ctx, in.opts.Clock, probeWait(attempt)) {
			return false
		}
	}
}

// setup makes sure the streams and the durable consumer exist.
func (in *Ingest) setup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	in.mu.Lock()
	js := in.js
	in.mu.Unlock()
	if err := bus.EnsureStreams(ctx, js, in.opts.Limits); err != nil {
		return err
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, bus.StreamMetrics, jetstream.ConsumerConfig{
		Durable:       bus.ConsumerIngest,
		Description:   "swell ingest: writes metric batches to InfluxDB, acks after they are stored",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxDeliver:    -1,
		MaxAckPending: maxAckPending,
		FilterSubject: bus.SubjectMetricsAll,
	})
	if err != nil {
		return fmt.Errorf("nats: create or update consumer %s on %s: %w", bus.ConsumerIngest, bus.StreamMetrics, err)
	}
	in.mu.Lock()
	in.cons = cons
	in.mu.Unlock()
	return nil
}

func (in *Ingest) consumer() jetstream.Consumer {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.cons
}

// report refreshes the lag gauge and writes the swell_pipeline point every
// PipelineInterval.
func (in *Ingest) report(ctx context.Context) {
	t := in.opts.Clock.NewTicker(in.opts.PipelineInterval)
	defer t.Stop()
	in.refreshLag(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		in.refreshLag(ctx)
		in.writePipelinePoint(ctx)
	}
}

func (in *Ingest) refreshLag(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := in.consumer().Info(ctx)
	if err != nil {
		in.log.Debug("ingest: consumer info for the lag gauge", "err", err)
		return
	}
	lag := int64(info.NumPending) + int64(info.NumAckPending)
	in.lag.Store(lag)
	in.metrics.lag.Set(float64(lag))
}

// writePipelinePoint writes ingest's own counts. It goes straight to
// InfluxDB: routing it through NATS would make it wait behind the lag it
// reports. While InfluxDB is down it is skipped; the counts are cumulative,
// so the next point carries them.
func (in *Ingest) writePipelinePoint(ctx context.Context) {
	if down, _ := in.health.influxState(); down {
		return
	}
	s := in.totals.stats()
	var enc lineprotocol.Encoder
	enc.StartLine("swell_pipeline")
	enc.AddTag("component", "ingest")
	if in.opts.Node != "" {
		enc.AddTag("node", in.opts.Node)
	}
	enc.AddField("points_written", lineprotocol.IntValue(int64(s.PointsWritten)))
	enc.AddField("messages_acked", lineprotocol.IntValue(int64(s.MessagesAcked)))
	enc.AddField("deadletter_lines", lineprotocol.IntValue(int64(s.DeadLetterLines)))
	enc.AddField("write_errors", lineprotocol.IntValue(int64(s.WriteErrors)))
	enc.AddField("lag_messages", lineprotocol.IntValue(in.lag.Load()))
	enc.EndLine(in.opts.Clock.Now())
	if err := enc.Err(); err != nil {
		in.log.Warn("ingest: encode swell_pipeline point", "err", err)
		return
	}
	if err := in.influx.put(ctx, enc.Bytes()); err != nil {
		in.log.Debug("ingest: write swell_pipeline point", "err", err)
	}
}

// sleep waits d on clk or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, clk clock.Clock, d time.Duration) bool {
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// nakDelay grows with each delivery of the same message: 0.5 s, 1 s, 2 s …
// up to maxNakDelay.
func nakDelay(delivered uint64) time.Duration {
	return backoff(500*time.Millisecond, delivered, maxNakDelay)
}

// probeWait is the pause before the n-th consecutive availability probe.
func probeWait(n int) time.Duration {
	return backoff(250*time.Millisecond, uint64(max(n, 1)), maxProbeWait)
}

func backoff(base time.Duration, n uint64, limit time.Duration) time.Duration {
	d := base
	for i := uint64(1); i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
