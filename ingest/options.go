package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/clock"
)

// InfluxOptions says where to write. The same settings serve InfluxDB 1.8+
// (through its /api/v2/write compatibility endpoint), 2.x and 3.x.
type InfluxOptions struct {
	// URL of the InfluxDB HTTP API, e.g. http://127.0.0.1:8086.
	URL string
	// Token authenticates: a 2.x/3.x token, or "user:password" for 1.x with
	// auth enabled, or empty.
	Token string
	// Org is the 2.x organisation; 1.x ignores it.
	Org string
	// Bucket is the 2.x/3.x bucket, or "database/retention-policy" for 1.x.
	// Default: "<Database>/autogen".
	Bucket string
	// Database is the 1.x database (default "swell"); used only to derive
	// Bucket.
	Database string
	// Timeout bounds one write request (default 30s). A timeout counts as
	// InfluxDB being unavailable: the batch is retried, not dropped.
	Timeout time.Duration
	// GZip compresses write bodies. Off by default: on a LAN or loopback the
	// CPU it costs on both ends is worth more than the bytes it saves.
	GZip bool
}

// Options configures an Ingest.
type Options struct {
	// JS is the JetStream handle to consume with. If nil, one is made from Conn.
	JS jetstream.JetStream
	// Conn is used when JS is nil.
	Conn *nats.Conn
	// Influx is where points go.
	Influx InfluxOptions
	// Workers is how many fetch-parse-write loops run in parallel (default 2).
	Workers int
	// FetchBatch is how many messages one fetch asks for (default 64).
	FetchBatch int
	// MaxPointsPerWrite caps the points in one write request (default 10,000).
	// Messages are never split to meet it: one larger message is written alone.
	MaxPointsPerWrite int
	// Limits bound the streams EnsureStreams creates.
	Limits bus.StreamLimits
	// Node tags the swell_pipeline point (default: the host name).
	Node string
	// PipelineInterval is the period of the swell_pipeline point and of the
	// lag gauge's refresh (default 10s).
	PipelineInterval time.Duration
	// Logger, Registerer and Clock default to a discarding logger, a private
	// registry and the wall clock.
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Clock      clock.Clock
}

func (o *Options) setDefaults() error {
	if o.JS == nil && o.Conn == nil {
		return errors.New("ingest: no NATS connection (Options.JS or Options.Conn)")
	}
	in := &o.Influx
	if in.URL == "" {
		return errors.New("ingest: no InfluxDB URL (--influx-url)")
	}
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("ingest: InfluxDB URL %q: want http(s)://host:port", in.URL)
	}
	if in.Database == "" {
		in.Database = "swell"
	}
	if in.Bucket == "" {
		in.Bucket = in.Database + "/autogen"
	}
	if in.Timeout <= 0 {
		in.Timeout = 30 * time.Second
	}
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"Workers", &o.Workers, 2},
		{"FetchBatch", &o.FetchBatch, 64},
		{"MaxPointsPerWrite", &o.MaxPointsPerWrite, 10_000},
	} {
		switch {
		case *f.v == 0:
			*f.v = f.def
		case *f.v < 0:
			return fmt.Errorf("ingest: %s %d: want at least 1", f.name, *f.v)
		}
	}
	if o.PipelineInterval <= 0 {
		o.PipelineInterval = 10 * time.Second
	}
	if o.Node == "" {
		o.Node, _ = os.Hostname()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	return nil
}
