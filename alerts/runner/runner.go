package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/alerts"
	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/clock"
	"github.com/swell-pipeline/swell/internal/events"
)

// Consumer is the runner's durable consumer on SWELL_METRICS.
const Consumer = "swell-alerts"

// Defaults of Options.
const (
	DefaultTickInterval  = time.Second
	DefaultShutdownGrace = 5 * time.Second
)

// Options configure a Runner.
type Options struct {
	JS jetstream.JetStream
	// Rules are evaluated as given; use alerts.Builtin for the built-in
	// ones. A rule's Notify list becomes a route in front of Routes.
	Rules   []alerts.Rule
	Routes  []alerts.Route
	Inhibit []alerts.InhibitRule
	// Receivers by name. Routes naming a receiver that is not here are
	// logged at New and skip it.
	Receivers map[string]notify.Notifier
	// SMS names the receivers that send SMS: the escalation targets.
	SMS map[string]bool
	// RateLimits per receiver (receivers.Spec.RateLimit); none by default.
	RateLimits map[string]notify.RateLimit
	Retry      notify.RetryPolicy
	// ExternalURL goes into notifications (a link back to swell).
	ExternalURL string

	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Clock      clock.Clock
	// Events, if set, gets an alert event for each notified state change.
	Events *events.Publisher

	// TickInterval is how often time-driven changes (for, deadman, group
	// timers) are looked at without new points; default 1s.
	TickInterval time.Duration
	// ShutdownGrace is how long Run waits, once ctx ends, for
	// notifications already handed to receivers; default 5s.
	ShutdownGrace time.Duration
	// PointsInterval is how often swell_alert and
	// swell_alert_notification points go into the metrics stream
	// (default DefaultPointsInterval; state changes go at once).
	PointsInterval time.Duration
}

// Runner runs the alert rules on the metric stream. Build it with New,
// run it with Run on the leader.
type Runner struct {
	o       Options
	log     *slog.Logger
	clock   clock.Clock
	evals   []*alerts.Evaluator
	router  *alerts.Router
	metrics *metrics
	nm      *notify.Metrics

	// Owned by Run's goroutine.
	dirtyRules  map[int]bool
	routerDirty bool
	held        []jetstream.Msg
	// fetchFailedAt is when the consumer last reported an error with no
	// message since: the pipeline counts as down for OutageWindow after.
	fetchFailedAt time.Time
	silences      map[string]alerts.Silence
	// sent and failed count notifications per receiver; changes are
	// state-change points waiting to be published.
	sent, failed map[string]int64
	changes      lineprotocol.Encoder
	lastPoints   time.Time

	mu     sync.Mutex
	active []alerts.Active
}

// New validates the options; it does not connect.
func New(o Options) (*Runner, error) {
	if o.JS == nil {
		return nil, errors.New("alerts runner: no JetStream")
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
	if o.TickInterval <= 0 {
		o.TickInterval = DefaultTickInterval
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = DefaultShutdownGrace
	}
	if o.PointsInterval <= 0 {
		o.PointsInterval = DefaultPointsInterval
	}
	log := o.Logger.With("component", "alerts")
	r := &Runner{o: o, log: log, clock: o.Clock, dirtyRules: map[int]bool{}, silences: map[string]alerts.Silence{},
		sent: map[string]int64{}, failed: map[string]int64{}}
	names := map[string]bool{}
	for _, rule := range o.Rules {
		if names[rule.Name] {
			return nil, fmt.Errorf("alerts runner: rule %s given twice", rule.Name)
		}
		names[rule.Name] = true
		ev, err := alerts.NewEvaluator(rule, alerts.EvalOptions{Outage: r.outage})
		if err != nil {
			return nil, fmt.Errorf("alerts runner: %w", err)
		}
		r.evals = append(r.evals, ev)
	}
	for name, n := range o.Receivers {
		if n == nil {
			return nil, fmt.Errorf("alerts runner: receiver %s has no notifier", name)
		}
	}
	for _, ir := range o.Inhibit {
		if err := ir.Validate(); err != nil {
			return nil, fmt.Errorf("alerts runner: inhibit rule: %w", err)
		}
	}
	var routes []alerts.Route
	for _, rt := range append(alerts.RulesRoutes(o.Rules), o.Routes...) {
		var known []string
		for _, name := range rt.Receivers {
			if _, ok := o.Receivers[name]; ok {
				known = append(known, name)
			} else {
				log.Warn("route names a receiver that is not defined; it is skipped", "route", rt.Name, "receiver", name)
			}
		}
		if len(known) == 0 {
			log.Warn("route has no defined receiver; its alerts go to the next matching route", "route", rt.Name)
			continue
		}
		rt.Receivers = known
		routes = append(routes, rt)
	}
	router, err := alerts.NewRouter(alerts.RouterOptions{Routes: routes, SMS: func(n string) bool { return o.SMS[n] }})
	if err != nil {
		return nil, fmt.Errorf("alerts runner: %w", err)
	}
	r.router = router
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	r.metrics = m
	nm, err := notify.NewMetrics(o.Registerer)
	if err != nil {
		return nil, fmt.Errorf("alerts runner: %w", err)
	}
	r.nm = nm
	return r, nil
}

// Active returns the firing alerts of every rule, as of the last
// evaluation, ordered by rule and series.
func (r *Runner) Active() []alerts.Active {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.active)
}

