package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/httpd"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/internal/testenv"
	"github.com/swell-pipeline/swell/spec"
)

// startServices serves the service routes on a real embedded NATS.
func startServices(t *testing.T) (*Client, jetstream.JetStream) {
	t.Helper()
	ns := testenv.NATS(t)
	_, js := testenv.Connect(t, ns.ClientURL())
	if err := bus.EnsureKV(t.Context(), js, 1); err != nil {
		t.Fatal(err)
	}
	if err := bus.EnsureStreams(t.Context(), js, bus.StreamLimits{}); err != nil {
		t.Fatal(err)
	}
	s, err := httpd.New(httpd.Options{Addr: "127.0.0.1:0", Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	RegisterServices(s, ServicesOptions{JS: func() (jetstream.JetStream, error) { return js, nil }, NodeTimeout: 5 * time.Second})
	RegisterAlerts(s, ServicesOptions{JS: func() (jetstream.JetStream, error) { return js, nil }})
	testenv.Serve(t, s)
	c, err := NewClient(s.Addr(), "tok")
	if err != nil {
		t.Fatal(err)
	}
	return c, js
}

const webYAML = `kind: Service
id: /shop/web
image: web:1
instances: 3
cpus: 0.5
mem: 64
portMappings: [{containerPort: 8080, servicePort: 10001}]
`

func TestApplyCreatesUpdatesAndKeepsUnchangedServices(t *testing.T) {
	c, _ := startServices(t)
	ctx := t.Context()
	steps := []struct {
		name, yaml, action string
		rollout            bool
	}{
		{"new service", webYAML, "created", false},
		{"same file again", webYAML, "unchanged", false},
		{"new instance count", strings.Replace(webYAML, "instances: 3", "instances: 5", 1), "updated", false},
		{"new image", strings.Replace(webYAML, "web:1", "web:2", 1), "updated", true},
	}
	for _, st := range steps {
		res, err := c.Apply(ctx, "web.yaml", []byte(st.yaml))
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if len(res) != 1 || res[0].ID != "/shop/web" || res[0].Action != st.action || res[0].Rollout != st.rollout {
			t.Errorf("%s: %+v, want action %s rollout %v", st.name, res, st.action, st.rollout)
		}
	}
	svcs, err := c.Services(ctx)
	if err != nil || len(svcs) != 1 {
		t.Fatalf("Services = %+v, %v", svcs, err)
	}
	if got := svcs[0]; got.Spec.Image != "web:2" || got.Desired != 3 || got.Running != 0 || got.Version != state.SpecVersion(got.Spec) {
		t.Errorf("service view %+v", got)
	}
	one, err := c.Service(ctx, "/shop/web")
	if err != nil || one.Spec.ID != "/shop/web" {
		t.Errorf("Service = %+v, %v", one, err)
	}
}

func TestApplyRefusesABadFileWholeWithFileAndLine(t *testing.T) {
	c, _ := startServices(t)
	ctx := t.Context()
	// Every file starts with a good 4-line document, so lines count from 5.
	tests := []struct {
		name, file, stored, yaml, want string
	}{
		{"unknown field", "web.yaml", "", webYAML + "memory_mb: 5\n", `web.yaml:12: unknown field "memory_mb"`},
		{"cycle with a stored service", "b.yaml", "kind: Service\nid: /a\nimage: a:1\ndependencies: [/b]\n",
			"kind: Service\nid: /b\nimage: b:1\ndependencies: [/a]\n", "b.yaml:5: dependencies: dependency cycle: /a → /b → /a"},
		{"servicePort of a stored service", "api.yaml", webYAML,
			"kind: Service\nid: /shop/api\nimage: api:1\nportMappings: [{containerPort: 80, servicePort: 10001}]\n",
			"api.yaml:5: portMappings: servicePort 10001/tcp is used by both"},
		{"an alert rule naming a receiver nobody applied", "mixed.yaml", "",
			"kind: AlertRule\nname: mem\nmeasurement: mem\nfield: used_percent\ncrit: \"> 95\"\nnotify: [pager]\n",
			`mixed.yaml:5: notify: receiver "pager" is not defined`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := 0
			if tc.stored != "" {
				if _, err := c.Apply(ctx, "stored.yaml", []byte(tc.stored)); err != nil {
					t.Fatal(err)
				}
			}
			svcs, _ := c.Services(ctx)
			before = len(svcs)
			// A good document beside the bad one is not applied either.
			good := "kind: Service\nid: /other\nimage: o:1\n---\n"
			_, err := c.Apply(ctx, tc.file, []byte(good+tc.yaml))
			var se *spec.Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want a *spec.Error", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain %q", err, tc.want)
			}
			svcs, _ = c.Services(ctx)
			if len(svcs) != before {
				t.Errorf("%d services stored after a refused apply, want %d", len(svcs), before)
			}
		})
	}
}

