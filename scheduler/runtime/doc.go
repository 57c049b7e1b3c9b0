// Package runtime carries the scheduler's placements out on one node: it
// creates, starts, stops and removes the node's containers through the Docker
// Engine API and lists the ones the node owns.
//
// Ownership lives in container labels (swell.service, swell.instance,
// swell.node, swell.version), not in local files, so an agent that restarts
// lists its node's containers, adopts the ones still desired and removes the
// rest (Orphans). Several agents may share one engine: each sees only the
// containers labelled with its node name.
//
// Launch failures are throttled as Marathon does (backoffSeconds,
// backoffFactor, maxLaunchDelaySeconds): Backoff computes the delay and
// BackoffTracker keeps it per instance, over a time the caller passes in, so
// a missing image becomes one clear failure followed by ever slower retries
// instead of a retry storm.
//
//	placement ──► Backoff.Allow ──► Create ──► Start ──► (running)
//	                   ▲                │ ErrImageNotFound
//	                   └── Failed ◄─────┘
package runtime
