package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/internal/bus"
)

// inflight is one fetched message on its way to InfluxDB.
type inflight struct {
	msg       jetstream.Msg
	subject   string
	seq       uint64
	delivered uint64
	stamp     time.Time
	parsed
	// rejected holds the lines InfluxDB refused, found by bisecting.
	rejected []deadLetter
}

type deadLetter struct {
	text   []byte
	reason string
	// id makes the dead letter's Nats-Msg-Id, so handling the same message
	// twice does not file the same line twice.
	id string
}

// unit is what a write request is made of: a whole message or one line.
type unit struct {
	f *inflight
	l line
}

// worker is one fetch-parse-write loop. Its buffer is reused for every
// request body.
type worker struct {
	in  *Ingest
	buf []byte
	// flushing are the messages of the write under way and touched when
	// NATS last heard they are still being worked on.
	flushing []*inflight
	touched  time.Time
}

func (w *worker) run(ctx context.Context) {
	in := w.in
	for {
		if !w.waitForInflux(ctx) {
			return
		}
		batch, err := in.consumer().Fetch(in.opts.FetchBatch, jetstream.FetchMaxWait(fetchWait))
		if err == nil {
			w.drain(ctx, batch)
			err = batch.Error()
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if !w.fetchFailed(ctx, err) {
				return
			}
			continue
		}
		in.health.fetchOK()
	}
}

// waitForInflux returns at once while InfluxDB takes writes. During an
// outage it pings with growing pauses and returns once InfluxDB answers, so
// messages are not fetched only to be handed back. It returns false when
// ctx ends.
func (w *worker) waitForInflux(ctx context.Context) bool {
	in := w.in
	for {
		down, fails := in.health.influxState()
		if !down {
			return true
		}
		if !sleep(ctx, in.opts.Clock, probeWait(fails)) {
			return false
		}
		err := in.influx.ping(ctx)
		if err == nil {
			// It answers; the next write decides whether it takes points.
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		in.health.probeFailed(err)
	}
}

// fetchFailed records a failed fetch, re-creates the stream and consumer
// if they are gone, and pauses. It returns false when ctx ends.
func (w *worker) fetchFailed(ctx context.Context, err error) bool {
	in := w.in
	n := in.health.fetchFailed(fmt.Errorf("ingest: fetch from %s/%s: %w", bus.StreamMetrics, bus.ConsumerIngest, err))
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDeleted) ||
		errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrNoStreamResponse) {
		if serr := in.setup(ctx); serr != nil {
			in.log.Debug("ingest: re-create stream and consumer", "err", serr)
		}
	}
	return sleep(ctx, in.opts.Clock, probeWait(n))
}

// drain takes every message of one fetch. It groups them until
// MaxPointsPerWrite points are held or the fetch pauses, then writes. After
// a write failed for lack of InfluxDB, the rest of the fetch is handed back
// untouched.
func (w *worker) drain(ctx context.Context, batch jetstream.MessageBatch) {
	in := w.in
	msgs := batch.Messages()
	var (
		acc    []*inflight
		points int
		failed error
	)
	flush := func() {
		if len(acc) > 0 && failed == nil {
			failed = w.flush(ctx, acc)
		}
		acc, points = acc[:0], 0
	}
	for {
		m, ok, idle := w.next(msgs, len(acc) > 0)
		if idle {
			flush()
			continue
		}
		if !ok {
			break
		}
		if failed == nil && ctx.Err() != nil {
			failed = ctx.Err()
			w.handBack(acc, failed)
			acc, points = acc[:0], 0
		}
		f := in.prepare(m, failed == nil)
		if failed != nil {
			w.handBack([]*inflight{f}, failed)
			continue
		}
		acc = append(acc, f)
		points += f.points
		if points >= in.opts.MaxPointsPerWrite {
			flush()
		}
	}
	if ctx.Err() != nil && failed == nil {
		failed = ctx.Err()
		w.handBack(acc, failed)
		acc = acc[:0]
	}
	flush()
}

