package natsout

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/collector/spool"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/clock"
)

const (
	// DefaultMaxInFlight is how many messages may wait for their acks.
	DefaultMaxInFlight = 32
	// DefaultAckTimeout is how long a message may wait for its ack before
	// it counts as failed and goes to the spool.
	DefaultAckTimeout = 5 * time.Second

	// slotWait bounds how long Write waits for a free in-flight slot; after
	// that the batch goes to the spool rather than holding up the collector.
	slotWait = 100 * time.Millisecond
	// syncInterval is how often the spool is fsynced: the window of loss on
	// power failure.
	syncInterval = time.Second
	// connPoll is how often Run looks whether NATS is back while the spool
	// holds batches.
	connPoll = 200 * time.Millisecond
	// Failed replays back off from retryMin to retryMax.
	retryMin = 250 * time.Millisecond
	retryMax = 5 * time.Second
	// replayWindowBytes bounds the memory one replay window reads.
	replayWindowBytes = 16 << 20
	// headerRoom is what a message needs besides its payload (Nats-Msg-Id
	// header and framing), kept free when splitting to the server's limit.
	headerRoom = 1024
)

// ErrClosed is returned by Write once Run has returned or Close was called.
var ErrClosed = errors.New("natsout: output closed")

// Options configures an Output.
type Options struct {
	// Conn is the NATS connection, owned by the caller. It should reconnect
	// forever and not buffer while disconnected (bus.ConnOptions.Connect
	// does both).
	Conn *nats.Conn
	// Node names this node: the subject is bus.MetricsSubject(Node).
	Node string
	// BootID tells this process's messages from an earlier run's (default:
	// 8 random bytes in hex, new per process).
	BootID string
	// SpoolDir holds the spool (required).
	SpoolDir string
	// SpoolMaxBytes caps the spool (default spool.DefaultMaxBytes, 256 MiB).
	SpoolMaxBytes int64
	// MaxInFlight is how many messages may await their JetStream acks
	// (default 32).
	MaxInFlight int
	// AckTimeout is how long a message may wait for its ack (default 5s).
	AckTimeout time.Duration
	// Logger hears about outages, replays and drops (nil: discard).
	Logger *slog.Logger
	// Registerer receives the swell_output_* metrics (nil: none).
	Registerer prometheus.Registerer
	// Clock drives the write wait, retries and fsyncs (nil: clock.Real).
	Clock clock.Clock
}

type state int

const (
	idle     state = iota // before Run: batches go to the spool
	running               // Run is publishing
	draining              // Run's context ended: waiting for acks, spooling everything new
	closed                // spool closed
)

// Output publishes batches to JetStream and spools what it cannot deliver.
type Output struct {
	conn        *nats.Conn
	js          jetstream.JetStream
	node        string
	bootID      string
	subject     string
	maxInFlight int
	ackTimeout  time.Duration
	logger      *slog.Logger
	clk         clock.Clock
	spool       *spool.Spool

	seq   atomic.Uint64
	slots chan struct{} // one token per message awaiting its ack
	kick  chan struct{} // something was spooled
	// flights counts live publishes from Write until their ack or spooling.
	flights sync.WaitGroup

	mu       sync.Mutex
	state    state
	pending  map[string]*flight // live publishes awaiting acks, by msg id
	spooling bool               // Write is sending to the spool; for logging the transitions

	pointsPublished  atomic.Int64
	pointsSpooled    atomic.Int64
	pointsDropped    atomic.Int64 // besides what the spool drops
	batchesPublished atomic.Int64
	batchesDuplicate atomic.Int64
	publishErrors    atomic.Int64
}

type flight struct {
	rec spool.Record
	fut jetstream.PubAckFuture
}

var (
	_ collector.Output      = (*Output)(nil)
	_ collector.StatsSource = (*Output)(nil)
)

