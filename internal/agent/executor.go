package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/clock"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/scheduler/health"
	"github.com/swell-pipeline/swell/scheduler/runtime"
	"github.com/swell-pipeline/swell/spec"
)

// ExecutorOptions configure an Executor.
type ExecutorOptions struct {
	// Node is this node's name; the executor acts on placements keyed
	// <node>.> and on containers labelled swell.node=<node>.
	Node string
	// Addr is the node's address: published ports bind to it and health
	// checks connect to it.
	Addr string
	// JS reaches the state buckets and, for signals, its connection.
	JS jetstream.JetStream
	// Runtime runs the containers.
	Runtime runtime.Runtime
	// Execer runs COMMAND health checks; nil refuses them.
	Execer health.Execer
	// Metrics takes the swell_health points (the agent's NATS output, with
	// its spool). Nil publishes them straight to the node's metrics
	// subject through JetStream.
	Metrics collector.Output

	// PollInterval is how often the node's containers are listed, which
	// is how exits are noticed (default 1s).
	PollInterval time.Duration
	// ResyncInterval is how often all placements are read again, in case
	// the watch missed something (default 10s).
	ResyncInterval time.Duration
	// RefreshInterval is how often instance records are rewritten even
	// without a change, so their UpdatedAt shows a live agent (default 5s).
	RefreshInterval time.Duration
	// SettleDelay is how long after start containers without a placement
	// are left alone, in case the placements are still arriving
	// (default 5s).
	SettleDelay time.Duration
	// StopGrace is the time between SIGTERM and SIGKILL for services that
	// do not set taskKillGracePeriodSeconds (default 10s).
	StopGrace time.Duration
	// Drain, when set, is waited on before an instance that may be in the
	// routers' rotation is stopped (scale-down, upgrade, drain): its record
	// says stopping first, which takes it out of rotation, and the stop
	// waits until the routers report nothing in flight or Drain times out.
	Drain Drainer

	Logger     *slog.Logger
	Clock      clock.Clock
	Registerer prometheus.Registerer
}

// Drainer waits until no router sends an instance requests any more.
type Drainer interface {
	Wait(ctx context.Context, service, node, instance string) error
	// Timeout is the longest Wait takes.
	Timeout() time.Duration
}

// Executor makes the node's placements real: it creates, starts, checks,
// stops and removes containers and reports every instance's state in
// swell_instances. It is level-triggered: every pass compares all
// placements with all containers, so a missed event costs a delay, never
// a wrong state.
type Executor struct {
	o       ExecutorOptions
	log     *slog.Logger
	checker *health.Checker
	prefix  string // <node token>.

	launches *prometheus.CounterVec
	kills    prometheus.Counter
	orphans  prometheus.Counter

	// Filled by the checker's callback, drained by the loop.
	resMu   sync.Mutex
	results []health.Result
	poke    chan struct{}

	// Completions of stops and removals running beside the loop.
	done chan string
	wg   sync.WaitGroup

	// Everything below belongs to the loop goroutine.
	placeKV, instKV jetstream.KeyValue
	placements      map[string]state.Placement // by KV key
	revs            map[string]uint64          // placement revisions, against stale watch updates
	synced          bool                       // a full read of placements succeeded
	started         time.Time
	insts           map[string]*instance // by KV key
	containers      map[string]runtime.Container
	extra           []runtime.Container // orphans from the last list
	backoffs        map[string]*serviceBackoff
	listErr         string
	putErr          string
}

// instance is the loop's view of one instance.
type instance struct {
	key string
	rec state.Instance
	// last is rec as last stored.
	last   state.Instance
	stored bool // a record exists in the bucket
	busy   bool // a stop or removal is under way
	// watched is the container whose health the checker watches.
	watched string
	nchecks int
	results map[int]health.Result
	// failReason sticks once the agent decided the instance failed (killed
	// for its health), so the exit that follows does not overwrite it.
	failReason  string
	exitCounted string // container whose exit was counted as a launch failure
	// succeeded is the container whose becoming healthy reset the
	// service's backoff: once per container, or healthy siblings would
	// keep resetting it for one that crash-loops.
	succeeded string
}

