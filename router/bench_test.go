package router

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swell-pipeline/swell/internal/clock"
	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/loadgen"
)

// benchSetup is one instance of the test app in a container, reached
// straight at its published host port and through the router's HTTP
// proxy (the code a servicePort runs), both on loopback.
func benchSetup(b *testing.B) (direct, routed string) {
	b.Helper()
	cli := testenv.Docker(b)
	id := testenv.RunContainer(b, cli, testenv.TestImage(b, cli), testenv.ContainerOptions{PublishHTTP: true})
	testenv.WaitReady(b, cli, id)
	addr := testenv.HostAddr(b, cli, id)
	p := newPool("/bench/web", clock.Real{}, 1000, time.Second, nil)
	p.update(route{Port: 1, Service: "/bench/web", Mode: ModeHTTP, Targets: []target{{Key: "n1.i1", Instance: "i1", Node: "n1", Addr: addr, Ready: true}}})
	results := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x"}, []string{"service", "result"})
	hp := newHTTPProxy(p, ModeHTTP, time.Second, slog.New(slog.DiscardHandler), results)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: hp, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	b.Cleanup(func() { _ = srv.Close(); hp.close() })
	return "http://" + addr + "/", "http://" + l.Addr().String() + "/"
}

func load(b *testing.B, url string, o loadgen.Options) loadgen.Result {
	b.Helper()
	o.URL = url
	res, err := loadgen.Run(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	if res.Errors != 0 {
		b.Fatalf("%s: %d errors (first: %s)", url, res.Errors, res.FirstError)
	}
	return res
}

// BenchmarkRouterAddedLatency sends a fixed rate straight to an instance
// and through the router, and reports the latency the router adds at p50
// and p99 (target: ≤ 1 ms at p99). Run it with -benchtime 1x: each run
// is a fixed 5 s per leg, whatever b.N.
func BenchmarkRouterAddedLatency(b *testing.B) {
	direct, routed := benchSetup(b)
	for _, rps := range []float64{300, 1000} {
		b.Run(strconv.Itoa(int(rps))+"rps", func(b *testing.B) {
			o := loadgen.Options{RPS: rps, Duration: 5 * time.Second}
			warm := o
			warm.Duration = time.Second
			load(b, direct, warm)
			load(b, routed, warm)
			var d, r loadgen.Result
			for b.Loop() {
				d = load(b, direct, o)
				r = load(b, routed, o)
			}
			b.ReportMetric(d.P50Ms, "direct_p50_ms")
			b.ReportMetric(d.P99Ms, "direct_p99_ms")
			b.ReportMetric(r.P50Ms, "routed_p50_ms")
			b.ReportMetric(r.P99Ms, "routed_p99_ms")
			b.ReportMetric(r.P50Ms-d.P50Ms, "added_p50_ms")
			b.ReportMetric(r.P99Ms-d.P99Ms, "added_p99_ms")
		})
	}
}

// BenchmarkRouterSaturation runs 32 closed-loop clients for 5 s straight
// to the instance and through the router: requests/s of each and their
// ratio. Run it with -benchtime 1x.
func BenchmarkRouterSaturation(b *testing.B) {
	direct, routed := benchSetup(b)
	o := loadgen.Options{Concurrency: 32, Duration: 5 * time.Second}
	warm := o
	warm.Duration = time.Second
	load(b, direct, warm)
	load(b, routed, warm)
	var d, r loadgen.Result
	for b.Loop() {
		d = load(b, direct, o)
		r = load(b, routed, o)
	}
	b.ReportMetric(d.RPS, "direct_rps")
	b.ReportMetric(r.RPS, "routed_rps")
	b.ReportMetric(r.RPS/d.RPS, "ratio")
}
