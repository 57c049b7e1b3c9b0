package dashboards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/collector/inputs"
	"github.com/swell-pipeline/swell/collector/natsout"
	"github.com/swell-pipeline/swell/ingest"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/testenv"
)

// The integration test runs the real pipeline — host inputs in a
// collector, its NATS output, ingest into a real influxd, events through
// the events publisher — adds points in the exact schema for what has no
// producer that can run here (containers, router, scheduler and alert
// measurements), then runs every variable, annotation and panel query of
// every dashboard the way Grafana would and wants data from each.

const (
	testNode   = "node-1"
	testServer = "ctl-1"
	// testInterval is what Grafana would put in $__interval for this
	// short range.
	testInterval = "1s"
)

type pipelineEnv struct {
	influxURL, db string
	from, to      time.Time
}

func TestIntegrationEveryQueryReturnsData(t *testing.T) {
	if testing.Short() {
		t.Skip("starts influxd, NATS, ingest and a collector")
	}
	env := runPipeline(t)
	for _, d := range All() {
		t.Run(d.UID, func(t *testing.T) {
			vars := resolveVariables(t, env, d)
			for _, a := range d.Annotations.List {
				if a.BuiltIn == 1 {
					continue
				}
				q := env.interpolate(a.Query, vars)
				if rows := env.rows(t, q); rows == 0 {
					t.Errorf("annotation %q: no rows from %s", a.Name, q)
				}
				if a.Target == nil || a.Target.Query != a.Query || !a.Target.RawQuery {
					t.Errorf("annotation %q: target must carry the same raw query", a.Name)
				}
			}
			for _, p := range d.Panels {
				for _, tg := range p.Targets {
					q := env.interpolate(tg.Query, vars)
					if rows := env.rows(t, q); rows == 0 {
						t.Errorf("panel %q target %s: no non-null values from\n%s", p.Title, tg.RefID, q)
					}
				}
			}
		})
	}
}

// resolveVariables runs the variable queries in order, as Grafana does
// on load, and returns each variable's options (the "All" selection).
func resolveVariables(t *testing.T, env *pipelineEnv, d Dashboard) map[string][]string {
	t.Helper()
	vars := map[string][]string{}
	for _, v := range d.Templating.List {
		q := env.interpolate(v.Query, vars)
		var values []string
		for _, s := range testenv.Query(t, env.influxURL, env.db, q) {
			for _, row := range s.Values {
				values = append(values, fmt.Sprint(row[1]))
			}
		}
		if len(values) == 0 {
			t.Fatalf("variable %s: no values from %s", v.Name, q)
		}
		vars[v.Name] = values
	}
	return vars
}

// interpolate replaces Grafana's macros and variables in q as Grafana's
// InfluxDB datasource does for a multi-value variable with "All"
// selected: each value regex-escaped, joined as (a|b).
func (env *pipelineEnv) interpolate(q string, vars map[string][]string) string {
	q = strings.ReplaceAll(q, "$timeFilter", fmt.Sprintf("time >= %dms and time <= %dms", env.from.UnixMilli(), env.to.UnixMilli()))
	q = strings.ReplaceAll(q, "$__interval", testInterval)
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	// Longest first, so $service does not eat the start of $services.
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, n := range names {
		esc := make([]string, len(vars[n]))
		for i, v := range vars[n] {
			esc[i] = regexEscape(v)
		}
		val := esc[0]
		if len(esc) > 1 {
			val = "(" + strings.Join(esc, "|") + ")"
		}
		q = strings.ReplaceAll(q, "$"+n, val)
	}
	return q
}

// unreplaced finds a macro or variable left in a query ($ alone ends a
// regex).
var unreplaced = regexp.MustCompile(`\$[A-Za-z_]\w*`)

var regexMeta = regexp.MustCompile(`[\\^$*+?.()|\[\]{}/]`)

func regexEscape(s string) string { return regexMeta.ReplaceAllString(s, `\$0`) }

// rows counts the result rows that hold at least one non-null value.
func (env *pipelineEnv) rows(t *testing.T, q string) int {
	t.Helper()
	if v := unreplaced.FindString(q); v != "" {
		t.Errorf("query still has %s: %s", v, q)
		return 0
	}
	n := 0
	for _, s := range testenv.Query(t, env.influxURL, env.db, q) {
		for _, row := range s.Values {
			if slices.ContainsFunc(row[1:], func(v any) bool { return v != nil }) {
				n++
			}
		}
	}
	return n
}

