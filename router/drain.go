package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/swell-pipeline/swell/internal/clock"
)

// ErrDrainTimeout says an instance still had requests in flight on some
// router when the drain timeout passed.
var ErrDrainTimeout = errors.New("drain timeout passed with requests still in flight")

// DrainOptions configure a DrainWaiter.
type DrainOptions struct {
	Conn *nats.Conn
	// Timeout is the longest Wait waits (default 30s).
	Timeout time.Duration
	// SignalInterval is the routers' signal interval (default 250ms): Wait
	// listens for three of them before it trusts what it heard, and
	// forgets a router silent for four (stopped, or partitioned away).
	SignalInterval time.Duration
	Clock          clock.Clock
}

// DrainWaiter lets the executor wait until the routers have stopped
// sending an instance requests and the ones in flight have ended.
type DrainWaiter struct {
	o DrainOptions
}

// NewDrainWaiter validates the options.
func NewDrainWaiter(o DrainOptions) (*DrainWaiter, error) {
	if o.Conn == nil {
		return nil, errors.New("router: drain waiter needs a NATS connection")
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.SignalInterval <= 0 {
		o.SignalInterval = 250 * time.Millisecond
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	return &DrainWaiter{o: o}, nil
}

// Timeout is the longest Wait waits.
func (d *DrainWaiter) Timeout() time.Duration { return d.o.Timeout }

type routerView struct {
	seen     time.Time
	draining bool
	inFlight int64
}

// Wait returns nil once every router that reports the instance shows it
// out of rotation with nothing in flight, or ErrDrainTimeout. Call it
// after the instance's record says it is stopping: that is what takes it
// out of rotation. A router that never knew the instance does not report
// it and is not waited for.
func (d *DrainWaiter) Wait(ctx context.Context, service, node, instance string) error {
	msgs := make(chan *nats.Msg, 256)
	sub, err := d.o.Conn.ChanSubscribe(SignalSubject(service), msgs)
	if err != nil {
		return fmt.Errorf("router: drain %s: subscribe to signals: %w", instance, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	start := d.o.Clock.Now()
	settle := 3 * d.o.SignalInterval
	stale := 4 * d.o.SignalInterval
	routers := map[string]*routerView{}
	tick := d.o.Clock.NewTicker(d.o.SignalInterval / 5)
	defer tick.Stop()
	timeout := d.o.Clock.NewTimer(d.o.Timeout)
	defer timeout.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout.C():
			busy := 0
			for _, v := range routers {
				busy += int(v.inFlight)
			}
			return fmt.Errorf("router: drain %s of %s: %w (%d in flight)", instance, service, ErrDrainTimeout, busy)
		case m := <-msgs:
			var s Signal
			if json.Unmarshal(m.Data, &s) != nil || s.Kind != SignalKind {
				continue
			}
			for _, in := range s.Instances {
				if in.ID == instance && in.Node == node {
					routers[s.Node] = &routerView{seen: d.o.Clock.Now(), draining: in.Draining, inFlight: in.InFlightNow}
				}
			}
		case <-tick.C():
			now := d.o.Clock.Now()
			if now.Sub(start) < settle {
				continue
			}
			drained := true
			for _, v := range routers {
				if now.Sub(v.seen) > stale {
					continue
				}
				if !v.draining || v.inFlight > 0 {
					drained = false
				}
			}
			if drained {
				return nil
			}
		}
	}
}
