package ingest_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/ingest"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/testenv"
)

// benchPerBatch is the size of one direct write and of one NATS message,
// close to what a collector publishes for a busy node.
const benchPerBatch = 5000

// BenchmarkPipeline compares writing line protocol straight to InfluxDB
// with the same points going NATS → ingest → InfluxDB. Each measurement
// gets a fresh influxd, so compactions of one do not slow the next; the
// measurements are interleaved over several rounds and the fastest round
// of each reported, because the machine is shared. CPU seconds per million points
// (influxd's, and this process's: client, or NATS server + publisher +
// ingest) say what the pipeline costs independently of that noise.
//
//	go test ./ingest -run '^$' -bench Pipeline -benchtime 1x
//
// SWELL_BENCH_POINTS sets the number of points (default 500,000),
// SWELL_BENCH_ROUNDS the rounds (default 3), and SWELL_BENCH_WORKERS,
// SWELL_BENCH_FETCH and SWELL_BENCH_MAXPOINTS tune ingest.
func BenchmarkPipeline(b *testing.B) {
	total := envInt(b, "SWELL_BENCH_POINTS", 500_000) / benchPerBatch * benchPerBatch
	rounds := max(envInt(b, "SWELL_BENCH_ROUNDS", 3), 1)
	tune := func(o *ingest.Options) {
		o.Workers = envInt(b, "SWELL_BENCH_WORKERS", 0)
		o.FetchBatch = envInt(b, "SWELL_BENCH_FETCH", 0)
		o.MaxPointsPerWrite = envInt(b, "SWELL_BENCH_MAXPOINTS", 0)
	}
	batches := make([][]byte, total/benchPerBatch)
	var size int
	for i := range batches {
		batches[i] = benchBatch(b, i*benchPerBatch, benchPerBatch)
		size += len(batches[i])
	}
	b.Logf("%d points in %d batches of %d, %.1f MB of line protocol, %d rounds",
		total, len(batches), benchPerBatch, float64(size)/1e6, rounds)

	stages := []struct {
		name string
		run  func() run
	}{
		{"direct /write, 1 client", func() run { return directWrite(b, batches, 1) }},
		{"direct /write, 2 clients", func() run { return directWrite(b, batches, 2) }},
		{"publish → NATS → ingest → InfluxDB", func() run { return pipelineWrite(b, batches, false, tune) }},
		{"ingest draining a backlog", func() run { return pipelineWrite(b, batches, true, tune) }},
	}
	results := make([][]run, len(stages))
	for b.Loop() {
		for range rounds {
			for i, st := range stages {
				results[i] = append(results[i], st.run())
			}
		}
	}
	// Other work on the machine only ever slows a round down, so the
	// fastest round of each stage is the least disturbed one.
	best := make([]run, len(stages))
	for i, st := range stages {
		best[i] = fastest(results[i])
		b.Logf("%-36s %8.0f points/s (rounds: %s)  CPU s per 1M points: influxd %.2f, this process %.2f",
			st.name, best[i].rate, rates(results[i]), best[i].influxCPU, best[i].selfCPU)
	}
	direct := best[0]
	if best[1].rate > direct.rate {
		direct = best[1]
	}
	ratio := best[2].rate / direct.rate
	// On a machine where influxd and swell compete for every core, the
	// ratio tends to influxd's CPU per point over both together.
	cpuRatio := direct.influxCPU / (best[2].influxCPU + best[2].selfCPU - direct.selfCPU)
	b.Logf("pipeline / best direct = %.2f (backlog drain %.2f); CPU-bound estimate %.2f", ratio, best[3].rate/direct.rate, cpuRatio)
	b.ReportMetric(best[0].rate, "direct_pts/s")
	b.ReportMetric(best[1].rate, "direct2_pts/s")
	b.ReportMetric(best[2].rate, "pipeline_pts/s")
	b.ReportMetric(best[3].rate, "backlog_pts/s")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(cpuRatio, "cpu_ratio")
	b.ReportMetric(best[2].selfCPU, "swell_cpu_s/Mpts")
	b.ReportMetric(best[2].influxCPU, "influxd_cpu_s/Mpts")
}

// run is one measurement: points per second and CPU seconds per million
// points.
type run struct {
	rate, influxCPU, selfCPU float64
}

func fastest(rs []run) run {
	return slices.MaxFunc(rs, func(a, b run) int { return cmp.Compare(a.rate, b.rate) })
}

func rates(rs []run) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%.0f", r.rate))
	}
	return strings.Join(parts, " ")
}

// cpuMeter measures CPU time of this process and of influxd between start
// and stop.
type cpuMeter struct {
	influxPID      int
	self0, influx0 time.Duration
}

func startCPU(b *testing.B, influxPID int) cpuMeter {
	return cpuMeter{influxPID: influxPID, self0: selfCPU(b), influx0: procCPU(b, influxPID)}
}