// New checks the options and opens the spool; it does not talk to NATS.
// Batches written before Run starts go to the spool.
func New(o Options) (*Output, error) {
	switch {
	case o.Conn == nil:
		return nil, errors.New("natsout: no NATS connection (Options.Conn)")
	case o.Node == "":
		return nil, errors.New("natsout: no node name (Options.Node)")
	case o.SpoolDir == "":
		return nil, errors.New("natsout: no spool directory (Options.SpoolDir)")
	case o.MaxInFlight < 0:
		return nil, fmt.Errorf("natsout: MaxInFlight %d is negative", o.MaxInFlight)
	case o.AckTimeout < 0:
		return nil, fmt.Errorf("natsout: AckTimeout %s is negative", o.AckTimeout)
	case o.SpoolMaxBytes < 0:
		return nil, fmt.Errorf("natsout: SpoolMaxBytes %d is negative", o.SpoolMaxBytes)
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.AckTimeout == 0 {
		o.AckTimeout = DefaultAckTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.BootID == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("natsout: make boot id: %w", err)
		}
		o.BootID = hex.EncodeToString(b[:])
	}
	logger := o.Logger // the caller names the component
	// The library's own window matches ours, so PublishMsgAsync never
	// stalls on it; its timeout fails a message whose ack does not come.
	js, err := jetstream.New(o.Conn,
		jetstream.WithPublishAsyncMaxPending(o.MaxInFlight),
		jetstream.WithPublishAsyncTimeout(o.AckTimeout))
	if err != nil {
		return nil, fmt.Errorf("natsout: jetstream: %w", err)
	}
	sp, err := spool.Open(o.SpoolDir, o.SpoolMaxBytes, logger)
	if err != nil {
		return nil, fmt.Errorf("natsout: %w", err)
	}
	out := &Output{
		conn:        o.Conn,
		js:          js,
		node:        o.Node,
		bootID:      o.BootID,
		subject:     bus.MetricsSubject(o.Node),
		maxInFlight: o.MaxInFlight,
		ackTimeout:  o.AckTimeout,
		logger:      logger,
		clk:         o.Clock,
		spool:       sp,
		slots:       make(chan struct{}, o.MaxInFlight),
		kick:        make(chan struct{}, 1),
		pending:     make(map[string]*flight),
	}
	if err := out.register(o.Registerer); err != nil {
		_ = sp.Close()
		return nil, err
	}
	return out, nil
}

// BootID is the boot id in this process's message ids.
func (o *Output) BootID() string { return o.bootID }

// Subject is the subject batches are published on.
func (o *Output) Subject() string { return o.subject }

func (o *Output) nextID() string {
	return o.node + ":" + o.bootID + ":" + strconv.FormatUint(o.seq.Add(1), 10)
}

// Write publishes b, or spools it when NATS cannot take it now. It waits at
// most about 100 ms for room in the in-flight window. A nil error means the
// batch is acked by JetStream, on its way, or in the spool; a batch larger
// than the whole spool is refused with an error.
func (o *Output) Write(ctx context.Context, b collector.Batch) error {
	if len(b.Data) == 0 {
		return nil
	}
	limit := o.payloadLimit()
	if limit <= 0 || len(b.Data) <= limit {
		return o.write(ctx, b.Data, b.Points)
	}
	chunks, dropped := splitLines(b.Data, limit)
	if dropped > 0 {
		o.pointsDropped.Add(int64(dropped))
		o.logger.Error("dropped lines longer than the NATS server's max payload",
			"lines", dropped, "max_payload", o.conn.MaxPayload())
	}
	var errs []error
	for _, c := range chunks {
		errs = append(errs, o.write(ctx, c.data, c.points))
	}
	return errors.Join(errs...)
}