func TestScaleDeleteAndNotFound(t *testing.T) {
	c, js := startServices(t)
	ctx := t.Context()
	if _, err := c.Apply(ctx, "web.yaml", []byte(webYAML)); err != nil {
		t.Fatal(err)
	}
	res, err := c.Scale(ctx, "/shop/web", 7)
	if err != nil || res.From != 3 || res.To != 7 {
		t.Fatalf("Scale = %+v, %v", res, err)
	}
	one, _ := c.Service(ctx, "/shop/web")
	if one.Spec.Instances != 7 || one.Version != state.SpecVersion(one.Spec) {
		t.Errorf("after scale: %+v", one)
	}
	evs, err := events.List(ctx, js, events.Filter{Type: events.Scale})
	if err != nil || len(evs) != 1 || evs[0].From != "3" || evs[0].To != "7" {
		t.Errorf("scale events %+v, %v", evs, err)
	}
	if _, err := c.Scale(ctx, "/shop/web", -1); err == nil || !strings.Contains(err.Error(), "want 0 to 100000") {
		t.Errorf("negative scale: %v", err)
	}
	if err := c.DeleteService(ctx, "/shop/web"); err != nil {
		t.Fatal(err)
	}
	for _, call := range []func() error{
		func() error { _, err := c.Service(ctx, "/shop/web"); return err },
		func() error { return c.DeleteService(ctx, "/shop/web") },
		func() error { _, err := c.Scale(ctx, "/shop/web", 1); return err },
		func() error { _, err := c.Explain(ctx, "/shop/web"); return err },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "service /shop/web not found (see swell get services)") {
			t.Errorf("on a deleted service: %v", err)
		}
	}
}

func putNode(t *testing.T, js jetstream.JetStream, name string, cpus float64) {
	t.Helper()
	kv, err := js.KeyValue(t.Context(), bus.BucketNodes)
	if err != nil {
		t.Fatal(err)
	}
	if err := state.PutNode(t.Context(), kv, state.Node{Name: name, CPUs: cpus, MemMiB: 1024, Docker: true, Heartbeat: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

func TestDrainAndUncordonANode(t *testing.T) {
	c, js := startServices(t)
	ctx := t.Context()
	putNode(t, js, "n1", 2)
	if _, err := c.Drain(ctx, "n9"); err == nil || !strings.Contains(err.Error(), `node "n9" is not registered (known: n1)`) {
		t.Errorf("drain of an unknown node: %v", err)
	}
	for i, want := range []bool{true, false} {
		res, err := c.Drain(ctx, "n1")
		if err != nil || !res.Cordoned || res.Changed != want {
			t.Errorf("drain #%d = %+v, %v; want changed %v", i+1, res, err, want)
		}
	}
	ex, err := func() (ExplainView, error) {
		if _, err := c.Apply(ctx, "web.yaml", []byte(webYAML)); err != nil {
			return ExplainView{}, err
		}
		return c.Explain(ctx, "/shop/web")
	}()
	if err != nil || ex.Fit != "0/1 nodes fit: 1 node draining" || ex.Draining != 1 {
		t.Errorf("explain on a drained cluster: %+v, %v", ex, err)
	}
	for i, want := range []bool{true, false} {
		res, err := c.Uncordon(ctx, "n1")
		if err != nil || res.Cordoned || res.Changed != want {
			t.Errorf("uncordon #%d = %+v, %v; want changed %v", i+1, res, err, want)
		}
	}
}

func TestExplainSaysWhyInstancesArePending(t *testing.T) {
	c, js := startServices(t)
	ctx := t.Context()
	putNode(t, js, "n1", 1)
	putNode(t, js, "n2", 1)
	big := strings.Replace(webYAML, "cpus: 0.5", "cpus: 2", 1)
	if _, err := c.Apply(ctx, "web.yaml", []byte(big)); err != nil {
		t.Fatal(err)
	}
	ex, err := c.Explain(ctx, "/shop/web")
	if err != nil {
		t.Fatal(err)
	}
	if ex.Fit != "0/2 nodes fit: 2 insufficient cpu" || !strings.Contains(ex.Pending, "3 of 3 instances not placed") || ex.Ready != 2 {
		t.Errorf("explain %+v", ex)
	}
}

func TestRolloutCountsOldAndNewInstances(t *testing.T) {
	c, js := startServices(t)
	ctx := t.Context()
	putNode(t, js, "n1", 8)
	old := strings.Replace(webYAML, "instances: 3", "instances: 2", 1)
	if _, err := c.Apply(ctx, "web.yaml", []byte(old)); err != nil {
		t.Fatal(err)
	}
	v1 := state.SpecVersion(mustService(t, old))
	pkv, _ := js.KeyValue(ctx, bus.BucketPlacements)
	ikv, _ := js.KeyValue(ctx, bus.BucketInstances)
	for _, id := range []string{"a", "b"} {
		s := mustService(t, old)
		p := state.Placement{ID: id, Service: "/shop/web", Node: "n1", Version: v1, At: time.Now(), Spec: &s}
		b, _ := json.Marshal(p)
		if _, err := pkv.Put(ctx, p.Key(), b); err != nil {
			t.Fatal(err)
		}
		r := state.Instance{ID: id, Service: "/shop/web", Node: "n1", Version: v1, State: state.Running, Healthy: true, StartedAt: time.Now()}
		b, _ = json.Marshal(r)
		if _, err := ikv.Put(ctx, r.Key(), b); err != nil {
			t.Fatal(err)
		}
	}
	rv, err := c.Rollout(ctx, "/shop/web")
	if err != nil || !rv.Done || rv.New != 2 || rv.NewHealthy != 2 || rv.Old != 0 {
		t.Errorf("before the upgrade: %+v, %v", rv, err)
	}
	if _, err := c.Apply(ctx, "web.yaml", []byte(strings.Replace(old, "web:1", "web:2", 1))); err != nil {
		t.Fatal(err)
	}
	rv, err = c.Rollout(ctx, "/shop/web")
	// 2 instances with the defaults (1, 1): keep 2 healthy, run at most 4.
	if err != nil || rv.Done || rv.Old != 2 || rv.OldHealthy != 2 || rv.New != 0 || rv.MinHealthy != 2 || rv.MaxCapacity != 4 {
		t.Errorf("after the upgrade: %+v, %v", rv, err)
	}
}

func mustService(t *testing.T, y string) spec.Service {
	t.Helper()
	docs, err := spec.Load("x.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return *docs[0].Service
}