// delivery is a dispatch's outcome, from a receiver worker.
type delivery struct {
	d  alerts.Dispatch
	ok bool
}

// Run consumes the metric stream and sends notifications until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	kv, err := r.bucket(ctx)
	if err != nil {
		return err
	}
	r.restore(ctx, kv, r.clock.Now())
	cons, err := r.o.JS.CreateOrUpdateConsumer(ctx, bus.StreamMetrics, jetstream.ConsumerConfig{
		Durable:       Consumer,
		Description:   "swell alert rules",
		FilterSubject: bus.SubjectMetricsAll,
		// On first start only: rules look at what happens from now on,
		// not at the stream's backlog. Later starts resume where the
		// last checkpoint acknowledged.
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxAckPending: 100_000,
	})
	if err != nil {
		return fmt.Errorf("alerts runner: create or update consumer %s on %s: %w", Consumer, bus.StreamMetrics, err)
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return fmt.Errorf("alerts runner: consume %s/%s: %w", bus.StreamMetrics, Consumer, err)
	}
	var bg sync.WaitGroup
	defer bg.Wait()
	loopCtx, stopLoop := context.WithCancel(ctx)
	defer stopLoop()

	msgs := make(chan jetstream.Msg, 512)
	fetchErrs := make(chan error, 1)
	bg.Go(func() {
		defer close(msgs)
		for {
			m, err := iter.Next()
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			if err != nil {
				select {
				case fetchErrs <- err:
				default:
				}
				continue
			}
			select {
			case msgs <- m:
			case <-loopCtx.Done():
				return
			}
		}
	})
	defer iter.Stop()

	silenceCh := make(chan jetstream.KeyValueEntry, 64)
	watcher, err := kv.Watch(ctx, keySilencePrefix+">")
	if err != nil {
		return fmt.Errorf("alerts runner: watch silences in %s: %w", bus.BucketAlerts, err)
	}
	defer func() { _ = watcher.Stop() }()
	// The silences stored now apply before the first point is looked at.
