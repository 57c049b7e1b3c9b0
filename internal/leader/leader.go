// Package leader elects one leader among the swell servers with a lease in
// the JetStream KV bucket swell_leader: whoever creates the key leads, and
// keeps leading by updating it (compare-and-set on its revision) well within
// the bucket's TTL. A leader that cannot refresh steps down before its lease
// can expire, so two leaders never overlap; a crashed leader's key expires
// after one lease and a standby takes over. A leader that stops cleanly
// deletes its key so a standby takes over at once.
//
// Only the deciding parts (scheduler, autoscaler, alerts) run under the
// lease; everything else runs on every server.
package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/clock"
)

// Key is the key of the lease in bus.BucketLeader.
const Key = "leader"

// DefaultLease is long enough to ride out a NATS leader change and short
// enough that a standby takes over within 10 s of a crash.
const DefaultLease = 4500 * time.Millisecond

// Options configures an Elector.
type Options struct {
	JS jetstream.JetStream
	// ID names this candidate (the server's name); it is the lease's value.
	ID string
	// Lease is the bucket's TTL (default DefaultLease). The leader refreshes
	// every Lease/3 and steps down when it has not refreshed for 2/3 of it.
	Lease time.Duration
	// Replicas of the bucket (0: 1).
	Replicas int
	Logger   *slog.Logger
	Clock    clock.Clock
}

// Elector campaigns for the lease and runs the leader's work while it holds it.
type Elector struct {
	o      Options
	log    *slog.Logger
	leader atomic.Bool
}

// New validates the options.
func New(o Options) (*Elector, error) {
	if o.JS == nil {
		return nil, errors.New("leader: no JetStream context")
	}
	if o.ID == "" {
		return nil, errors.New("leader: empty candidate id")
	}
	if o.Lease == 0 {
		o.Lease = DefaultLease
	}
	if o.Lease < 300*time.Millisecond {
		return nil, fmt.Errorf("leader: lease %s is too short (minimum 300ms)", o.Lease)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	return &Elector{o: o, log: o.Logger.With("component", "leader", "candidate", o.ID)}, nil
}

// IsLeader tells whether this candidate holds the lease now.
func (e *Elector) IsLeader() bool { return e.leader.Load() }

// Run campaigns until ctx ends. Each time this candidate wins, lead runs
// with a context that ends when the lease is lost or ctx ends; Run waits for
// lead to return before it campaigns again or returns.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context)) error {
	kv, err := e.waitBucket(ctx)
	if err != nil {
		return nil // ctx ended
	}
	refresh := e.o.Lease / 3
	stepDownAfter := e.o.Lease * 2 / 3
	t := e.o.Clock.NewTicker(refresh)
	defer t.Stop()

	var (
		rev      uint64
		lastOK   time.Time
		stopLead context.CancelFunc
		wg       sync.WaitGroup
	)
	stepDown := func(why string) {
		if stopLead == nil {
			return
		}
		stopLead()
		wg.Wait()
		stopLead = nil
		e.leader.Store(false)
		e.log.Warn("leadership lost", "reason", why)
	}
	defer func() {
		if stopLead == nil {
			return
		}
		stopLead()
		wg.Wait()
		e.leader.Store(false)
		// Hand over at once instead of after a lease.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		if err := kv.Delete(dctx, Key, jetstream.LastRevision(rev)); err != nil {
			e.log.Debug("release lease", "err", err)
		}
	}()

	for {
		now := e.o.Clock.Now()
		actx, cancel := context.WithTimeout(ctx, refresh)
		if stopLead == nil {
			r, err := kv.Create(actx, Key, []byte(e.o.ID))
			if err == nil {
				rev, lastOK = r, now
				lctx, cancelLead := context.WithCancel(ctx)
				stopLead = cancelLead
				e.leader.Store(true)
				e.log.Info("elected leader")
				wg.Add(1)
				go func() {
					defer wg.Done()
					lead(lctx)
				}()
			}
		} else {
			r, err := kv.Update(actx, Key, []byte(e.o.ID), rev)
			switch {
			case err == nil:
				rev, lastOK = r, now
			case errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyNotFound):
				stepDown("another candidate holds the lease")
			case now.Sub(lastOK) >= stepDownAfter:
				stepDown(fmt.Sprintf("could not refresh the lease for %s: %v", now.Sub(lastOK).Round(time.Millisecond), err))
			}
		}
		cancel()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
	}
}

// waitBucket opens the lease bucket, retrying while JetStream cannot answer
// (a cluster electing its meta leader, a slow or restarting server): a
// candidate that gave up here would never lead. It fails only when ctx ends.
func (e *Elector) waitBucket(ctx context.Context) (jetstream.KeyValue, error) {
	wait := 100 * time.Millisecond
	logged := false
	for {
		kv, err := e.bucket(ctx)
		if err == nil {
			if logged {
				e.log.Info("lease bucket reachable; campaigning")
			}
			return kv, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !logged {
			e.log.Warn("cannot open the lease bucket yet; retrying", "err", err)
			logged = true
		}
		t := e.o.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C():
		}
		wait = min(2*wait, e.o.Lease/3)
	}
}

func (e *Elector) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	replicas := e.o.Replicas
	if replicas <= 0 {
		replicas = 1
	}
	kv, err := e.o.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bus.BucketLeader,
		Description: "swell leader lease",
		History:     1,
		TTL:         e.o.Lease,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("leader: create or update KV bucket %s: %w", bus.BucketLeader, err)
	}
	return kv, nil
}

// Current returns the id of the candidate holding the lease ("" if none).
func Current(ctx context.Context, js jetstream.JetStream) (string, error) {
	kv, err := js.KeyValue(ctx, bus.BucketLeader)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("leader: open %s: %w", bus.BucketLeader, err)
	}
	e, err := kv.Get(ctx, Key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("leader: read lease: %w", err)
	}
	return string(e.Value()), nil
}
