package demo

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/scheduler/runtime"
)

// TestIntegrationDemoScalesUpAndBackAndStopsEverything runs the demo on
// real Docker with a short profile (quiet, a step to 15 in flight, quiet):
// the service scales up and back to its minimum, the sink hears the alert
// fire and resolve, the summary and the plot are written, and once Run
// returns no container of the demo is left and every port it opened is
// closed.
func TestIntegrationDemoScalesUpAndBackAndStopsEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: Docker, influxd, three agents (-short)")
	}
	cli := testenv.Docker(t)
	img := testenv.TestImage(t, cli)
	suffix := strconv.FormatUint(rand.Uint64()%1e6, 36)
	nodes := []string{"demo-it1-" + suffix, "demo-it2-" + suffix, "demo-it3-" + suffix}
	dir := t.TempDir()
	var out testenv.SyncBuffer
	d, err := New(Options{
		DataDir:       dir,
		Image:         img,
		InfluxdBinary: testenv.InfluxdBinary(t),
		Profile: []Phase{
			{Name: "quiet", Concurrency: 2, Duration: 5 * time.Second},
			{Name: "step", Concurrency: 15, Duration: 20 * time.Second},
			{Name: "quiet", Concurrency: 2, Duration: 10 * time.Second},
		},
		Settle: 80 * time.Second,
		Nodes:  nodes,
		Labels: map[string]string{testenv.LabelTest: t.Name()},
		Out:    &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Run(t.Context())
	t.Logf("demo output:\n%s", out.String())
	if err != nil {
		t.Fatalf("demo: %v", err)
	}

	if !res.Settled || res.PeakDesired < 3 {
		t.Errorf("settled %v, peak desired %d: want a scale-up to 3 or more and back", res.Settled, res.PeakDesired)
	}
	up, down := false, false
	for _, e := range res.ScaleEvents {
		from, _ := strconv.Atoi(e.From)
		to, _ := strconv.Atoi(e.To)
		up = up || to > from
		down = down || (to < from && to == MinReplicas)
		if e.Reason == "" {
			t.Errorf("scale event %s → %s without a reason", e.From, e.To)
		}
	}
	if !up || !down {
		t.Errorf("scale events %+v: want one up and one down to %d", res.ScaleEvents, MinReplicas)
	}
	firing, resolved := 0, 0
	for _, n := range res.Notifications {
		if n.Alert != AlertName {
			t.Errorf("the sink got an alert of %q", n.Alert)
		}
		switch n.Status {
		case "firing":
			firing++
		case "resolved":
			resolved++
		}
	}
	if firing == 0 || resolved == 0 {
		t.Errorf("sink received %+v: want a firing and a resolved notification", res.Notifications)
	}
	if res.Requests == 0 || res.Errors != 0 {
		t.Errorf("requests %d, errors %d: want every request answered", res.Requests, res.Errors)
	}
	for _, want := range []string{"SCALE", "ALERT  FIRING", "ALERT  RESOLVED", "summary", "peak replicas", "stopped:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q", want)
		}
	}

	sum, err := os.ReadFile(res.SummaryPath)
	if err != nil || !strings.Contains(string(sum), "scale events") {
		t.Errorf("summary %s: %v\n%s", res.SummaryPath, err, sum)
	}
	png, err := os.ReadFile(res.PlotPath)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("plot %s: %v, %d bytes", res.PlotPath, err, len(png))
	}
	if fi, err := os.Stat(res.GrafanaDir); err != nil || !fi.IsDir() {
		t.Errorf("dashboards provisioning %q: %v", res.GrafanaDir, err)
	}

	// Everything it started is stopped: no container on its nodes …
	for _, n := range nodes {
		cs, err := cli.ContainerList(t.Context(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", runtime.LabelNode+"="+n))})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 0 {
			t.Errorf("%d containers of node %s left", len(cs), n)
		}
	}
	// … and none of its ports answers.
	addrs := []string{hostOf(t, res.HTTPURL), hostOf(t, res.NATSURL), hostOf(t, res.InfluxURL), hostOf(t, res.SinkURL)}
	for _, a := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		addrs = append(addrs, net.JoinHostPort(a, strconv.Itoa(res.ServicePort)))
	}
	for _, a := range addrs {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after the demo ended", a)
		}
	}
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	if !strings.Contains(raw, "://") {
		raw = "nats://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		t.Fatalf("address %q: %v", raw, err)
	}
	return u.Host
}

// TestIntegrationDemoSaysWhatIsMissing: a missing image stops the demo
// before anything starts, with the command that builds it.
func TestIntegrationDemoSaysWhatIsMissing(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: asks Docker (-short)")
	}
	testenv.Docker(t)
	d, err := New(Options{DataDir: t.TempDir(), Image: fmt.Sprintf("swell-demo:absent-%d", rand.Uint64())})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "make demo-image") {
		t.Errorf("err = %v, want the command that builds the image", err)
	}
}
