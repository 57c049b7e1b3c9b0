package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/clock"
	"github.com/swell-pipeline/swell/internal/state"
)

// Options configure a Router.
type Options struct {
	// Node is this node's name (the router tag and Signal.Router).
	Node string
	// Addr is the IP the service ports listen on (the agent's --addr).
	Addr string
	// JS reaches the state buckets; its connection carries the signals.
	JS jetstream.JetStream
	// Metrics takes the swell_concurrency points (the agent's NATS output
	// with its spool). Nil publishes them to the node's metrics subject.
	Metrics collector.Output

	// MetricsInterval is how often swell_concurrency is written (the
	// collection interval; default 10s).
	MetricsInterval time.Duration
	// SignalInterval is how often signals are published (default 250ms).
	SignalInterval time.Duration
	// DialTimeout bounds connecting to an instance (default 2s).
	DialTimeout time.Duration
	// HoldTimeout is how long a request waits for an instance (scale from
	// zero, or every instance at containerConcurrency) before a 503
	// (default 30s).
	HoldTimeout time.Duration
	// HoldMax bounds the requests waiting per servicePort (default 1000).
	HoldMax int

	Logger     *slog.Logger
	Clock      clock.Clock
	Registerer prometheus.Registerer
}

// Router serves the node's service ports.
type Router struct {
	o       Options
	log     *slog.Logger
	results *prometheus.CounterVec
	held    prometheus.Gauge

	demand chan string

	mu     sync.Mutex
	ports  map[int]*port
	warned map[int]bool    // ports that could not be bound, said once
	said   map[string]bool // configuration problems, said once each
}

// port is one listening servicePort.
type port struct {
	route route
	pool  *pool
	l     net.Listener
	http  *http.Server
	hp    *httpProxy
	tcp   *tcpProxy
	done  chan struct{}
}

// New validates the options; it listens on nothing and connects to nothing.
func New(o Options) (*Router, error) {
	if o.Node == "" || o.JS == nil {
		return nil, errors.New("router: needs Node and JS")
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1"
	}
	if net.ParseIP(o.Addr) == nil {
		return nil, fmt.Errorf("router: address %q is not an IP address", o.Addr)
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
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.MetricsInterval, 10*time.Second)
	def(&o.SignalInterval, 250*time.Millisecond)
	def(&o.DialTimeout, 2*time.Second)
	def(&o.HoldTimeout, 30*time.Second)
	if o.HoldMax <= 0 {
		o.HoldMax = 1000
	}
	r := &Router{
		o:      o,
		log:    o.Logger.With("component", "router"),
		demand: make(chan string, 64),
		ports:  map[int]*port{},
		warned: map[int]bool{},
		said:   map[string]bool{},
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swell_router_requests_total",
			Help: "Requests (TCP: connections) through the router by service and result: ok, retried, unavailable (503), bad_gateway (502), client_gone.",
		}, []string{"service", "result"}),
		held: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "swell_router_held_requests",
			Help: "Requests waiting for an instance (scale from zero, or every instance at containerConcurrency).",
		}),
	}
	for _, c := range []prometheus.Collector{r.results, r.held} {
		if err := o.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("router: metrics: %w", err)
		}
	}
	return r, nil
}

// watchBuckets are the buckets the table is built from.
var watchBuckets = []string{bus.BucketServices, bus.BucketInstances, bus.BucketNodes, bus.BucketPlacements}

type update struct {
	bucket string
	entry  jetstream.KeyValueEntry
	synced bool // the bucket's current values are all delivered
}

// Run serves until ctx ends, then closes the ports; requests in flight get
// a short grace to finish.
func (r *Router) Run(ctx context.Context) error {
	kvs, ok := r.openBuckets(ctx)
	if !ok {
		return nil
	}
	updates := make(chan update, 1024)
	var wg sync.WaitGroup
	for _, kv := range kvs {
		wg.Go(func() { r.watch(ctx, kv, updates) })
	}
	wg.Go(func() { r.publish(ctx) })
	defer func() {
		r.closeAll()
		wg.Wait()
	}()

	snap := newSnapshot()
	synced := map[string]bool{}
	retry := r.o.Clock.NewTicker(time.Second)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case u := <-updates:
			r.applyUpdate(snap, synced, u)
			for more := true; more; {
				select {
				case u := <-updates:
					r.applyUpdate(snap, synced, u)
				default:
					more = false
				}
			}
			if len(synced) == len(watchBuckets) {
				r.applyRoutes(ctx, snap)
			}
		case <-retry.C():
			// Ports that could not be bound are tried again.
			if len(synced) == len(watchBuckets) {
				r.applyRoutes(ctx, snap)
			}
		}
	}
}

