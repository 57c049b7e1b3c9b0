package ingest

import (
	"strconv"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
)

// BenchmarkParse measures validating one 5,000-point message, the work
// ingest adds per message on top of NATS and InfluxDB.
func BenchmarkParse(b *testing.B) {
	var enc lineprotocol.Encoder
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for seq := range 5000 {
		enc.StartLine("bench")
		enc.AddTag("container", "c"+strconv.Itoa(seq/20%50))
		enc.AddTag("host", "h"+strconv.Itoa(seq%20))
		enc.AddField("seq", lineprotocol.IntValue(int64(seq)))
		enc.AddField("usage", lineprotocol.IntValue(int64(seq%977)*1024))
		enc.AddField("value", lineprotocol.MustNewValue(float64(seq)/3))
		enc.EndLine(base.Add(time.Duration(seq) * time.Microsecond))
	}
	data := enc.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		p := parse(data, base, false)
		if p.points != 5000 || len(p.lines) != 1 {
			b.Fatalf("parsed %d points in %d lines", p.points, len(p.lines))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/5000, "ns/point")
}