// next returns the fetch's next message. Holding messages already, it waits
// at most linger for another and otherwise reports idle, so a trickle is
// written promptly while a burst is written in large requests.
func (w *worker) next(msgs <-chan jetstream.Msg, holding bool) (m jetstream.Msg, ok, idle bool) {
	select {
	case m, ok = <-msgs:
		return m, ok, false
	default:
	}
	if !holding {
		m, ok = <-msgs
		return m, ok, false
	}
	t := w.in.opts.Clock.NewTimer(linger)
	defer t.Stop()
	select {
	case m, ok = <-msgs:
		return m, ok, false
	case <-t.C():
		return nil, true, true
	}
}

// prepare reads a message's metadata and, with parseIt, validates its lines.
func (in *Ingest) prepare(m jetstream.Msg, parseIt bool) *inflight {
	f := &inflight{msg: m, subject: m.Subject()}
	if md, err := m.Metadata(); err == nil {
		f.seq, f.delivered, f.stamp = md.Sequence.Stream, md.NumDelivered, md.Timestamp
	}
	if f.stamp.IsZero() {
		f.stamp = in.opts.Clock.Now()
	}
	if parseIt {
		f.parsed = parse(m.Data(), f.stamp, false)
	}
	return f
}

// flush writes the valid lines of msgs and, once InfluxDB has them, files
// the dead letters and acks. If InfluxDB is unavailable, every message goes
// back to the stream and the error is returned.
func (w *worker) flush(ctx context.Context, msgs []*inflight) error {
	var units []unit
	for _, f := range msgs {
		for _, l := range f.lines {
			units = append(units, unit{f: f, l: l})
		}
	}
	w.flushing, w.touched = msgs, time.Now()
	err := w.write(ctx, units)
	w.flushing = nil
	if err != nil {
		w.handBack(msgs, err)
		return err
	}
	for _, f := range msgs {
		w.finish(ctx, f)
	}
	return nil
}