// runPipeline starts everything and returns once InfluxDB holds what the
// dashboards need.
func runPipeline(t *testing.T) *pipelineEnv {
	t.Helper()
	influx := testenv.Influx(t)
	ns := testenv.NATS(t)
	nc, js := testenv.Connect(t, ns.ClientURL())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{}, 3)
	t.Cleanup(func() {
		cancel()
		for range 3 {
			<-done
		}
	})
	start := time.Now()

	in, err := ingest.New(ingest.Options{
		JS: js, Influx: ingest.InfluxOptions{URL: influx.URL(), Database: influx.Database()},
		Workers: 1, Node: testServer, PipelineInterval: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = in.Run(ctx); done <- struct{}{} }()
	waitStreams(t, js)

	out, err := natsout.New(natsout.Options{Conn: nc, Node: testNode, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = out.Run(ctx); done <- struct{}{} }()
	var ins []collector.ConfiguredInput
	for _, name := range []string{"cpu", "mem", "disk", "diskio", "net", "system"} {
		input, err := inputs.Builtin()[name].New(inputs.Env{Node: testNode})
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins, collector.ConfiguredInput{Name: name, Input: input})
	}
	col, err := collector.New(collector.Options{
		Node: testNode, Inputs: ins, Output: out,
		Interval: 250 * time.Millisecond, FlushInterval: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = col.Run(ctx); done <- struct{}{} }()

	publishEvents(t, js)
	publishSynthetic(t, js, start)
	// One line InfluxDB cannot take (a field changes type), so the dead
	// letter panels have something to count.
	publishLines(t, js, "synthetic", []byte("swell_health,instance=web-1,node=node-1,service=/shop/web healthy=\"yes\"\n"))

	env := &pipelineEnv{influxURL: influx.URL(), db: influx.Database(), from: start.Add(-time.Minute)}
	waitFor(t, env, map[string]string{
		// Three seconds of host points, so rates over 1s buckets exist.
		`SELECT count("load1") FROM "system"`:                                                   "12",
		`SELECT count("points_gathered") FROM "swell_pipeline" WHERE "component" = 'collector'`: "3",
		`SELECT count("points_written") FROM "swell_pipeline" WHERE "component" = 'ingest'`:     "3",
		`SELECT last("deadletter_lines") FROM "swell_pipeline" WHERE "component" = 'ingest'`:    "1",
		`SELECT count("reason") FROM "swell_alert_event"`:                                       "2",
		`SELECT count("reason") FROM "swell_node_event"`:                                        "2",
		`SELECT count("reason") FROM "swell_scale_event"`:                                       "2",
		`SELECT count("reason") FROM "swell_deploy_event"`:                                      "2",
		`SELECT count("sent") FROM "swell_alert_notification"`:                                  "40",
		`SELECT count("usage_percent") FROM "docker_container_cpu"`:                             "60",
	})
	env.to = time.Now().Add(time.Minute)
	return env
}

func waitStreams(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err1 := js.Stream(t.Context(), bus.StreamMetrics)
		_, err2 := js.Stream(t.Context(), bus.StreamEvents)
		if err1 == nil && err2 == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingest did not create the streams: %v", errors.Join(err1, err2))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFor polls until each query's first value reaches at least want.
func waitFor(t *testing.T, env *pipelineEnv, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var missing []string
		for q, w := range want {
			got := int64(0)
			for _, s := range testenv.Query(t, env.influxURL, env.db, q) {
				if len(s.Values) > 0 {
					if n, ok := s.Values[0][1].(json.Number); ok {
						got, _ = n.Int64()
					}
				}
			}
			var wn int64
			_, _ = fmt.Sscan(w, &wn)
			if got < wn {
				missing = append(missing, fmt.Sprintf("%s: %d < %d", q, got, wn))
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pipeline did not deliver:\n%s", strings.Join(missing, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// publishEvents publishes events the way the scheduler, the API and the
// alert runner do; their points reach InfluxDB through ingest.
func publishEvents(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	p := events.NewPublisher(js, nil)
	for _, e := range []events.Event{
		{Type: events.Node, Node: testNode, To: "ready", Reason: "node registered"},
		{Type: events.Node, Node: testNode, From: "ready", To: "draining", Reason: "swell drain"},
		{Type: events.Scale, Service: "/shop/web", From: "2", To: "3", Reason: "concurrency 31 over target 10 x 3"},
		{Type: events.Scale, Service: "/shop/api", From: "1", To: "2", Reason: "swell scale"},
		{Type: events.Deploy, Service: "/shop/web", Node: testNode, To: "running", Reason: "placed"},
		{Type: events.Deploy, Service: "/shop/api", Node: testNode, To: "running", Reason: "placed"},
		{Type: events.Alert, Service: "/shop/web", From: "OK", To: "CRITICAL", Reason: "service-degraded: healthy < desired"},
		{Type: events.Alert, Node: testNode, From: "OK", To: "WARNING", Reason: "pipeline-lag"},
	} {
		if _, err := p.Publish(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
}

type point struct {
	m      string
	tags   map[string]string
	fields map[string]any
}

// publishSynthetic writes 20 seconds of points, one per second, in the
// schema of the measurements no producer writes here.
func publishSynthetic(t *testing.T, js jetstream.JetStream, now time.Time) {
	t.Helper()
	type ctr struct {
		service, instance, name string
		limit                   int64
	}
	containers := []ctr{
		{"/shop/web", "web-1", "shop-web-1", 256 << 20},
		{"/shop/web", "web-2", "shop-web-2", 256 << 20},
		{"/shop/api", "api-1", "shop-api-1", 128 << 20},
		{"", "", "postgres", 8 << 30}, // not swell's: no service or instance
	}
	var enc lineprotocol.Encoder
	enc.SetPrecision(lineprotocol.Nanosecond)
	add := func(p point, ts time.Time) {
		enc.StartLine(p.m)
		keys := make([]string, 0, len(p.tags))
		for k, v := range p.tags {
			if v != "" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			enc.AddTag(k, p.tags[k])
		}
		fk := make([]string, 0, len(p.fields))
		for k := range p.fields {
			fk = append(fk, k)
		}
		sort.Strings(fk)
		for _, k := range fk {
			enc.AddField(k, lineprotocol.MustNewValue(p.fields[k]))
		}
		enc.EndLine(ts)
	}
	const n = 20
	for i := range n {
		ts := now.Add(time.Duration(i-n+1) * time.Second)
		k := int64(i + 1)
		for j, c := range containers {
			tags := map[string]string{
				"node": testNode, "host": testNode, "service": c.service, "instance": c.instance,
				"container_name": c.name, "container_image": "registry.local/" + c.name, "container_version": "1.0",
				"container_status": "running", "engine_host": testNode, "server_version": "28.5.2",
			}
			with := func(k, v string) map[string]string {
				m := map[string]string{k: v}
				for a, b := range tags {
					m[a] = b
				}
				return m
			}
			id := fmt.Sprintf("%064d", j)
			add(point{"docker_container_cpu", with("cpu", "cpu-total"), map[string]any{
				"container_id": id, "usage_percent": float64(10 + j + i%3), "usage_total": k * 1e9,
				"usage_system": k * 4e9, "throttling_throttled_time": k * 1e6,
			}}, ts)
			usage := int64(50<<20) + k<<20
			add(point{"docker_container_mem", tags, map[string]any{
				"container_id": id, "usage": usage, "working_set": usage - 4<<20, "limit": c.limit,
				"usage_percent": float64(usage) / float64(c.limit) * 100,
			}}, ts)
			add(point{"docker_container_net", with("network", "total"), map[string]any{
				"container_id": id, "rx_bytes": k * 1000, "tx_bytes": k * 800, "rx_errors": int64(0), "tx_errors": int64(0),
			}}, ts)
			add(point{"docker_container_blkio", with("device", "total"), map[string]any{
				"container_id": id, "io_service_bytes_recursive_read": k * 4096, "io_service_bytes_recursive_write": k * 8192,
				"io_serviced_recursive_read": k, "io_serviced_recursive_write": 2 * k,
			}}, ts)
			add(point{"docker_container_status", tags, map[string]any{
				"container_id": id, "pid": int64(100 + j), "exitcode": int64(0), "oomkilled": false,
				"restart_count": int64(0), "uptime_ns": k * 1e9,
			}}, ts)
			if c.service == "" {
				continue
			}
			inst := map[string]string{"service": c.service, "instance": c.instance, "node": testNode}
			add(point{mConcurrency, inst, map[string]any{
				"in_flight": float64(5 + i%4), "in_flight_max": int64(9), "rps": float64(100 + i), "p50_ms": 3.5, "p99_ms": 21.0,
			}}, ts)
			add(point{mHealth, inst, map[string]any{"healthy": i%7 != 3, "consecutive_failures": int64(i % 2)}}, ts)
		}
		for _, s := range []string{"/shop/web", "/shop/api"} {
			add(point{mService, map[string]string{"service": s}, map[string]any{
				"desired": int64(3), "running": int64(2 + i%2), "healthy": int64(2), "target": 10.0,
			}}, ts)
		}
		add(point{mNode, map[string]string{"node": testNode}, map[string]any{"ready": int64(1), "draining": int64(1), "lost": int64(0)}}, ts)
		add(point{mNode, map[string]string{"node": "node-2"}, map[string]any{"ready": int64(0), "draining": int64(0), "lost": int64(1)}}, ts)
		add(point{mAlert, map[string]string{"rule": "service-degraded", "severity": "critical", "service": "/shop/web"},
			map[string]any{"state": int64(2), "value": -1.0}}, ts)
		add(point{mAlert, map[string]string{"rule": "pipeline-lag", "severity": "warning", "node": testServer},
			map[string]any{"state": int64(1), "value": 12000.0}}, ts)
		add(point{mAlert, map[string]string{"rule": "node-lost", "node": "node-3"},
			map[string]any{"state": int64(0), "value": 1.0}}, ts)
		for _, r := range []string{"oncall-dingtalk", "oncall-sms"} {
			add(point{mNotification, map[string]string{"receiver": r}, map[string]any{"sent": k, "failed": k / 5}}, ts)
		}
	}
	if err := enc.Err(); err != nil {
		t.Fatal(err)
	}
	publishLines(t, js, "synthetic", enc.Bytes())
}

func publishLines(t *testing.T, js jetstream.JetStream, node string, data []byte) {
	t.Helper()
	if _, err := js.Publish(t.Context(), bus.MetricsSubject(node), data); err != nil {
		t.Fatal(err)
	}
}
