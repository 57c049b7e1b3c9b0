package server

import (
	"context"
	"fmt"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/ingest"
	"github.com/swell-pipeline/swell/internal/bus"
)

// DefaultPipelineInterval is how often the server reports the pipeline's
// state into the metrics stream.
const DefaultPipelineInterval = 10 * time.Second

// pipelineSource is the node token of a server's pipeline points.
func pipelineSource(node string) string { return "_server-" + bus.Token(node) }

// reportPipeline publishes, every interval, the ingest lag and whether
// InfluxDB answers as swell_pipeline points through the metrics stream.
// The alert runner reads them there as they are published, so a growing
// lag or an InfluxDB outage becomes an alert even while nothing reaches
// InfluxDB (ingest also writes its counts to InfluxDB directly).
func (s *Server) reportPipeline(ctx context.Context, js jetstream.JetStream, ing *ingest.Ingest) {
	t := s.opts.Clock.NewTicker(s.opts.PipelineInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		b, err := pipelinePoints(ctx, ing, s.opts.Clock.Now())
		if err != nil {
			s.log.Warn("pipeline points", "err", err)
			continue
		}
		src := pipelineSource(ing.Node())
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = js.Publish(pctx, bus.MetricsSubject(src), b, jetstream.WithMsgID(fmt.Sprintf("%s:%d", src, s.opts.Clock.Now().UnixNano())))
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.Debug("publish pipeline points", "err", err)
		}
	}
}

func pipelinePoints(ctx context.Context, ing *ingest.Ingest, now time.Time) ([]byte, error) {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	up := int64(1)
	if ing.Check(cctx) != nil {
		up = 0
	}
	cancel()
	var enc lineprotocol.Encoder
	enc.StartLine("swell_pipeline")
	enc.AddTag("component", "ingest")
	enc.AddTag("node", ing.Node())
	enc.AddField("lag_messages", lineprotocol.IntValue(ing.Lag()))
	enc.EndLine(now)
	enc.StartLine("swell_pipeline")
	enc.AddTag("component", "influxdb")
	enc.AddTag("node", ing.Node())
	enc.AddField("up", lineprotocol.IntValue(up))
	enc.EndLine(now)
	if err := enc.Err(); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return enc.Bytes(), nil
}