func (o *Output) write(ctx context.Context, data []byte, points int) error {
	rec := spool.Record{ID: o.nextID(), Data: data, Points: points}
	o.mu.Lock()
	if o.state == closed {
		o.mu.Unlock()
		return ErrClosed
	}
	if o.state != running || o.spool.Len() > 0 || !o.conn.IsConnected() {
		err := o.spoolLocked(rec)
		o.mu.Unlock()
		return err
	}
	o.flights.Add(1)
	o.mu.Unlock()

	// The caller may reuse its buffer; a failed publish needs ours.
	rec.Data = bytes.Clone(data)
	if !o.acquire(ctx) {
		defer o.flights.Done()
		return o.spoolRec(rec)
	}
	fut, err := o.publish(rec.ID, rec.Data)
	if err != nil {
		o.release()
		o.publishErrors.Add(1)
		defer o.flights.Done()
		if permanent(err) {
			o.drop(rec.ID, rec.Points, err)
			return nil
		}
		return o.spoolRec(rec)
	}
	f := &flight{rec: rec, fut: fut}
	o.mu.Lock()
	o.pending[rec.ID] = f
	o.mu.Unlock()
	go o.await(f)
	return nil
}

// await settles one live publish.
func (o *Output) await(f *flight) {
	defer o.flights.Done()
	var (
		ack *jetstream.PubAck
		err error
	)
	select {
	case ack = <-f.fut.Ok():
	case err = <-f.fut.Err():
	}
	o.release()
	o.mu.Lock()
	_, mine := o.pending[f.rec.ID]
	delete(o.pending, f.rec.ID)
	o.mu.Unlock()
	if err == nil {
		o.countAck(ack, f.rec.Points)
		return
	}
	o.publishErrors.Add(1)
	if !mine {
		return // shutdown already spooled it
	}
	if permanent(err) {
		o.drop(f.rec.ID, f.rec.Points, err)
		return
	}
	o.logger.Debug("publish failed, spooling", "msg_id", f.rec.ID, "err", err)
	if err := o.spoolRec(f.rec); err != nil {
		o.logger.Error("spool a batch whose publish failed", "msg_id", f.rec.ID, "points", f.rec.Points, "err", err)
	}
}

func (o *Output) spoolRec(rec spool.Record) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.spoolLocked(rec)
}

// spoolLocked appends to the spool; o.mu is held so no Write slips a batch
// past one being spooled.
func (o *Output) spoolLocked(rec spool.Record) error {
	if err := o.spool.Append(rec); err != nil {
		if errors.Is(err, spool.ErrTooLarge) {
			return fmt.Errorf("natsout: batch %s (%d points) dropped: %w", rec.ID, rec.Points, err)
		}
		return fmt.Errorf("natsout: spool batch %s (%d points): %w", rec.ID, rec.Points, err)
	}
	o.pointsSpooled.Add(int64(rec.Points))
	if !o.spooling && o.state == running {
		o.spooling = true
		o.logger.Warn("NATS cannot take batches now, spooling them to disk", "spool_bytes", o.spool.Bytes())
	}
	select {
	case o.kick <- struct{}{}:
	default:
	}
	return nil
}

func (o *Output) acquire(ctx context.Context) bool {
	select {
	case o.slots <- struct{}{}:
		return true
	default:
	}
	t := o.clk.NewTimer(slotWait)
	defer t.Stop()
	select {
	case o.slots <- struct{}{}:
		return true
	case <-t.C():
		return false
	case <-ctx.Done():
		return false
	}
}

func (o *Output) release() { <-o.slots }

func (o *Output) publish(id string, data []byte) (jetstream.PubAckFuture, error) {
	msg := &nats.Msg{Subject: o.subject, Data: data, Header: nats.Header{}}
	fut, err := o.js.PublishMsgAsync(msg, jetstream.WithMsgID(id), jetstream.WithStallWait(slotWait))
	if err != nil {
		return nil, fmt.Errorf("natsout: publish %s to %s: %w", id, o.subject, err)
	}
	return fut, nil
}