initial:
	for {
		select {
		case e, ok := <-watcher.Updates():
			if !ok || e == nil {
				break initial // nil marks the end of the stored values
			}
			r.silenceUpdate(e)
		case <-ctx.Done():
			return nil
		}
	}
	bg.Go(func() {
		for e := range watcher.Updates() {
			select {
			case silenceCh <- e:
			case <-loopCtx.Done():
				return
			}
		}
	})

	// Senders outlive ctx by ShutdownGrace, so a notification already on
	// its way is not cut off by a clean stop.
	pipes := map[string]*notify.Pipeline{}
	for _, name := range slices.Sorted(maps.Keys(r.o.Receivers)) {
		p, err := notify.NewPipeline(notify.PipelineOptions{
			Receiver: name, Notifier: r.o.Receivers[name], Retry: r.o.Retry, RateLimit: r.o.RateLimits[name],
			Clock: r.clock, Logger: r.log, Metrics: r.nm,
		})
		if err != nil {
			return fmt.Errorf("alerts runner: %w", err)
		}
		pipes[name] = p
	}
	var senders, pipelines sync.WaitGroup
	defer pipelines.Wait()
	sendCtx, stopSend := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSend()
	results := make(chan delivery, 256)
	queues := map[string]chan alerts.Dispatch{}
	for name, p := range pipes {
		q := make(chan alerts.Dispatch, 1024)
		queues[name] = q
		pipelines.Go(func() { _ = p.Run(sendCtx) })
		senders.Go(func() {
			for d := range q {
				res := p.Notify(sendCtx, d.Notification)
				results <- delivery{d: d, ok: res.Outcome == notify.ResultSent || res.Outcome == notify.ResultFolded}
			}
		})
	}
	evCh := make(chan events.Event, 256)
	if r.o.Events != nil {
		senders.Go(func() {
			for e := range evCh {
				if _, err := r.o.Events.Publish(sendCtx, e); err != nil {
					r.log.Warn("alert event not published", "err", err)
				}
			}
		})
	}

	// Points are gauges and cumulative counts: at shutdown the ones not
	// yet published are dropped rather than held up by a NATS that is
	// going away.
	pointsCh := make(chan []byte, 16)
	pointsCtx, stopPoints := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPoints()
	senders.Go(func() { r.publishPoints(pointsCtx, pointsCh) })
	sendPoints := func(b []byte) {
		if len(b) == 0 {
			return
		}
		select {
		case pointsCh <- b:
		default:
			r.log.Debug("alert points dropped: publisher behind")
		}
	}
	flushPoints := func(now time.Time) {
		if r.changes.Err() == nil && len(r.changes.Bytes()) > 0 {
			sendPoints(slices.Clone(r.changes.Bytes()))
		}
		r.changes.Reset()
		if now.Sub(r.lastPoints) >= r.o.PointsInterval {
			r.lastPoints = now
			sendPoints(r.statusPoints(now))
		}
	}

	r.log.Info("alerts started", "rules", len(r.evals), "receivers", len(r.o.Receivers), "consumer", Consumer)
	ticker := r.clock.NewTicker(r.o.TickInterval)
	defer ticker.Stop()
	dispatch := func(ds []alerts.Dispatch) {
		for _, d := range ds {
			r.routerDirty = true
			select {
			case queues[d.Notification.Receiver] <- d:
			default:
				r.log.Warn("receiver queue full; the notification goes at the group's next flush", "receiver", d.Notification.Receiver, "group", d.Notification.GroupKey)
				r.router.Delivered(d, false)
			}
		}
	}
	handleDelivery := func(res delivery) {
		r.router.Delivered(res.d, res.ok)
		r.routerDirty = true
		if res.ok {
			r.sent[res.d.Notification.Receiver]++
		} else {
			r.failed[res.d.Notification.Receiver]++
		}
	}
	for {
		select {
		case <-ctx.Done():
			stopLoop()
			iter.Stop()
			// What was fetched but not looked at goes back to the stream
			// now, not after AckWait, for whoever leads next.
			for m := range msgs {
				_ = m.Nak()
			}
			// Let the senders finish what they hold, then record it.
			for _, q := range queues {
				close(q)
			}
			close(evCh)
			stopPoints()
			close(pointsCh)
			done := make(chan struct{})
			go func() { senders.Wait(); close(done) }()
			timer := r.clock.NewTimer(r.o.ShutdownGrace)
		drain:
			for {
				select {
				case res := <-results:
					handleDelivery(res)
				case <-done:
					break drain
				case <-timer.C():
					stopSend()
				}
			}
			timer.Stop()
			stopSend()
			for {
				select {
				case res := <-results:
					handleDelivery(res)
					continue
				default:
				}
				break
			}
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			r.checkpoint(cctx, kv)
			cancel()
			r.log.Info("alerts stopped")
			return nil
		case m, ok := <-msgs:
			if !ok {
				msgs = nil
				continue
			}
			r.fetchFailedAt = time.Time{}
			r.observe(m)
			// Drain what else is waiting so one tick covers the burst.
			for more := true; more; {
				select {
				case m2, ok2 := <-msgs:
					if !ok2 {
						msgs, more = nil, false
						break
					}
					r.observe(m2)
				default:
					more = false
				}
			}
			dispatch(r.evaluate(evCh))
		case err := <-fetchErrs:
			if r.fetchFailedAt.IsZero() {
				r.log.Warn("metric stream unavailable; deadman rules wait", "err", err)
			}
			r.fetchFailedAt = r.clock.Now()
		case e := <-silenceCh:
			r.silenceUpdate(e)
			dispatch(r.evaluate(evCh))
		case res := <-results:
			handleDelivery(res)
			r.checkpoint(ctx, kv)
		case <-ticker.C():
			dispatch(r.evaluate(evCh))
			r.checkpoint(ctx, kv)
			flushPoints(r.clock.Now())
		}
	}
}