type serviceBackoff struct {
	params  runtime.Backoff
	tracker *runtime.BackoffTracker
}

// NewExecutor validates the options; it touches neither NATS nor the engine.
func NewExecutor(o ExecutorOptions) (*Executor, error) {
	if o.Node == "" || o.JS == nil || o.Runtime == nil {
		return nil, errors.New("agent: executor needs Node, JS and Runtime")
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
	if o.Addr == "" {
		o.Addr = "127.0.0.1"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.PollInterval, time.Second)
	def(&o.ResyncInterval, 10*time.Second)
	def(&o.RefreshInterval, 5*time.Second)
	def(&o.SettleDelay, 5*time.Second)
	def(&o.StopGrace, 10*time.Second)

	e := &Executor{
		o:          o,
		log:        o.Logger.With("component", "executor"),
		prefix:     bus.Token(o.Node) + ".",
		poke:       make(chan struct{}, 1),
		done:       make(chan string, 64),
		placements: map[string]state.Placement{},
		revs:       map[string]uint64{},
		insts:      map[string]*instance{},
		containers: map[string]runtime.Container{},
		backoffs:   map[string]*serviceBackoff{},
		launches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swell_executor_launches_total",
			Help: "Container launches (create and start) by this agent, by result (ok, failed).",
		}, []string{"result"}),
		kills: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swell_executor_health_kills_total",
			Help: "Instances stopped because they failed maxConsecutiveFailures health checks.",
		}),
		orphans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swell_executor_orphans_removed_total",
			Help: "Containers removed because no placement wants them.",
		}),
	}
	for _, c := range []prometheus.Collector{e.launches, e.kills, e.orphans} {
		if err := o.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("agent: executor metrics: %w", err)
		}
	}
	chk, err := health.New(health.Options{
		Logger:     o.Logger,
		Clock:      o.Clock,
		Registerer: o.Registerer,
		Execer:     o.Execer,
		OnResult:   e.onResult,
	})
	if err != nil {
		return nil, fmt.Errorf("agent: executor: %w", err)
	}
	e.checker = chk
	return e, nil
}

func (e *Executor) onResult(r health.Result) {
	e.resMu.Lock()
	e.results = append(e.results, r)
	e.resMu.Unlock()
	e.wake()
}

func (e *Executor) wake() {
	select {
	case e.poke <- struct{}{}:
	default:
	}
}

// Run converges until ctx ends. Containers keep running when it returns:
// the next agent adopts them.
func (e *Executor) Run(ctx context.Context) error {
	e.started = e.o.Clock.Now()
	if !e.openBuckets(ctx) {
		return nil
	}
	chkDone := make(chan struct{})
	go func() {
		defer close(chkDone)
		_ = e.checker.Run(ctx)
	}()
	updates := make(chan jetstream.KeyValueEntry, 256)
	e.wg.Go(func() { e.watch(ctx, updates) })
	defer func() {
		e.wg.Wait()
		<-chkDone
	}()

	e.resync(ctx)
	e.reconcile(ctx, true)

	poll := e.o.Clock.NewTicker(e.o.PollInterval)
	defer poll.Stop()
	resync := e.o.Clock.NewTicker(e.o.ResyncInterval)
	defer resync.Stop()
	refresh := e.o.Clock.NewTicker(e.o.RefreshInterval)
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case u := <-updates:
			e.apply(u)
			// Take every update already queued before acting.
			for more := true; more; {
				select {
				case u := <-updates:
					e.apply(u)
				default:
					more = false
				}
			}
			e.reconcile(ctx, true)
		case <-poll.C():
			e.reconcile(ctx, true)
		case <-resync.C():
			e.resync(ctx)
			e.reconcile(ctx, true)
		case <-refresh.C():
			// While the engine does not answer, the records are not known
			// to be true: letting them age tells the scheduler so.
			if e.listErr == "" {
				e.flush(ctx, true)
			}
		case <-e.poke:
			e.takeResults(ctx)
			e.reconcile(ctx, false)
		case key := <-e.done:
			if it := e.insts[key]; it != nil {
				it.busy = false
			}
			e.reconcile(ctx, true)
		}
	}
}