func (o *Output) countAck(ack *jetstream.PubAck, points int) {
	if ack.Duplicate {
		o.batchesDuplicate.Add(1)
		return
	}
	o.pointsPublished.Add(int64(points))
	o.batchesPublished.Add(1)
}

func (o *Output) drop(id string, points int, err error) {
	o.pointsDropped.Add(int64(points))
	o.logger.Error("NATS refused a batch for good, dropped it", "msg_id", id, "points", points, "err", err)
}

// permanent tells errors that no retry can fix from outages.
func permanent(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum {
		return true
	}
	return errors.Is(err, nats.ErrMaxPayload)
}

// payloadLimit is the largest payload to put in one message, 0 while the
// server's limit is unknown (never connected yet).
func (o *Output) payloadLimit() int {
	mp := int(o.conn.MaxPayload())
	if mp <= 0 {
		return 0
	}
	if mp <= 2*headerRoom {
		return mp / 2
	}
	return mp - headerRoom
}

// Run replays the spool whenever NATS is reachable and fsyncs it every
// second, until ctx ends. Then it waits up to AckTimeout for outstanding
// acks, spools whatever is still unacknowledged, and closes the spool.
func (o *Output) Run(ctx context.Context) error {
	o.mu.Lock()
	if o.state != idle {
		o.mu.Unlock()
		return errors.New("natsout: Run called twice or after Close")
	}
	o.state = running
	// A spool left by an earlier run is announced below; say when it is done.
	o.spooling = o.spool.Len() > 0
	o.mu.Unlock()
	o.logger.Info("publishing metric batches", "subject", o.subject, "boot_id", o.bootID,
		"max_in_flight", o.maxInFlight, "spooled_batches", o.spool.Len())

	syncT := o.clk.NewTicker(syncInterval)
	defer syncT.Stop()
	backoff := retryMin
	failing := false
	for ctx.Err() == nil {
		// next < 0: nothing to do until something is spooled.
		next := time.Duration(-1)
		if o.spool.Len() > 0 {
			if !o.conn.IsConnected() {
				next = connPoll
			} else if err := o.replayWindow(ctx); err == nil {
				backoff, failing, next = retryMin, false, 0
				o.noteDrained()
			} else if ctx.Err() == nil {
				if !failing {
					o.logger.Warn("replaying the spool failed, retrying with backoff",
						"spooled_batches", o.spool.Len(), "err", err)
				}
				failing = true
				next = backoff
				backoff = min(2*backoff, retryMax)
			}
		}
		if next == 0 {
			continue
		}
		o.wait(ctx, next, syncT)
	}

	o.mu.Lock()
	o.state = draining
	o.mu.Unlock()
	o.drain()
	o.mu.Lock()
	o.state = closed
	err := o.spool.Close()
	o.mu.Unlock()
	if n := o.spool.Len(); n > 0 {
		o.logger.Info("stopped with batches in the spool; the next start replays them", "spooled_batches", n, "spool_bytes", o.spool.Bytes())
	}
	if err != nil {
		return fmt.Errorf("natsout: %w", err)
	}
	return nil
}

// wait sleeps until next passes (next < 0: until something is spooled) or
// ctx ends, fsyncing the spool on the way.
func (o *Output) wait(ctx context.Context, next time.Duration, syncT clock.Ticker) {
	var timerC <-chan time.Time
	if next > 0 {
		t := o.clk.NewTimer(next)
		defer t.Stop()
		timerC = t.C()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-timerC:
			return
		case <-o.kick:
			// During a backoff new batches must not cut it short.
			if next < 0 {
				return
			}
		case <-syncT.C():
			if err := o.spool.Sync(); err != nil {
				o.logger.Error("fsync spool", "err", err)
			}
		}
	}
}

func (o *Output) noteDrained() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.spooling && o.spool.Len() == 0 {
		o.spooling = false
		o.logger.Info("spool replayed, publishing directly again")
	}
}

