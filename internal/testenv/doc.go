// Package testenv starts the real parts that swell's tests run against: an
// embedded NATS server, a real influxd 1.8.10 from ./bin, and images for the
// real Docker engine. Every helper picks random ports, keeps its files under
// t.TempDir() and stops what it started in t.Cleanup.
package testenv
