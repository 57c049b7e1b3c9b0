package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/internal/state"
)

// mirror is a copy of one KV bucket kept by a watch. It is a cache, not
// state: each Run builds it anew from the bucket. The controller writes
// through it so the next pass sees its own writes before the watch echoes
// them; revisions keep an older echo from undoing a newer write.
type mirror struct {
	kv jetstream.KeyValue
	// quiet, when set, says that a change needs no pass of its own (a
	// heartbeat): the next tick sees it.
	quiet func(key string, old, new []byte) bool
	mu    sync.Mutex
	m     map[string]entry
}

type entry struct {
	val     []byte
	rev     uint64
	deleted bool
}

func newMirror(kv jetstream.KeyValue) *mirror {
	return &mirror{kv: kv, m: map[string]entry{}}
}

// set records e unless a newer revision is in; it reports whether the
// change calls for a pass.
func (m *mirror) set(key string, e entry) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.m[key]
	if ok && old.rev >= e.rev {
		return false
	}
	m.m[key] = e
	return !ok || old.deleted || e.deleted || m.quiet == nil || !m.quiet(key, old.val, e.val)
}

// each calls f with every live key and value, in no order.
func (m *mirror) each(f func(key string, val []byte, rev uint64)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, e := range m.m {
		if !e.deleted {
			f(k, e.val, e.rev)
		}
	}
}

func (m *mirror) get(key string) (entry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.m[key]
	return e, ok && !e.deleted
}

// watch follows the bucket until ctx ends: synced is closed once the
// bucket's current content is in, changed is signalled on every change.
func (m *mirror) watch(ctx context.Context, synced chan<- struct{}, changed chan<- struct{}) error {
	w, err := m.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("controller: watch %s: %w", m.kv.Bucket(), err)
	}
	defer func() { _ = w.Stop() }()
	initial := true
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("controller: watch of %s ended", m.kv.Bucket())
			}
			if e == nil {
				if initial {
					initial = false
					close(synced)
				}
				continue
			}
			significant := m.set(e.Key(), entry{val: e.Value(), rev: e.Revision(), deleted: e.Operation() != jetstream.KeyValuePut})
			if !initial && significant {
				select {
				case changed <- struct{}{}:
				default:
				}
			}
		}
	}
}

// put writes a value and records it. With create the key must not exist;
// with rev > 0 it must be at that revision.
func (m *mirror) put(ctx context.Context, key string, val []byte, create bool, rev uint64) error {
	var (
		r   uint64
		err error
	)
	switch {
	case create:
		r, err = m.kv.Create(ctx, key, val)
	case rev > 0:
		r, err = m.kv.Update(ctx, key, val, rev)
	default:
		r, err = m.kv.Put(ctx, key, val)
	}
	if err != nil {
		return fmt.Errorf("write %s in %s: %w", key, m.kv.Bucket(), err)
	}
	m.set(key, entry{val: val, rev: r})
	return nil
}

func (m *mirror) delete(ctx context.Context, key string) error {
	if err := m.kv.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("delete %s in %s: %w", key, m.kv.Bucket(), err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// The delete's revision is unknown here; the watch's echo carries it.
	// Until then the entry reads as deleted at its old revision.
	if e, ok := m.m[key]; ok {
		e.deleted = true
		m.m[key] = e
	}
	return nil
}

// heartbeatOnly tells whether two node records differ in their heartbeat
// alone: with many nodes beating every 2 s, a pass for each beat would
// only repeat the last one.
func heartbeatOnly(key string, old, new []byte) bool {
	if state.IsMarkKey(key) {
		return false
	}
	var a, b state.Node
	if json.Unmarshal(old, &a) != nil || json.Unmarshal(new, &b) != nil {
		return false
	}
	a.Heartbeat, b.Heartbeat = time.Time{}, time.Time{}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