// write sends units in one request. When InfluxDB refuses part of it, the
// request is split in halves, and a whole message is split into its lines,
// until each refused line stands alone; those become dead letters. Lines
// InfluxDB took in a refused request are simply written again: same series
// and timestamp, same point.
func (w *worker) write(ctx context.Context, units []unit) error {
	if len(units) == 0 {
		return nil
	}
	in := w.in
	w.keepAlive()
	w.buf = w.buf[:0]
	for _, u := range units {
		w.buf = append(w.buf, u.l.data...)
		if n := len(u.l.data); n > 0 && u.l.data[n-1] != '\n' {
			w.buf = append(w.buf, '\n')
		}
	}
	start := time.Now()
	err := in.influx.put(ctx, w.buf)
	in.metrics.writeSeconds.Observe(time.Since(start).Seconds())
	if err == nil {
		in.health.writeOK()
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	in.totals.writeErrors.Add(1)
	we, _ := errors.AsType[*writeError](err)
	if we == nil || we.class == unavailable {
		in.metrics.writeErrors.WithLabelValues("unavailable").Inc()
		in.health.writeUnavailable(err)
		return err
	}
	in.metrics.writeErrors.WithLabelValues("rejected").Inc()
	if len(units) > 1 {
		mid := len(units) / 2
		if err := w.write(ctx, units[:mid]); err != nil {
			return err
		}
		return w.write(ctx, units[mid:])
	}
	u := units[0]
	if u.l.entry == 0 {
		// A whole message: split it into its lines.
		p := parse(u.f.msg.Data(), u.f.stamp, true)
		for _, b := range p.bad {
			// Cannot happen for a message that passed validation, but a
			// line must never vanish without a trace.
			u.f.rejected = append(u.f.rejected, deadLetter{text: b.text, reason: b.reason, id: fmt.Sprintf("L%d", b.lineNo)})
		}
		sub := make([]unit, len(p.lines))
		for i, l := range p.lines {
			sub[i] = unit{f: u.f, l: l}
		}
		return w.write(ctx, sub)
	}
	where := fmt.Sprintf("entry %d", u.l.entry)
	if u.l.lineNo > 0 {
		where = fmt.Sprintf("line %d", u.l.lineNo)
	}
	u.f.rejected = append(u.f.rejected, deadLetter{
		text:   trimNewline(u.l.data),
		reason: fmt.Sprintf("%s: rejected by InfluxDB: %s", where, we),
		id:     fmt.Sprintf("E%d", u.l.entry),
	})
	in.log.Debug("ingest: InfluxDB refused a line", "subject", u.f.subject, "seq", u.f.seq, "where", where, "err", we)
	return nil
}

// keepAlive tells NATS that the messages of a long split (many refused
// lines) are still being worked on, so they are not redelivered to another
// worker meanwhile.
func (w *worker) keepAlive() {
	if time.Since(w.touched) < ackWait/3 {
		return
	}
	for _, f := range w.flushing {
		_ = f.msg.InProgress()
	}
	w.touched = time.Now()
}

// finish files a written message's dead letters and acks it. If a dead
// letter cannot be filed, the message goes back to the stream: its lines
// are written again later (harmless) rather than a bad line vanishing.
func (w *worker) finish(ctx context.Context, f *inflight) {
	in := w.in
	letters := make([]deadLetter, 0, len(f.bad)+len(f.rejected))
	for _, b := range f.bad {
		letters = append(letters, deadLetter{text: b.text, reason: b.reason, id: fmt.Sprintf("L%d", b.lineNo)})
	}
	letters = append(letters, f.rejected...)
	for _, d := range letters {
		if err := in.deadLetter(ctx, f, d); err != nil {
			in.log.Warn("ingest: cannot file a dead letter; the message will be retried", "subject", f.subject, "seq", f.seq, "err", err)
			w.handBack([]*inflight{f}, err)
			return
		}
	}
	if err := f.msg.Ack(); err != nil {
		in.log.Warn("ingest: ack failed; NATS will redeliver and the points are written again", "subject", f.subject, "seq", f.seq, "err", err)
		return
	}
	written := f.points - len(f.rejected)
	in.totals.points.Add(uint64(written))
	in.totals.acked.Add(1)
	in.totals.dead.Add(uint64(len(letters)))
	in.metrics.points.Add(float64(written))
	in.metrics.acked.Inc()
	in.metrics.dead.WithLabelValues(stageParser).Add(float64(len(f.bad)))
	in.metrics.dead.WithLabelValues(stageInflux).Add(float64(len(f.rejected)))
	if len(letters) > 0 {
		in.log.Warn("ingest: lines dead-lettered", "subject", f.subject, "seq", f.seq,
			"lines", len(letters), "first_reason", letters[0].reason, "read_with", "nats stream view "+bus.StreamDeadLetter)
	}
}

// deadLetter publishes one refused line with its reason and origin and
// waits for JetStream to store it.
func (in *Ingest) deadLetter(ctx context.Context, f *inflight, d deadLetter) error {
	msg := &nats.Msg{
		Subject: bus.SubjectDeadLetterMetrics,
		Data:    d.text,
		Header:  nats.Header{},
	}
	msg.Header.Set(bus.HeaderDeadLetterReason, d.reason)
	msg.Header.Set(bus.HeaderDeadLetterSource, f.subject)
	var opts []jetstream.PublishOpt
	if f.seq > 0 {
		opts = append(opts, jetstream.WithMsgID(fmt.Sprintf("%s:%d:%s", bus.StreamMetrics, f.seq, d.id)))
	}
	in.mu.Lock()
	js := in.js
	in.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(ctx, msg, opts...); err != nil {
		return fmt.Errorf("publish to %s: %w", bus.SubjectDeadLetterMetrics, err)
	}
	return nil
}

// handBack returns messages to the stream. On shutdown they are released
// at once for another ingest to take; after a failure each waits longer
// the more often it was delivered.
func (w *worker) handBack(msgs []*inflight, cause error) {
	shutdown := errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded)
	for _, f := range msgs {
		var err error
		if shutdown {
			err = f.msg.Nak()
		} else {
			err = f.msg.NakWithDelay(nakDelay(f.delivered))
		}
		if err != nil {
			// NATS redelivers after AckWait anyway.
			w.in.log.Debug("ingest: nak", "subject", f.subject, "seq", f.seq, "err", err)
		}
	}
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
