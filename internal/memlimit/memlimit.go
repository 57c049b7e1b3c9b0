// Package memlimit keeps a long-running process's resident memory close to
// what it really uses. Go returns freed heap to the OS lazily, so an agent
// whose gathers make a few MB of garbage each round holds on to several MB it
// does not need. A soft memory limit makes the runtime return it promptly.
//
// A fixed low limit would make the garbage collector run non-stop on a host
// whose live heap outgrows it (thousands of containers), so the limit
// follows the live heap: it is the larger of the floor and Headroom times the
// heap that survived the last collection. Above the floor, GOGC (a collection
// when the heap doubles) decides, exactly as without a limit.
package memlimit

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Headroom is the multiple of the live heap the limit never goes below.
// It is above GOGC's default doubling, so the limit only ever returns
// memory and never forces extra collections.
const Headroom = 3

// Options configures Run.
type Options struct {
	// Floor is the smallest limit in bytes; 0 disables the limit.
	Floor int64
	// Every is how often the live heap is checked (default 5s).
	Every  time.Duration
	Logger *slog.Logger
}

// Limit is the limit for a live heap of live bytes.
func Limit(floor, live int64) int64 {
	return max(floor, Headroom*live)
}

// Run adjusts the runtime's soft memory limit until ctx ends, then restores
// the previous one. It does nothing when the floor is 0 or the GOMEMLIMIT
// environment variable is set (the operator's choice wins).
func Run(ctx context.Context, o Options) {
	if o.Floor <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	every := o.Every
	if every <= 0 {
		every = 5 * time.Second
	}
	prev := debug.SetMemoryLimit(o.Floor)
	defer debug.SetMemoryLimit(prev)
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	current := o.Floor
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			continue
		}
		want := Limit(o.Floor, int64(sample[0].Value.Uint64()))
		if want != current {
			debug.SetMemoryLimit(want)
			if o.Logger != nil && want > o.Floor && current == o.Floor {
				o.Logger.Debug("memory limit follows the live heap", "limit_bytes", want)
			}
			current = want
		}
	}
}
