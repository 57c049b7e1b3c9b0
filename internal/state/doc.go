// Package state defines the records swell keeps in its JetStream KV buckets
// (internal/bus names them) and how they are encoded: JSON, one record per
// key. Agents write their node and instance records; the scheduler writes
// placements; everything else reads.
package state