// openBuckets waits for the state buckets, creating them when the agent
// came up before any server. It gives up only when ctx ends.
func (e *Executor) openBuckets(ctx context.Context) bool {
	logged := false
	for {
		err := e.tryOpen(ctx)
		if err == nil {
			return true
		}
		if !logged && ctx.Err() == nil {
			e.log.Warn("cannot open the state buckets; will keep trying", "err", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(e.o.PollInterval):
		}
	}
}

func (e *Executor) tryOpen(ctx context.Context) error {
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	p, err := e.o.JS.KeyValue(octx, bus.BucketPlacements)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		if err := bus.EnsureKV(octx, e.o.JS, 0); err != nil {
			return err
		}
		p, err = e.o.JS.KeyValue(octx, bus.BucketPlacements)
	}
	if err != nil {
		return fmt.Errorf("open KV bucket %s: %w", bus.BucketPlacements, err)
	}
	i, err := e.o.JS.KeyValue(octx, bus.BucketInstances)
	if err != nil {
		return fmt.Errorf("open KV bucket %s: %w", bus.BucketInstances, err)
	}
	e.placeKV, e.instKV = p, i
	return nil
}

// watch forwards changes of this node's placements, starting the watch
// again when it ends before ctx does.
func (e *Executor) watch(ctx context.Context, out chan<- jetstream.KeyValueEntry) {
	for ctx.Err() == nil {
		// Current values first, then changes: a change made while the
		// watch was being set up is not lost, and the revision check in
		// apply drops what a resync already read.
		w, err := e.placeKV.Watch(ctx, e.prefix+">")
		if err == nil {
			for u := range w.Updates() {
				if u == nil {
					continue
				}
				select {
				case out <- u:
				case <-ctx.Done():
				}
			}
			_ = w.Stop()
		}
		select {
		case <-ctx.Done():
		case <-time.After(e.o.PollInterval):
		}
	}
}

func (e *Executor) apply(u jetstream.KeyValueEntry) {
	if u.Revision() <= e.revs[u.Key()] {
		return // older than what a resync read
	}
	e.revs[u.Key()] = u.Revision()
	if u.Operation() != jetstream.KeyValuePut {
		delete(e.placements, u.Key())
		return
	}
	var p state.Placement
	if err := json.Unmarshal(u.Value(), &p); err != nil {
		e.log.Error("placement is not valid JSON; ignored", "key", u.Key(), "err", err)
		return
	}
	e.placements[u.Key()] = p
}

// resync replaces the placements with a full read of the bucket.
func (e *Executor) resync(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// Deletes are read too: their revisions must stay in revs, or an
	// update of a deleted placement still queued from the watch would pass
	// apply's revision check and bring the placement back (and relaunch or
	// re-report an instance the scheduler has finished with).
	w, err := e.placeKV.Watch(rctx, e.prefix+">")
	if err != nil {
		e.log.Debug("read placements", "err", err)
		return
	}
	defer func() { _ = w.Stop() }()
	all := map[string]state.Placement{}
	revs := map[string]uint64{}
	for {
		select {
		case <-rctx.Done():
			return
		case u, ok := <-w.Updates():
			if !ok {
				return
			}
			if u == nil { // the current values are all delivered
				e.placements, e.revs = all, revs
				e.synced = true
				e.adoptRecords(rctx)
				e.pruneBackoffs()
				return
			}
			revs[u.Key()] = u.Revision()
			if u.Operation() != jetstream.KeyValuePut {
				continue
			}
			var p state.Placement
			if err := json.Unmarshal(u.Value(), &p); err != nil {
				e.log.Error("placement is not valid JSON; ignored", "key", u.Key(), "err", err)
				continue
			}
			all[u.Key()] = p
		}
	}
}