// drain waits for outstanding live publishes, bounded by AckTimeout, then
// spools the ones still unacknowledged so the next start replays them.
func (o *Output) drain() {
	done := make(chan struct{})
	go func() {
		o.flights.Wait()
		close(done)
	}()
	t := o.clk.NewTimer(o.ackTimeout + time.Second)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C():
	}
	o.mu.Lock()
	n := len(o.pending)
	for id, f := range o.pending {
		delete(o.pending, id)
		if err := o.spoolLocked(f.rec); err != nil {
			o.logger.Error("spool an unacknowledged batch at shutdown", "msg_id", id, "err", err)
		}
	}
	o.mu.Unlock()
	o.logger.Warn("acks did not come before shutdown; spooled the batches for the next start", "batches", n)
	t2 := o.clk.NewTimer(o.ackTimeout)
	defer t2.Stop()
	select {
	case <-done:
	case <-t2.C():
		o.logger.Error("gave up waiting for publishes still in progress at shutdown")
	}
}

// replayWindow publishes the oldest spooled batches, at most MaxInFlight at
// a time, and removes those acknowledged from the front of the spool. It
// returns nil when the whole window went through.
func (o *Output) replayWindow(ctx context.Context) error {
	recs, err := o.spool.Peek(o.maxInFlight, replayWindowBytes)
	if err != nil {
		return fmt.Errorf("natsout: read the spool: %w", err)
	}
	if len(recs) == 0 {
		return nil
	}
	type part struct {
		rec    int
		points int
		fut    jetstream.PubAckFuture
	}
	var (
		parts   []part
		dropped = make([]int, len(recs)) // points per record that can never be sent
		failed  = len(recs)              // first record not fully delivered
		lastErr error
	)
	limit := o.payloadLimit()
publish:
	for i, r := range recs {
		chunks := []chunk{{data: r.Data, points: r.Points}}
		if limit > 0 && len(r.Data) > limit {
			// Spooled before the server's limit was known, or for a
			// server with a larger one. The part ids are derived from the
			// record's, the same on every attempt, so retries deduplicate.
			chunks, dropped[i] = splitLines(r.Data, limit)
		}
		for j, c := range chunks {
			id := r.ID
			if len(chunks) > 1 {
				id += "." + strconv.Itoa(j)
			}
			select {
			case o.slots <- struct{}{}:
			case <-ctx.Done():
				failed, lastErr = i, ctx.Err()
				break publish
			}
			fut, err := o.publish(id, c.data)
			if err != nil {
				o.release()
				o.publishErrors.Add(1)
				if permanent(err) {
					dropped[i] += c.points
					continue
				}
				failed, lastErr = i, err
				break publish
			}
			parts = append(parts, part{rec: i, points: c.points, fut: fut})
		}
	}
	for _, p := range parts {
		select {
		case ack := <-p.fut.Ok():
			o.countAck(ack, p.points)
		case err := <-p.fut.Err():
			o.publishErrors.Add(1)
			if permanent(err) {
				dropped[p.rec] += p.points
			} else {
				failed, lastErr = min(failed, p.rec), err
			}
		}
		o.release()
	}
	if failed > 0 {
		for i := range failed {
			if dropped[i] > 0 {
				o.drop(recs[i].ID, dropped[i], errors.New("lines or parts larger than the server accepts"))
			}
		}
		if err := o.spool.PopThrough(recs[failed-1].Seq); err != nil {
			return fmt.Errorf("natsout: remove replayed batches from the spool: %w", err)
		}
	}
	if failed < len(recs) {
		return fmt.Errorf("natsout: replay %s: %d of %d batches delivered: %w", recs[failed].ID, failed, len(recs), lastErr)
	}
	return nil
}

// Close releases the spool of an Output whose Run was never called; after
// Run has started, ending Run's context is what closes it.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch o.state {
	case closed:
		return nil
	case idle:
		o.state = closed
		return o.spool.Close()
	default:
		return errors.New("natsout: Close while Run is running; cancel Run's context instead")
	}
}