func (r *Router) openBuckets(ctx context.Context) ([]jetstream.KeyValue, bool) {
	logged := false
	for {
		kvs, err := r.tryOpen(ctx)
		if err == nil {
			return kvs, true
		}
		if !logged && ctx.Err() == nil {
			r.log.Warn("cannot open the state buckets; will keep trying", "err", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(time.Second):
		}
	}
}

func (r *Router) tryOpen(ctx context.Context) ([]jetstream.KeyValue, error) {
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var out []jetstream.KeyValue
	for _, b := range watchBuckets {
		kv, err := r.o.JS.KeyValue(octx, b)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			if err := bus.EnsureKV(octx, r.o.JS, 0); err != nil {
				return nil, err
			}
			kv, err = r.o.JS.KeyValue(octx, b)
		}
		if err != nil {
			return nil, fmt.Errorf("open KV bucket %s: %w", b, err)
		}
		out = append(out, kv)
	}
	return out, nil
}

// watch forwards a bucket's values and changes, starting over when the
// watch ends before ctx does.
func (r *Router) watch(ctx context.Context, kv jetstream.KeyValue, out chan<- update) {
	for ctx.Err() == nil {
		w, err := kv.WatchAll(ctx)
		if err == nil {
			for e := range w.Updates() {
				u := update{bucket: kv.Bucket(), entry: e, synced: e == nil}
				select {
				case out <- u:
				case <-ctx.Done():
				}
			}
			_ = w.Stop()
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (r *Router) applyUpdate(s *snapshot, synced map[string]bool, u update) {
	if u.synced {
		synced[u.bucket] = true
		return
	}
	e := u.entry
	del := e.Operation() != jetstream.KeyValuePut
	bad := func(err error) {
		r.log.Error("record is not valid JSON; ignored", "bucket", u.bucket, "key", e.Key(), "err", err)
	}
	switch u.bucket {
	case bus.BucketServices:
		delete(s.services, e.Key())
		if !del {
			var v serviceRecord
			if err := json.Unmarshal(e.Value(), &v); err != nil {
				bad(err)
				return
			}
			s.services[e.Key()] = v
		}
	case bus.BucketInstances:
		delete(s.instances, e.Key())
		if !del {
			var v state.Instance
			if err := json.Unmarshal(e.Value(), &v); err != nil {
				bad(err)
				return
			}
			s.instances[e.Key()] = v
		}
	case bus.BucketPlacements:
		delete(s.placements, e.Key())
		if !del {
			var v state.Placement
			if err := json.Unmarshal(e.Value(), &v); err != nil {
				bad(err)
				return
			}
			s.placements[e.Key()] = v
		}
	case bus.BucketNodes:
		if state.IsMarkKey(e.Key()) {
			return
		}
		for name, n := range s.nodes {
			if n.Key() == e.Key() {
				delete(s.nodes, name)
			}
		}
		if !del {
			var v state.Node
			if err := json.Unmarshal(e.Value(), &v); err != nil {
				bad(err)
				return
			}
			s.nodes[v.Name] = v
		}
	}
}

// applyRoutes opens, updates and closes ports to match the state.
func (r *Router) applyRoutes(ctx context.Context, s *snapshot) {
	routes, warns := buildRoutes(s)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range warns {
		if !r.said[w] {
			r.log.Warn("a service port cannot be served as configured", "problem", w)
			r.said[w] = true
		}
	}
	want := map[int]bool{}
	for _, rt := range routes {
		want[rt.Port] = true
		p := r.ports[rt.Port]
		if p != nil && (p.route.Service != rt.Service || p.route.Mode != rt.Mode) {
			r.closePort(p)
			delete(r.ports, rt.Port)
			p = nil
		}
		if p == nil {
			np, err := r.openPort(ctx, rt)
			if err != nil {
				if !r.warned[rt.Port] {
					r.log.Warn("cannot listen on a servicePort; will keep trying", "service", rt.Service, "port", rt.Port, "err", err)
					r.warned[rt.Port] = true
				}
				continue
			}
			delete(r.warned, rt.Port)
			r.log.Info("serving a servicePort", "service", rt.Service, "addr", np.l.Addr().String(), "mode", rt.Mode)
			r.ports[rt.Port] = np
			p = np
		}
		p.route = rt
		p.pool.update(rt)
	}
	for n := range r.warned {
		if !want[n] {
			delete(r.warned, n)
		}
	}
	for n, p := range r.ports {
		if !want[n] {
			r.log.Info("closing a servicePort", "service", p.route.Service, "port", n)
			r.closePort(p)
			delete(r.ports, n)
		}
	}
}

func (r *Router) openPort(ctx context.Context, rt route) (*port, error) {
	addr := net.JoinHostPort(r.o.Addr, strconv.Itoa(rt.Port))
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("router: listen on %s for %s: %w", addr, rt.Service, err)
	}
	svc := rt.Service
	pl := newPool(svc, r.o.Clock, r.o.HoldMax, r.o.HoldTimeout, func() {
		select {
		case r.demand <- svc:
		default:
		}
	})
	p := &port{route: rt, pool: pl, l: l, done: make(chan struct{})}
	log := r.log.With("service", svc, "port", rt.Port)
	if rt.Mode == ModeTCP {
		p.tcp = newTCPProxy(pl, r.o.DialTimeout, log, r.results)
		go func() {
			defer close(p.done)
			p.tcp.serve(context.WithoutCancel(ctx), l)
		}()
		return p, nil
	}
	p.hp = newHTTPProxy(pl, rt.Mode, r.o.DialTimeout, log, r.results)
	ps := new(http.Protocols)
	ps.SetHTTP1(true)
	ps.SetUnencryptedHTTP2(true)
	p.http = &http.Server{
		Handler:           p.hp,
		Protocols:         ps,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(p.done)
		_ = p.http.Serve(l)
	}()
	return p, nil
}

// closePort stops taking connections and lets requests in flight finish
// for a short while.
func (r *Router) closePort(p *port) {
	if p.http != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = p.http.Shutdown(sctx)
		cancel()
		_ = p.http.Close()
		p.hp.close()
	} else {
		_ = p.l.Close()
		p.tcp.closeAll()
	}
	<-p.done
}

func (r *Router) closeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	// All at once: each may wait for its requests in flight.
	var wg sync.WaitGroup
	for n, p := range r.ports {
		wg.Go(func() { r.closePort(p) })
		delete(r.ports, n)
	}
	wg.Wait()
}