// pruneBackoffs forgets the backoff of service versions this node no
// longer runs, unless a failure is still being waited out.
func (e *Executor) pruneBackoffs() {
	used := map[string]bool{}
	for _, p := range e.placements {
		used[backoffKey(p)] = true
	}
	for k, b := range e.backoffs {
		if !used[k] && b.tracker.Failures(k) == 0 {
			delete(e.backoffs, k)
		}
	}
}

// adoptRecords learns of instance records this node wrote before (a
// previous run), so the ones without placement or container get deleted.
func (e *Executor) adoptRecords(ctx context.Context) {
	l, err := e.instKV.ListKeysFiltered(ctx, e.prefix+">")
	if err != nil {
		return
	}
	defer func() { _ = l.Stop() }()
	for k := range l.Keys() {
		if e.insts[k] == nil {
			e.insts[k] = &instance{key: k, stored: true, results: map[int]health.Result{}}
		}
	}
}

// settled says whether containers and records without a placement may be
// removed: the placements have been read in full, and long enough ago
// that a fresh placement and its first container cannot be mistaken for
// an orphan.
func (e *Executor) settled(now time.Time) bool {
	return e.synced && now.Sub(e.started) >= e.o.SettleDelay
}

// list reads the node's containers: one per instance key, the rest are
// extra (duplicates, unlabelled) and go.
func (e *Executor) list(ctx context.Context) bool {
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cs, err := e.o.Runtime.List(lctx, e.o.Node)
	if err != nil {
		if ctx.Err() == nil && err.Error() != e.listErr {
			e.log.Warn("cannot list this node's containers; will keep trying", "err", err)
			e.listErr = err.Error()
		}
		return false
	}
	if e.listErr != "" {
		e.log.Info("listing containers works again")
		e.listErr = ""
	}
	labelled := make(map[string]struct{}, len(cs))
	for _, c := range cs {
		if c.Instance != "" {
			labelled[c.Instance] = struct{}{}
		}
	}
	// Orphans with every labelled instance "desired" leaves only the
	// duplicates and unlabelled containers: whether an instance is still
	// wanted is decided per key below.
	e.extra = runtime.Orphans(cs, labelled)
	drop := map[string]bool{}
	for _, c := range e.extra {
		drop[c.ID] = true
	}
	e.containers = map[string]runtime.Container{}
	for _, c := range cs {
		if !drop[c.ID] {
			e.containers[state.InstanceKey(e.o.Node, c.Instance)] = c
		}
	}
	return true
}

// reconcile compares placements with containers and acts on every
// difference; withList reads the containers first.
func (e *Executor) reconcile(ctx context.Context, withList bool) {
	if ctx.Err() != nil {
		return
	}
	if withList && !e.list(ctx) {
		return
	}
	now := e.o.Clock.Now()
	keys := map[string]struct{}{}
	for k := range e.placements {
		keys[k] = struct{}{}
	}
	for k := range e.containers {
		keys[k] = struct{}{}
	}
	for k := range e.insts {
		keys[k] = struct{}{}
	}
	for key := range keys {
		it := e.insts[key]
		if it == nil {
			it = &instance{key: key, results: map[int]health.Result{}}
			e.insts[key] = it
		}
		if it.busy {
			continue
		}
		p, hasP := e.placements[key]
		c, hasC := e.containers[key]
		var cp *runtime.Container
		if hasC {
			cp = &c
		}
		switch {
		case hasP && !p.Stop:
			e.converge(ctx, it, p, cp, now)
		case hasP:
			e.describe(it, p)
			e.stop(ctx, it, cp, p.Spec)
		case e.settled(now):
			if cp != nil {
				e.orphans.Inc()
				e.log.Info("removing a container no placement wants", "instance", cp.Instance, "container", shortID(cp.ID))
				e.stop(ctx, it, cp, nil)
				continue
			}
			e.forget(ctx, it)
		}
	}
	if e.settled(now) {
		for _, c := range e.extra {
			e.orphans.Inc()
			e.log.Info("removing an extra container of this node", "instance", c.Instance, "container", shortID(c.ID))
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			if err := e.o.Runtime.Remove(rctx, c.ID); err != nil {
				e.log.Warn("cannot remove container", "container", shortID(c.ID), "err", err)
			}
			cancel()
		}
		e.extra = nil
	}
	e.flush(ctx, false)
}

