package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/autoscaler"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/state"
)

// mirror is a KV bucket's current values, kept by a watch.
type mirror struct {
	kv   jetstream.KeyValue
	mu   sync.Mutex
	vals map[string][]byte
}

// watch follows the bucket until ctx ends; synced is closed once the
// stored values are in.
func (m *mirror) watch(ctx context.Context, synced chan<- struct{}) error {
	w, err := m.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("autoscaler: watch %s: %w", m.kv.Bucket(), err)
	}
	defer func() { _ = w.Stop() }()
	once := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("autoscaler: watch of %s closed", m.kv.Bucket())
			}
			if e == nil {
				if !once {
					once = true
					close(synced)
				}
				continue
			}
			m.mu.Lock()
			if e.Operation() == jetstream.KeyValuePut {
				m.vals[e.Key()] = e.Value()
			} else {
				delete(m.vals, e.Key())
			}
			m.mu.Unlock()
		}
	}
}

func (m *mirror) each(f func(key string, val []byte)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range m.vals {
		f(k, v)
	}
}

// instances lists each autoscaled service's instances as the core counts
// them: a placement asked to stop, or an instance stopping, is draining
// (its requests still count as demand, it is no capacity); a running one
// is ready when healthy, since readyAt[key] (when a tick first saw it
// so, which includes its health checks' grace); a placed one not yet
// running is starting, since it was placed.
func instances(mirrors map[string]*mirror, services map[string]state.ServiceRecord, readyAt map[string]time.Time, now time.Time) map[string][]autoscaler.Instance {
	placements := map[string]state.Placement{}
	mirrors[bus.BucketPlacements].each(func(key string, b []byte) {
		var p state.Placement
		if json.Unmarshal(b, &p) == nil {
			if _, ok := services[p.Service]; ok {
				placements[key] = p
			}
		}
	})
	reports := map[string]state.Instance{}
	mirrors[bus.BucketInstances].each(func(key string, b []byte) {
		var in state.Instance
		if json.Unmarshal(b, &in) == nil {
			reports[key] = in
		}
	})
	out := map[string][]autoscaler.Instance{}
	for key, p := range placements {
		in := autoscaler.Instance{ID: p.ID, State: autoscaler.Starting, Since: p.At}
		r, reported := reports[key]
		switch {
		case p.Stop || (reported && r.State == state.Stopping):
			in.State = autoscaler.Draining
		case !reported:
		case r.State == state.Running && r.Healthy:
			if _, ok := readyAt[key]; !ok {
				readyAt[key] = now
			}
			in.State, in.Since = autoscaler.Ready, readyAt[key]
		case r.State == state.Running:
			in.State = autoscaler.Unhealthy
		case r.State == state.Stopped || r.State == state.Failed || r.State == state.Lost:
			continue
		}
		if in.State != autoscaler.Ready {
			delete(readyAt, key)
		}
		out[p.Service] = append(out[p.Service], in)
	}
	for key := range readyAt {
		if _, ok := placements[key]; !ok {
			delete(readyAt, key)
		}
	}
	return out
}
