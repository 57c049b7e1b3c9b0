package influxd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// config holds what varies between instances; everything else in the
// rendered file is fixed for a small single machine.
type config struct {
	dataDir  string
	httpAddr string
	rpcAddr  string
}

// render produces influxd.conf. Settings that differ from influxd's defaults
// carry the reason.
func (c config) render() []byte {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	p("# Written by swell on every start; edits are overwritten.")
	p("reporting-disabled = true")
	// The backup/meta RPC service defaults to :8088 on all interfaces; a
	// second instance (tests, a user's own influxd) would clash with it.
	p("bind-address = %s", tomlString(c.rpcAddr))
	p("")
	p("[meta]")
	p("  dir = %s", tomlString(filepath.Join(c.dataDir, "meta")))
	p("  retention-autocreate = true")
	p("  logging-enabled = false")
	p("")
	p("[data]")
	p("  dir = %s", tomlString(filepath.Join(c.dataDir, "data")))
	p("  wal-dir = %s", tomlString(filepath.Join(c.dataDir, "wal")))
	// Ingest acks a NATS message once InfluxDB answered 2xx; that answer
	// must mean the points are on disk.
	p(`  wal-fsync-delay = "0s"`)
	// tsi1 keeps the series index on disk: memory stays flat as container
	// churn adds series, which matters more on a small box than the last
	// few percent of write speed.
	p(`  index-version = "tsi1"`)
	p("  query-log-enabled = false")
	p("  cache-max-memory-size = %d", 512<<20)
	p("  cache-snapshot-memory-size = %d", 25<<20)
	// One compaction at a time leaves the other core to writes.
	p("  max-concurrent-compactions = 1")
	p("  max-series-per-database = 1000000")
	p("  max-values-per-tag = 100000")
	p("")
	p("[coordinator]")
	p(`  write-timeout = "10s"`)
	p("")
	p("[monitor]")
	// The _internal database costs a write every 10 s and disk for nothing
	// swell reads; swell reports its own pipeline health.
	p("  store-enabled = false")
	p("")
	p("[subscriber]")
	p("  enabled = false")
	p("")
	p("[http]")
	p("  enabled = true")
	p("  bind-address = %s", tomlString(c.httpAddr))
	p("  auth-enabled = false")
	// One access-log line per write request would dwarf everything else in
	// influxd.log at ingest rates.
	p("  log-enabled = false")
	p("  suppress-write-log = true")
	p("  flux-enabled = false")
	p("  pprof-enabled = false")
	p("")
	p("[logging]")
	p(`  format = "logfmt"`)
	p(`  level = "info"`)
	p("  suppress-logo = true")
	p("")
	p("[continuous_queries]")
	p("  log-enabled = false")
	return []byte(b.String())
}

// write renders the file into dir and returns its path.
func (c config) write() (string, error) {
	path := filepath.Join(c.dataDir, "influxd.conf")
	if err := os.WriteFile(path, c.render(), 0o644); err != nil {
		return "", fmt.Errorf("influxd: write config %s: %w", path, err)
	}
	return path, nil
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