// OutageWindow is how long after the consumer's last error, with no
// message since, the metric pipeline counts as down: deadman rules neither
// fire nor resolve meanwhile, so one NATS outage does not fire them all.
const OutageWindow = time.Minute

// outage is the evaluators' EvalOptions.Outage; it runs on Run's goroutine.
func (r *Runner) outage(now time.Time) bool {
	return !r.fetchFailedAt.IsZero() && now.Sub(r.fetchFailedAt) < OutageWindow
}

// observe feeds one message's points to the evaluators and holds the
// message for the next checkpoint's ack.
func (r *Runner) observe(m jetstream.Msg) {
	now := r.clock.Now()
	n, bad, err := decodeBatch(m.Data(), now, func(p alerts.Point) {
		for i, ev := range r.evals {
			if ev.Observe(p, now) {
				r.dirtyRules[i] = true
			}
		}
	})
	r.metrics.points.Add(float64(n))
	if bad > 0 {
		r.metrics.badLines.Add(float64(bad))
		r.log.Debug("lines skipped", "subject", m.Subject(), "count", bad, "err", err)
	}
	r.held = append(r.held, m)
}

// evaluate ticks every rule, routes the changes and returns what is due.
func (r *Runner) evaluate(evCh chan<- events.Event) []alerts.Dispatch {
	now := r.clock.Now()
	changed := false
	for i, ev := range r.evals {
		trs := ev.Tick(now)
		if len(trs) == 0 {
			continue
		}
		changed = true
		r.dirtyRules[i] = true
		r.routerDirty = true
		for _, tr := range trs {
			r.metrics.transitions.WithLabelValues(tr.To.String()).Inc()
			r.router.Observe(tr, now)
			alertLine(&r.changes, tr.Rule, tr.Labels, tr.To, tr.Value, now)
			if tr.Suppressed {
				continue
			}
			r.log.Info("alert", "rule", tr.Rule, "series", tr.SeriesKey, "from", tr.From.String(), "to", tr.To.String(), "reason", tr.Reason)
			if r.o.Events != nil {
				select {
				case evCh <- alertEvent(tr):
				default:
					r.log.Warn("alert event dropped: publisher behind", "rule", tr.Rule)
				}
			}
		}
	}
	var inhibited map[string]bool
	if changed || len(r.o.Inhibit) > 0 {
		var all []alerts.Active
		for _, ev := range r.evals {
			all = append(all, ev.Active()...)
		}
		if changed {
			r.mu.Lock()
			r.active = all
			r.mu.Unlock()
			r.metrics.setActive(all)
		}
		if len(r.o.Inhibit) > 0 {
			inhibited = alerts.Inhibited(all, r.o.Inhibit)
		}
	}
	ds := r.router.Tick(now, inhibited)
	for i := range ds {
		ds[i].Notification.ExternalURL = r.o.ExternalURL
	}
	return ds
}