type poolRef struct {
	port int
	pool *pool
}

// pools returns the current pools by port, for the publishers.
func (r *Router) pools() []poolRef {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]poolRef, 0, len(r.ports))
	for n, p := range r.ports {
		out = append(out, poolRef{port: n, pool: p.pool})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].port < out[j].port })
	return out
}

// publish sends signals every SignalInterval (and at once on new demand)
// and swell_concurrency points every MetricsInterval.
func (r *Router) publish(ctx context.Context) {
	sig := r.o.Clock.NewTicker(r.o.SignalInterval)
	defer sig.Stop()
	met := r.o.Clock.NewTicker(r.o.MetricsInterval)
	defer met.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sig.C():
			r.publishSignals("")
		case svc := <-r.demand:
			r.publishSignals(svc)
		case <-met.C():
			r.writePoints(ctx)
		}
	}
}

// Signals builds this router's signal of every service (of only, when
// set), ending the signal period.
func (r *Router) signals(only string) []Signal {
	now := r.o.Clock.Now()
	byService := map[string]*Signal{}
	var order []string
	var held int64
	for _, p := range r.pools() {
		svc := p.pool.service
		if only != "" && svc != only {
			continue
		}
		s := byService[svc]
		if s == nil {
			s = &Signal{Kind: SignalKind, Service: svc, Node: r.o.Node, Time: now.UTC(), Instances: []InstanceSignal{}}
			byService[svc] = s
			order = append(order, svc)
		}
		held += p.pool.waiting.Load()
		q, period := p.pool.queued(winSignal)
		s.Queued += q
		s.PeriodMS = max(s.PeriodMS, periodMS(period))
		for _, st := range p.pool.take(winSignal) {
			s.PeriodMS = max(s.PeriodMS, periodMS(st.Period))
			s.Instances = mergeInstance(s.Instances, InstanceSignal{
				ID: st.instance, Node: st.node, Version: st.version,
				InFlight: st.InFlight, InFlightNow: st.Now, InFlightMax: st.InFlightMax,
				RPS: st.RPS, P50MS: st.P50Ms, P99MS: st.P99Ms, Draining: st.draining,
			})
		}
	}
	if only == "" {
		r.held.Set(float64(held))
	}
	out := make([]Signal, 0, len(order))
	for _, svc := range order {
		out = append(out, *byService[svc])
	}
	return out
}