// converge brings one wanted instance towards running.
func (e *Executor) converge(ctx context.Context, it *instance, p state.Placement, c *runtime.Container, now time.Time) {
	e.describe(it, p)
	if c == nil {
		e.unwatch(it)
		e.launch(ctx, it, p, now)
		return
	}
	it.rec.ContainerID = c.ID
	if c.Image != "" {
		it.rec.Image = c.Image
	}
	switch c.State {
	case runtime.StateRunning:
		if it.failReason != "" {
			// Killed for its health, but the stop did not take: try again.
			e.stopContainer(ctx, it, c.ID, false, false)
			return
		}
		it.rec.State = state.Running
		it.rec.Reason = ""
		it.rec.StartedAt = c.StartedAt.UTC()
		it.rec.HostPorts = c.HostPorts
		e.ensureWatch(it, p, c)
		e.rehealth(it)
		// Without checks, running a while is the only sign of success.
		if it.rec.Healthy && it.succeeded != c.ID && (it.nchecks > 0 || now.Sub(c.StartedAt) >= 10*time.Second) {
			it.succeeded = c.ID
			e.backoff(p).tracker.Succeeded(backoffKey(p))
			it.rec.Restarts = 0
		}
	case runtime.StateCreated:
		// A launch cut short (the agent stopped between create and start).
		if ok, _ := e.backoff(p).tracker.Allow(backoffKey(p), now); !ok {
			return
		}
		e.start(ctx, it, p, c.ID, now)
	case runtime.StateExited, runtime.StateDead:
		e.unwatch(it)
		it.rec.State = state.Failed
		it.rec.Healthy = false
		it.rec.HostPorts = nil
		it.rec.Reason = it.failReason
		if it.rec.Reason == "" {
			it.rec.Reason = fmt.Sprintf("container exited with code %d", c.ExitCode)
		}
		b := e.backoff(p)
		if it.exitCounted != c.ID {
			it.exitCounted = c.ID
			b.tracker.Failed(backoffKey(p), now)
		}
		it.rec.Restarts = b.tracker.Failures(backoffKey(p))
		// The placement still wants the instance: relaunch it here once
		// the service's backoff allows, as Marathon relaunches a failed
		// task. The scheduler counts on that rather than replacing it, so
		// a crash loop stays paced by the backoff.
		if ok, _ := b.tracker.Allow(backoffKey(p), now); !ok {
			return
		}
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := e.o.Runtime.Remove(rctx, c.ID)
		cancel()
		if err != nil {
			e.log.Warn("cannot remove a failed container to relaunch it", "instance", p.ID, "container", shortID(c.ID), "err", err)
			return
		}
		e.log.Info("relaunching a failed instance", "instance", p.ID, "service", p.Service, "reason", it.rec.Reason)
		delete(e.containers, it.key)
		e.launch(ctx, it, p, now)
	default: // restarting, paused, removing: not serving
		it.rec.State = state.Starting
		it.rec.Healthy = false
	}
}

// describe fills the record's identity from the placement.
func (e *Executor) describe(it *instance, p state.Placement) {
	it.rec.ID, it.rec.Service, it.rec.Node, it.rec.Version = p.ID, p.Service, e.o.Node, p.Version
	if p.Spec != nil && it.rec.Image == "" {
		it.rec.Image = p.Spec.Image
	}
}

func backoffKey(p state.Placement) string { return p.Service + "@" + p.Version }

// backoff is per service version, as Marathon's is per app: replacing a
// failed instance with a new one must not reset the delay.
func (e *Executor) backoff(p state.Placement) *serviceBackoff {
	params := launchBackoff(p.Spec)
	key := backoffKey(p)
	b := e.backoffs[key]
	if b == nil || b.params != params {
		t, err := runtime.NewBackoffTracker(params)
		if err != nil { // launchBackoff only returns valid ones
			t, _ = runtime.NewBackoffTracker(runtime.DefaultBackoff())
		}
		b = &serviceBackoff{params: params, tracker: t}
		e.backoffs[key] = b
	}
	return b
}