func alertEvent(tr alerts.Transition) events.Event {
	return events.Event{
		Time: tr.At, Type: events.Alert,
		Service: tr.Labels["service"], Node: tr.Labels["node"],
		From: tr.From.String(), To: tr.To.String(),
		Reason: tr.Rule + " " + tr.SeriesKey + ": " + tr.Reason,
	}
}

func (r *Runner) silenceUpdate(e jetstream.KeyValueEntry) {
	id := e.Key()
	if e.Operation() != jetstream.KeyValuePut {
		delete(r.silences, id)
	} else {
		var s alerts.Silence
		if err := json.Unmarshal(e.Value(), &s); err != nil {
			r.log.Warn("silence not readable; ignored", "key", id, "err", err)
			return
		}
		r.silences[id] = s
	}
	r.router.SetSilences(slices.Collect(maps.Values(r.silences)))
}

func (r *Runner) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	kv, err := r.o.JS.KeyValue(ctx, bus.BucketAlerts)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = r.o.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: bus.BucketAlerts, Description: "swell state: " + bus.BucketAlerts,
			History: 1, Storage: jetstream.FileStorage,
		})
	}
	if err != nil {
		return nil, fmt.Errorf("alerts runner: KV bucket %s: %w", bus.BucketAlerts, err)
	}
	return kv, nil
}

// restore loads the rules' snapshots and the router's state. A snapshot
// that cannot be read is logged and skipped: that rule starts fresh,
// which at worst notifies its alerts again.
func (r *Runner) restore(ctx context.Context, kv jetstream.KeyValue, now time.Time) {
	for _, ev := range r.evals {
		name := ev.Rule().Name
		e, err := kv.Get(ctx, RuleKey(name))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err == nil {
			err = ev.RestoreJSON(e.Value(), now)
		}
		if err != nil {
			r.log.Warn("rule state not restored; the rule starts fresh", "rule", name, "err", err)
		}
	}
	e, err := kv.Get(ctx, keyRouter)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		r.log.Warn("notification state not restored", "err", err)
	default:
		var snap alerts.RouterSnapshot
		if err := json.Unmarshal(e.Value(), &snap); err != nil {
			r.log.Warn("notification state not readable", "err", err)
		} else if err := r.router.Restore(snap, now); err != nil {
			r.log.Warn("notification state not restored", "err", err)
		}
	}
	var all []alerts.Active
	firing := map[string]bool{}
	for _, ev := range r.evals {
		for _, a := range ev.Active() {
			all = append(all, a)
			firing[a.Fingerprint] = true
		}
	}
	r.router.Reconcile(firing, now)
	r.mu.Lock()
	r.active = all
	r.mu.Unlock()
	r.metrics.setActive(all)
}

// checkpoint writes what changed to KV and then acknowledges the messages
// read before it, so a restart resumes from a stream position the stored
// state has seen.
func (r *Runner) checkpoint(ctx context.Context, kv jetstream.KeyValue) {
	ok := true
	for i := range r.dirtyRules {
		ev := r.evals[i]
		b, err := ev.MarshalSnapshot()
		if err == nil {
			_, err = kv.Put(ctx, RuleKey(ev.Rule().Name), b)
		}
		if err != nil {
			ok = false
			r.log.Warn("rule state not saved", "rule", ev.Rule().Name, "err", err)
			continue
		}
		delete(r.dirtyRules, i)
	}
	if r.routerDirty {
		b, err := json.Marshal(r.router.Snapshot())
		if err == nil {
			_, err = kv.Put(ctx, keyRouter, b)
		}
		if err != nil {
			ok = false
			r.log.Warn("notification state not saved", "err", err)
		} else {
			r.routerDirty = false
		}
	}
	if !ok {
		r.metrics.checkpointErrors.Inc()
		return // the messages are delivered again if we stop now
	}
	for _, m := range r.held {
		if err := m.Ack(); err != nil {
			r.log.Debug("ack failed; the batch will be seen again", "err", err)
		}
	}
	r.held = r.held[:0]
}