func (m cpuMeter) perMillion(b *testing.B, points int) (influx, self float64) {
	per := float64(points) / 1e6
	return (procCPU(b, m.influxPID) - m.influx0).Seconds() / per, (selfCPU(b) - m.self0).Seconds() / per
}

func selfCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU reads utime+stime of pid from /proc (in USER_HZ, 100 on Linux).
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// After the command: state is field 3, utime 14 and stime 15.
	ut, _ := strconv.ParseInt(fields[14-3], 10, 64)
	st, _ := strconv.ParseInt(fields[15-3], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// benchBatch encodes n points over 1,000 series (20 hosts × 50
// containers) with three fields each, every point at its own timestamp.
func benchBatch(b *testing.B, first, n int) []byte {
	b.Helper()
	var enc lineprotocol.Encoder
	enc.SetBuffer(make([]byte, 0, n*110))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for seq := first; seq < first+n; seq++ {
		enc.StartLine("bench")
		enc.AddTag("container", "c"+strconv.Itoa(seq/20%50))
		enc.AddTag("host", "h"+strconv.Itoa(seq%20))
		enc.AddField("seq", lineprotocol.IntValue(int64(seq)))
		enc.AddField("usage", lineprotocol.IntValue(int64(seq%977)*1024))
		enc.AddField("value", lineprotocol.MustNewValue(float64(seq)/3))
		enc.EndLine(base.Add(time.Duration(seq) * time.Microsecond))
	}
	if err := enc.Err(); err != nil {
		b.Fatal(err)
	}
	return enc.Bytes()
}

func directWrite(b *testing.B, batches [][]byte, clients int) run {
	b.Helper()
	influx := testenv.Influx(b)
	defer func() { _ = influx.Stop(context.Background()) }()
	url := influx.URL() + "/write?db=swell&precision=ns"
	hc := &http.Client{Timeout: time.Minute}
	work := make(chan []byte)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	cpu := startCPU(b, influx.PID())
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for body := range work {
				resp, err := hc.Post(url, "text/plain; charset=utf-8", bytes.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					errs <- fmt.Errorf("direct write: %s", resp.Status)
					return
				}
			}
		})
	}
	for _, body := range batches {
		work <- body
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	influxCPU, self := cpu.perMillion(b, len(batches)*benchPerBatch)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	total := int64(len(batches) * benchPerBatch)
	if n := testenv.CountPoints(b, influx.URL(), "swell", "bench"); n != total {
		b.Fatalf("direct write left %d points, want %d", n, total)
	}
	return run{rate: float64(total) / elapsed.Seconds(), influxCPU: influxCPU, selfCPU: self}
}

// pipelineWrite measures from the first publish until ingest has acked the
// last message (InfluxDB answered 204 for all of it), then checks the count.
// With backlog, everything is published first and only the drain is timed.
func pipelineWrite(b *testing.B, batches [][]byte, backlog bool, tune func(*ingest.Options)) run {
	b.Helper()
	srv := testenv.NATS(b)
	_, js := testenv.Connect(b, srv.ClientURL())
	influx := testenv.Influx(b)
	defer func() { _ = influx.Stop(context.Background()) }()
	if err := bus.EnsureStreams(b.Context(), js, bus.StreamLimits{}); err != nil {
		b.Fatal(err)
	}
	total := uint64(len(batches) * benchPerBatch)

	publishAll := func() {
		var futures []jetstream.PubAckFuture
		for i, body := range batches {
			f, err := js.PublishAsync(bus.MetricsSubject("bench"), body, jetstream.WithMsgID("bench:"+strconv.Itoa(i)))
			if err != nil {
				b.Fatal(err)
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				b.Fatal(err)
			}
		}
	}
	if backlog {
		publishAll()
	}
	o := ingest.Options{JS: js, Influx: ingest.InfluxOptions{URL: influx.URL()}}
	tune(&o)
	ing, err := ingest.New(o)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cpu := startCPU(b, influx.PID())
	start := time.Now()
	go func() { done <- ing.Run(ctx) }()
	if !backlog {
		publishAll()
	}
	deadline := time.Now().Add(5 * time.Minute)
	for ing.Stats().PointsWritten < total {
		if time.Now().After(deadline) {
			b.Fatalf("pipeline wrote %d of %d points in 5 minutes", ing.Stats().PointsWritten, total)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	influxCPU, self := cpu.perMillion(b, int(total))
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	if n := testenv.CountPoints(b, influx.URL(), "swell", "bench"); n != int64(total) {
		b.Fatalf("pipeline left %d points, want %d", n, total)
	}
	return run{rate: float64(total) / elapsed.Seconds(), influxCPU: influxCPU, selfCPU: self}
}

func envInt(b *testing.B, name string, def int) int {
	b.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		b.Fatalf("%s=%q: %v", name, s, err)
	}
	return n
}