// launch creates and starts the instance's container, unless the
// service's launch backoff says to wait.
func (e *Executor) launch(ctx context.Context, it *instance, p state.Placement, now time.Time) {
	b := e.backoff(p)
	if ok, wait := b.tracker.Allow(backoffKey(p), now); !ok {
		if it.rec.State == "" {
			it.rec.State = state.Pending
			it.rec.Reason = fmt.Sprintf("launch delayed %s by the service's backoff", wait.Round(time.Second))
		}
		return
	}
	rs, err := containerSpec(p, e.o.Node, e.o.Addr)
	if err != nil {
		e.launchFailed(it, p, now, err)
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := e.o.Runtime.Create(cctx, rs)
	if err != nil {
		if c.ID != "" {
			_ = e.o.Runtime.Remove(cctx, c.ID)
		}
		if errors.Is(err, runtime.ErrNameConflict) {
			// A container of this instance that List did not show (made by
			// an agent that crashed mid-create): the name says it is ours.
			_ = e.o.Runtime.Remove(cctx, runtime.ContainerName(e.o.Node, p.ID))
		}
		e.launchFailed(it, p, now, err)
		return
	}
	it.failReason, it.exitCounted = "", ""
	it.rec.State, it.rec.Reason, it.rec.Healthy = state.Starting, "", false
	it.rec.ContainerID, it.rec.Image, it.rec.StartedAt, it.rec.HostPorts = c.ID, c.Image, time.Time{}, nil
	if it.rec.Image == "" {
		it.rec.Image = rs.Image
	}
	e.put(ctx, it)
	e.start(ctx, it, p, c.ID, now)
}

func (e *Executor) start(ctx context.Context, it *instance, p state.Placement, id string, now time.Time) {
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := e.o.Runtime.Start(sctx, id); err != nil {
		// A container that cannot start would only be started again; a
		// fresh one after the backoff is the cleaner retry.
		_ = e.o.Runtime.Remove(sctx, id)
		delete(e.containers, it.key)
		e.launchFailed(it, p, now, err)
		return
	}
	c, err := e.o.Runtime.Inspect(sctx, id)
	if err != nil {
		e.log.Warn("cannot inspect a started container", "instance", p.ID, "err", err)
		return // the next poll sees it
	}
	e.launches.WithLabelValues("ok").Inc()
	e.containers[it.key] = c
	e.converge(ctx, it, p, &c, now)
}

func (e *Executor) launchFailed(it *instance, p state.Placement, now time.Time, err error) {
	e.launches.WithLabelValues("failed").Inc()
	b := e.backoff(p)
	b.tracker.Failed(backoffKey(p), now)
	_, wait := b.tracker.Allow(backoffKey(p), now)
	reason := "launch failed: " + err.Error()
	if it.rec.Reason != reason {
		e.log.Warn("cannot launch instance", "instance", p.ID, "service", p.Service, "retry_in", wait, "err", err)
	}
	it.rec.State, it.rec.Reason, it.rec.Healthy = state.Failed, reason, false
	it.rec.ContainerID, it.rec.HostPorts, it.rec.StartedAt = "", nil, time.Time{}
	// The scheduler moves an instance that keeps failing here.
	it.rec.Restarts = b.tracker.Failures(backoffKey(p))
}

// stop takes an instance down: stopping, then stopped once its container
// is gone. (An orphan's record is deleted afterwards, by forget.) An
// instance the routers may be sending requests to is drained first; s is
// its spec when known (nil for an orphan).
func (e *Executor) stop(ctx context.Context, it *instance, c *runtime.Container, s *spec.Service) {
	e.unwatch(it)
	if c == nil {
		if it.rec.ID == "" {
			return // never ran here
		}
		it.rec.State = state.Stopped
		it.rec.Healthy, it.rec.ContainerID, it.rec.HostPorts = false, "", nil
		return
	}
	if it.rec.ID == "" {
		it.rec.ID, it.rec.Service, it.rec.Node, it.rec.Version = c.Instance, c.Service, e.o.Node, c.Version
		it.rec.Image = c.Image
	}
	drain := e.o.Drain != nil && it.rec.State == state.Running && it.rec.Healthy && routed(s)
	it.rec.State, it.rec.Healthy = state.Stopping, false
	e.stopContainer(ctx, it, c.ID, true, drain)
}

// routed says whether a service may be behind the routers: it has a
// servicePort, or its spec is unknown.
func routed(s *spec.Service) bool {
	if s == nil {
		return true
	}
	for _, pm := range s.PortMappings {
		if pm.ServicePort != 0 {
			return true
		}
	}
	return false
}

// stopContainer stops (with the grace period) and optionally removes a
// container beside the loop, which skips the instance until it is done.
// With drain, the stop first waits for the routers to let the instance's
// requests finish; the record saying stopping is written before.
func (e *Executor) stopContainer(ctx context.Context, it *instance, id string, remove, drain bool) {
	it.busy = true
	e.put(ctx, it)
	grace, key := e.stopGrace(it.key), it.key
	service, instance := it.rec.Service, it.rec.ID
	e.wg.Go(func() {
		defer func() {
			select {
			case e.done <- key:
			case <-ctx.Done():
			}
		}()
		budget := grace + 30*time.Second
		if drain {
			budget += e.o.Drain.Timeout()
		}
		sctx, cancel := context.WithTimeout(ctx, budget)
		defer cancel()
		if drain {
			start := e.o.Clock.Now()
			if err := e.o.Drain.Wait(sctx, service, e.o.Node, instance); err != nil {
				if ctx.Err() != nil {
					return // the agent stops; the container stays for the next one
				}
				e.log.Warn("stopping an instance that did not drain", "instance", instance, "service", service, "err", err)
			} else {
				e.log.Debug("instance drained", "instance", instance, "service", service, "took", e.o.Clock.Now().Sub(start))
			}
		}
		if err := e.o.Runtime.Stop(sctx, id, grace); err != nil && !errors.Is(err, runtime.ErrContainerNotFound) {
			e.log.Warn("cannot stop container", "container", shortID(id), "err", err)
		}
		if remove {
			if err := e.o.Runtime.Remove(sctx, id); err != nil {
				e.log.Warn("cannot remove container", "container", shortID(id), "err", err)
			}
		}
	})
}

// stopGrace is the SIGTERM-to-SIGKILL time of the instance under key: its
// placement's taskKillGracePeriodSeconds, else StopGrace (an orphan has no
// placement, and most services leave it to the agent).
func (e *Executor) stopGrace(key string) time.Duration {
	if p, ok := e.placements[key]; ok && p.Spec != nil && p.Spec.TaskKillGracePeriodSeconds != nil {
		return time.Duration(*p.Spec.TaskKillGracePeriodSeconds) * time.Second
	}
	return e.o.StopGrace
}

// forget drops an instance that has neither placement nor container, and
// its record.
func (e *Executor) forget(ctx context.Context, it *instance) {
	e.unwatch(it)
	if it.stored {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := e.instKV.Delete(dctx, it.key)
		cancel()
		if err != nil {
			e.log.Debug("cannot delete instance record", "key", it.key, "err", err)
			return
		}
	}
	delete(e.insts, it.key)
}

// flush writes the records that changed, or all of them when refresh.
func (e *Executor) flush(ctx context.Context, refresh bool) {
	for _, it := range e.insts {
		if it.rec.ID == "" || it.rec.State == "" {
			continue
		}
		if refresh || !sameRecord(it.rec, it.last) {
			e.put(ctx, it)
		}
	}
}

// sameRecord compares records but for UpdatedAt.
func sameRecord(a, b state.Instance) bool {
	return a.ID == b.ID && a.Service == b.Service && a.Node == b.Node && a.Version == b.Version &&
		a.State == b.State && a.Healthy == b.Healthy && a.Image == b.Image && a.ContainerID == b.ContainerID &&
		slices.Equal(a.HostPorts, b.HostPorts) && a.StartedAt.Equal(b.StartedAt) && a.Reason == b.Reason
}

// put stores the instance's record; a failed write is retried by the next
// flush, since last still differs.
func (e *Executor) put(ctx context.Context, it *instance) {
	if it.rec.ID == "" || it.rec.State == "" {
		return
	}
	now := e.o.Clock.Now()
	it.rec.UpdatedAt = now.UTC()
	b, err := json.Marshal(it.rec)
	if err != nil {
		e.log.Error("cannot encode instance record", "instance", it.rec.ID, "err", err)
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := e.instKV.Put(pctx, it.key, b); err != nil {
		if ctx.Err() == nil && err.Error() != e.putErr {
			e.log.Warn("cannot write instance state; will keep trying", "bucket", bus.BucketInstances, "err", err)
			e.putErr = err.Error()
		}
		return
	}
	e.putErr = ""
	it.last, it.stored = it.rec, true
}

// ensureWatch starts the health checks of a running container once.
func (e *Executor) ensureWatch(it *instance, p state.Placement, c *runtime.Container) {
	if it.watched == c.ID {
		return
	}
	var hcs []spec.HealthCheck
	if p.Spec != nil {
		hcs = p.Spec.HealthChecks
	}
	it.results = map[int]health.Result{}
	it.watched = c.ID
	it.nchecks = len(hcs)
	if len(hcs) == 0 {
		return
	}
	checks, extra, err := healthChecks(hcs, len(c.HostPorts))
	if err == nil {
		err = e.checker.Watch(health.Target{
			Instance:    it.key,
			ContainerID: c.ID,
			Host:        e.o.Addr,
			HostPorts:   append(slices.Clone(c.HostPorts), extra...),
			StartedAt:   c.StartedAt,
		}, checks)
	}
	if err != nil {
		// The instance stays unhealthy, which the scheduler sees; saying
		// why is all the agent can do.
		e.log.Error("cannot run the instance's health checks", "instance", p.ID, "err", err)
		it.results[-1] = health.Result{Reason: err.Error()}
	}
}

func (e *Executor) unwatch(it *instance) {
	if it.watched != "" {
		e.checker.Unwatch(it.key)
		it.watched = ""
		it.results = map[int]health.Result{}
	}
}

// rehealth combines the per-check results: healthy only when every check
// has passed and none has failed since.
func (e *Executor) rehealth(it *instance) {
	healthy := it.rec.State == state.Running
	if it.nchecks > 0 {
		healthy = healthy && len(it.results) == it.nchecks
		for _, r := range it.results {
			healthy = healthy && r.Healthy
		}
	}
	it.rec.Healthy = healthy
}

// takeResults applies the health results the checker reported.
func (e *Executor) takeResults(ctx context.Context) {
	e.resMu.Lock()
	rs := e.results
	e.results = nil
	e.resMu.Unlock()
	for _, r := range rs {
		it := e.insts[r.Instance]
		if it == nil || it.watched == "" || it.busy {
			continue // unwatched since
		}
		it.results[r.Check] = r
		e.rehealth(it)
		failures := 0
		for _, x := range it.results {
			failures = max(failures, x.ConsecutiveFailures)
		}
		e.publishHealth(ctx, it, failures, r.At)
		if r.Kill {
			e.kills.Inc()
			it.failReason = fmt.Sprintf("health check failures: %d in a row, last: %s", r.ConsecutiveFailures, r.Reason)
			e.log.Warn("killing an instance that fails its health checks", "instance", it.rec.ID, "service", it.rec.Service, "reason", r.Reason)
			e.unwatch(it)
			it.rec.State, it.rec.Healthy, it.rec.Reason = state.Failed, false, it.failReason
			if p, ok := e.placements[it.key]; ok {
				e.backoff(p).tracker.Failed(backoffKey(p), e.o.Clock.Now())
				it.exitCounted = it.rec.ContainerID // the exit that follows is this failure
				it.rec.Restarts = e.backoff(p).tracker.Failures(backoffKey(p))
			}
			e.stopContainer(ctx, it, it.rec.ContainerID, false, false)
		}
	}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