// periodMS is a period in whole milliseconds, at least 1 (0 means the
// default period to readers).
func periodMS(d time.Duration) int { return max(1, int(d.Round(time.Millisecond)/time.Millisecond)) }

// mergeInstance adds one port's view of an instance to the signal: a
// service with two servicePorts counts an instance's requests on both.
func mergeInstance(list []InstanceSignal, in InstanceSignal) []InstanceSignal {
	for i := range list {
		x := &list[i]
		if x.ID == in.ID && x.Node == in.Node {
			x.InFlight += in.InFlight
			x.InFlightNow += in.InFlightNow
			x.InFlightMax += in.InFlightMax
			x.RPS += in.RPS
			x.P50MS = max(x.P50MS, in.P50MS)
			x.P99MS = max(x.P99MS, in.P99MS)
			x.Draining = x.Draining && in.Draining
			return list
		}
	}
	return append(list, in)
}

func (r *Router) publishSignals(only string) {
	nc := r.o.JS.Conn()
	for _, s := range r.signals(only) {
		b, err := json.Marshal(s)
		if err != nil {
			continue
		}
		if err := nc.Publish(SignalSubject(s.Service), b); err != nil {
			r.log.Debug("signal not sent", "service", s.Service, "err", err)
		}
	}
}

// points encodes the metrics period of every instance as swell_concurrency.
func (r *Router) points() ([]byte, int) {
	now := r.o.Clock.Now()
	var enc lineprotocol.Encoder
	enc.SetPrecision(lineprotocol.Nanosecond)
	n := 0
	for _, p := range r.pools() {
		for _, st := range p.pool.take(winMetrics) {
			enc.StartLine("swell_concurrency")
			// Tags in key order, as line protocol wants them.
			enc.AddTag("instance", st.instance)
			enc.AddTag("node", st.node)
			enc.AddTag("router", r.o.Node)
			enc.AddTag("service", p.pool.service)
			enc.AddTag("service_port", strconv.Itoa(p.port))
			enc.AddTag("source", "router")
			enc.AddField("in_flight", lineprotocol.MustNewValue(st.InFlight))
			enc.AddField("in_flight_max", lineprotocol.MustNewValue(st.InFlightMax))
			enc.AddField("rps", lineprotocol.MustNewValue(st.RPS))
			enc.AddField("p50_ms", lineprotocol.MustNewValue(st.P50Ms))
			enc.AddField("p99_ms", lineprotocol.MustNewValue(st.P99Ms))
			enc.AddField("requests", lineprotocol.MustNewValue(st.Requests))
			enc.EndLine(now)
			n++
		}
	}
	if err := enc.Err(); err != nil {
		r.log.Error("cannot encode swell_concurrency points", "err", err)
		return nil, 0
	}
	return enc.Bytes(), n
}

func (r *Router) writePoints(ctx context.Context) {
	b, n := r.points()
	if n == 0 {
		return
	}
	if r.o.Metrics != nil {
		if err := r.o.Metrics.Write(ctx, collector.Batch{Data: b, Points: n}); err != nil {
			r.log.Debug("swell_concurrency points not sent", "err", err)
		}
		return
	}
	if _, err := r.o.JS.PublishAsync(bus.MetricsSubject(r.o.Node), b); err != nil {
		r.log.Debug("swell_concurrency points not sent", "err", err)
	}
}
