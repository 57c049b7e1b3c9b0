package clustertest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/api"
	"github.com/swell-pipeline/swell/internal/clustertest"
	"github.com/swell-pipeline/swell/internal/httpd"
	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/loadgen"
	"github.com/swell-pipeline/swell/spec"
)

// startAPI serves the cluster's API on a free loopback port.
func startAPI(t *testing.T, c *clustertest.Cluster) *api.Client {
	t.Helper()
	s, err := httpd.New(httpd.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	api.RegisterServices(s, api.ServicesOptions{JS: func() (jetstream.JetStream, error) { return c.JS, nil }})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	c.Run("api", s.Run)
	cl, err := api.NewClient(s.Addr(), "")
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func serviceYAML(s spec.Service) []byte {
	var b strings.Builder
	if err := spec.EncodeServices(&b, []spec.Service{s}); err != nil {
		panic(err)
	}
	return []byte(b.String())
}

// versions asks the servicePort n times which version answers.
func versions(port, n int) map[string]int {
	seen := map[string]int{}
	c := &http.Client{Timeout: 5 * time.Second}
	for range n {
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/version", port))
		if err != nil {
			seen["error"]++
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen[strings.TrimSpace(string(b))]++
	}
	return seen
}

// TestIntegrationBlueGreenSwitchUnderLoad: a service of three instances
// on three nodes goes from version 1 to 2 by blue/green under 20
// concurrent requests: no request fails, version 2 answers alone after
// the switch, and the old instances stop after the soak.
func TestIntegrationBlueGreenSwitchUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: Docker, three agents (-short)")
	}
	c := clustertest.Start(t, 3)
	cl := startAPI(t, c)
	port := testenv.FreePort(t)
	v1 := c.Service("/it/bluegreen", port, "1")
	v1.Instances = 3
	if _, err := cl.Apply(t.Context(), "v1.yaml", serviceYAML(v1)); err != nil {
		t.Fatal(err)
	}
	clustertest.Wait(t, "3 healthy v1", 90*time.Second, func() bool { return c.Healthy(v1.ID, "") == 3 })
	clustertest.Wait(t, "v1 answers", 30*time.Second, func() bool { return versions(port, 5)["1"] == 5 })

	var (
		wg  sync.WaitGroup
		res loadgen.Result
		err error
	)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	wg.Go(func() {
		res, err = loadgen.Run(ctx, loadgen.Options{URL: fmt.Sprintf("http://127.0.0.1:%d/?ms=50", port), Concurrency: 20, Duration: 45 * time.Second})
	})
	v2 := v1
	v2.Env = map[string]string{"VERSION": "2"}
	rv, rerr := cl.StartRollout(t.Context(), v1.ID, "bluegreen", 0, 3*time.Second, "v2.yaml", serviceYAML(v2))
	if rerr != nil {
		t.Fatal(rerr)
	}
	// Before the switch, version 1 keeps every request.
	if seen := versions(port, 10); seen["1"] != 10 {
		t.Errorf("before the switch: %v, want version 1 only", seen)
	}
	clustertest.Wait(t, "the switch", 90*time.Second, func() bool {
		r := c.Record(v1.ID)
		return r.Rollout != nil && r.Rollout.Phase == "switched"
	})
	if seen := versions(port, 20); seen["2"] != 20 {
		t.Errorf("after the switch: %v, want version 2 only", seen)
	}
	clustertest.Wait(t, "old instances gone", 90*time.Second, func() bool {
		return c.Record(v1.ID).Rollout == nil && c.Healthy(v1.ID, rv.From) == 0 && c.Healthy(v1.ID, rv.Version) == 3
	})
	stop()
	wg.Wait()
	if err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	t.Logf("load during the rollout: %s", res.Line())
	if res.Errors != 0 || res.Requests == 0 {
		t.Errorf("load %s: want every request answered", res.Line())
	}
	if seen := versions(port, 20); seen["2"] != 20 {
		t.Errorf("after the rollout: %v, want version 2 only", seen)
	}
}
