package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// golden compares got with the file, or rewrites the file with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./spec -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./spec -update rewrites it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

func files(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil || len(m) == 0 {
		t.Fatalf("no files match %s (%v)", pattern, err)
	}
	return m
}

func TestValidExamplesLoadAndRoundTrip(t *testing.T) {
	setAlertEnv(t)
	for _, path := range files(t, "testdata/valid/*.yaml") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			docs, err := Load(filepath.Base(path), data)
			if err != nil {
				t.Fatalf("does not load:\n%v", err)
			}
			// The JSON the API serves, with every default filled in.
			var services []Service
			var others, serviceDocs []Document
			for _, d := range docs {
				if d.Service == nil {
					others = append(others, d)
					continue
				}
				services = append(services, *d.Service)
				serviceDocs = append(serviceDocs, d)
			}
			if len(others) > 0 {
				// Alert kinds are checked in alert_test.go; here they must
				// only load.
				goldenAlertDocs(t, strings.TrimSuffix(path, ".yaml")+".alerts.json", others)
			}
			docs = serviceDocs
			js, err := json.MarshalIndent(services, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(path, ".yaml")+".json", append(js, '\n'))

			// Encode, load again: the same services.
			var out bytes.Buffer
			if err := Encode(&out, docs); err != nil {
				t.Fatal(err)
			}
			again, err := Load("encoded.yaml", out.Bytes())
			if err != nil {
				t.Fatalf("encoded YAML does not load:\n%v\n%s", err, out.Bytes())
			}
			if len(again) != len(docs) {
				t.Fatalf("%d documents after the round trip, want %d", len(again), len(docs))
			}
			for i := range docs {
				if !reflect.DeepEqual(docs[i].Service, again[i].Service) {
					t.Errorf("document %d changed in the round trip:\n got %+v\nwant %+v", i, again[i].Service, docs[i].Service)
				}
			}
			// And the JSON decodes back to the same services.
			var fromJSON []Service
			if err := json.Unmarshal(js, &fromJSON); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fromJSON, services) {
				t.Errorf("JSON round trip changed the services")
			}
		})
	}
}

func TestInvalidExamplesReportEveryProblem(t *testing.T) {
	for _, path := range files(t, "testdata/invalid/*.yaml") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			docs, err := Load(filepath.Base(path), data)
			if err == nil {
				t.Fatalf("loaded %d documents without an error", len(docs))
			}
			if docs != nil {
				t.Errorf("documents returned with an error: nothing of a bad file may be applied")
			}
			var se *Error
			if !errors.As(err, &se) || len(se.Problems) == 0 {
				t.Fatalf("error is %T, want *spec.Error with problems", err)
			}
			for i := 1; i < len(se.Problems); i++ {
				if se.Problems[i].Line < se.Problems[i-1].Line {
					t.Errorf("problems not in line order: %d after %d", se.Problems[i].Line, se.Problems[i-1].Line)
				}
			}
			golden(t, strings.TrimSuffix(path, ".yaml")+".err", []byte(err.Error()+"\n"))
		})
	}
}

func TestMessagesNameFileLineAndField(t *testing.T) {
	base := "kind: Service\nid: /shop/web\nimage: registry.local/web:1\n"
	tests := []struct {
		name string
		add  string
		want string
	}{
		{"unknown field with a close name", "memory_mb: 256\n", `web.yaml:4: unknown field "memory_mb" (did you mean "mem"?)`},
		{"unknown field with nothing close", "zzz: 1\n", `web.yaml:4: unknown field "zzz"`},
		{"name from another tool", "replicas: 2\n", `web.yaml:4: unknown field "replicas" (did you mean "instances"?)`},
		{"case slip", "portmappings: []\n", `web.yaml:4: unknown field "portmappings" (did you mean "portMappings"?)`},
		{"negative instances", "instances: -1\n", `web.yaml:4: instances: -1 is not allowed (want 0 or more)`},
		{"fraction above 1", "upgradeStrategy:\n  minimumHealthCapacity: 1.5\n", `web.yaml:5: upgradeStrategy.minimumHealthCapacity: 1.5 is not between 0 and 1`},
		{"fraction below 0", "upgradeStrategy: {maximumOverCapacity: -0.5}\n", `web.yaml:4: upgradeStrategy.maximumOverCapacity: -0.5 is not between 0 and 1`},
		{"bad constraint", "constraints:\n  - [hostname, UNIQUE]\n  - [rack, NEAR]\n", `web.yaml:6: constraints[1]: constraint ["rack" "NEAR"]: unknown operator "NEAR" (want UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER or IS)`},
		{"float for an int", "instances: 2.5\n", `web.yaml:4: instances: want a whole number, got 2.5`},
		{"string for a number", "cpus: one\n", `web.yaml:4: cpus: want a number, got "one"`},
		{"number for a duration", "autoscale: {target: 1, max: 2, stableWindow: 60}\n", `web.yaml:4: autoscale.stableWindow: want a duration like 60s, got 60 (write 60s for seconds)`},
		{"cpus too small", "cpus: 0.0001\n", `web.yaml:4: cpus: 0.0001 is too small (want at least 0.001)`},
		{"port out of range", "portMappings: [{containerPort: 65536}]\n", `web.yaml:4: portMappings[0].containerPort: 65536 is not a port (want 1 to 65535)`},
		{"health check protocol", "portMappings: [{containerPort: 80}]\nhealthChecks: [{protocol: http}]\n", `web.yaml:5: healthChecks[0].protocol: "http" is not HTTP, HTTPS, TCP or COMMAND`},
		{"kill selection", "killSelection: RANDOM\n", `web.yaml:4: killSelection: "RANDOM" is not YOUNGEST_FIRST or OLDEST_FIRST`},
		{"strategy", "strategy: random\n", `web.yaml:4: strategy: "random" is not spread or binpack`},
		{"autoscale max under min", "autoscale: {target: 1, min: 3, max: 2}\n", `web.yaml:4: autoscale.max: 2 is less than min (3)`},
		{"autoscale utilization", "autoscale: {target: 1, max: 2, targetUtilization: 0}\n", `web.yaml:4: autoscale.targetUtilization: 0 is not between 0 (excluded) and 1`},
		{"panic threshold", "autoscale: {target: 1, max: 2, panicThreshold: 0.5}\n", `web.yaml:4: autoscale.panicThreshold: 0.5 is not allowed (want more than 1: panic when load reaches this many times the target)`},
		{"stable window too short", "autoscale: {target: 1, max: 2, stableWindow: 1s, panicWindow: 1s}\n", `web.yaml:4: autoscale.stableWindow: 1s is too short (want at least 6s)`},
		{"policy period too long", "autoscale: {target: 1, max: 2, scaleDown: {policies: [{type: Pods, value: 1, period: 1h}]}}\n", `web.yaml:4: autoscale.scaleDown.policies[0].period: 1h is too long (want at most 30m)`},
		{"cron out of range", "autoscale: {target: 1, max: 2, schedule: [{cron: \"0 24 * * *\", min: 1, for: 1h}]}\n", `web.yaml:4: autoscale.schedule[0].cron: "0 24 * * *": hour "24" is not between 0 and 23`},
		{"self dependency", "dependencies: [web]\n", `web.yaml:4: dependencies[0]: a service cannot depend on itself`},
		{"backoff factor", "backoffFactor: 0.9\n", `web.yaml:4: backoffFactor: 0.9 is too small (want 1 or more)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("web.yaml", []byte(base+tt.add))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("got  %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestDefaultsAreMarathons(t *testing.T) {
	docs, err := Load("d.yaml", []byte("kind: Service\nid: /d\nimage: x:1\nportMappings: [{containerPort: 80}]\nhealthChecks: [{}]\nautoscale: {target: 5, max: 9, fallback: {}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := docs[0].Service
	want := NewService("/d", "x:1")
	want.PortMappings = []PortMapping{{ContainerPort: 80, Protocol: "tcp"}}
	hc := NewHealthCheck()
	hc.Path = "/"
	want.HealthChecks = []HealthCheck{hc}
	var a Autoscale
	a.defaults()
	a.Target, a.Max = 5, 9
	a.Fallback = &Fallback{}
	a.Fallback.defaults()
	want.Autoscale = &a
	if !reflect.DeepEqual(*s, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", *s, want)
	}
	// Marathon's documented values, spelled out so a change to the
	// defaults above is a conscious one.
	checks := []struct {
		name      string
		got, want any
	}{
		{"instances", s.Instances, 1},
		{"cpus", s.Cpus, 1.0},
		{"mem", s.Mem, 128.0},
		{"minimumHealthCapacity", s.UpgradeStrategy.MinimumHealthCapacity, 1.0},
		{"maximumOverCapacity", s.UpgradeStrategy.MaximumOverCapacity, 1.0},
		{"killSelection", s.KillSelection, "YOUNGEST_FIRST"},
		{"backoffSeconds", s.BackoffSeconds, 1},
		{"backoffFactor", s.BackoffFactor, 1.15},
		{"maxLaunchDelaySeconds", s.MaxLaunchDelaySeconds, 300},
		{"healthCheck protocol", hc.Protocol, "HTTP"},
		{"gracePeriodSeconds", s.HealthChecks[0].GracePeriodSeconds, 300},
		{"intervalSeconds", s.HealthChecks[0].IntervalSeconds, 60},
		{"timeoutSeconds", s.HealthChecks[0].TimeoutSeconds, 20},
		{"maxConsecutiveFailures", s.HealthChecks[0].MaxConsecutiveFailures, 3},
		{"strategy", s.Strategy, "spread"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestCheckDependenciesFindsCycles(t *testing.T) {
	svc := func(id string, deps ...string) Service {
		s := NewService(id, "x:1")
		s.Dependencies = deps
		return s
	}
	tests := []struct {
		name string
		all  []Service
		want []string // nil: no cycle
	}{
		{"chain", []Service{svc("/a", "/b"), svc("/b", "/c"), svc("/c")}, nil},
		{"diamond", []Service{svc("/a", "/b", "/c"), svc("/b", "/d"), svc("/c", "/d"), svc("/d")}, nil},
		{"missing dependency is not a cycle", []Service{svc("/a", "/nowhere")}, nil},
		{"two", []Service{svc("/a", "/b"), svc("/b", "/a")}, []string{"/a", "/b", "/a"}},
		{"three, any order", []Service{svc("/c", "/a"), svc("/b", "/c"), svc("/a", "/b")}, []string{"/a", "/b", "/c", "/a"}},
		{"self", []Service{svc("/a", "/a")}, []string{"/a", "/a"}},
		{"cycle behind a chain", []Service{svc("/a", "/x"), svc("/x", "/y"), svc("/y", "/x")}, []string{"/x", "/y", "/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckDependencies(tt.all)
			var ce *CycleError
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want *CycleError", err)
			}
			if !reflect.DeepEqual(ce.Cycle, tt.want) {
				t.Errorf("cycle %v, want %v", ce.Cycle, tt.want)
			}
		})
	}
}

func TestCanonicalIDResolvesLikeMarathon(t *testing.T) {
	tests := []struct {
		id, base, want, err string
	}{
		{"/shop/web", "/other", "/shop/web", ""},
		{"web", "/shop", "/shop/web", ""},
		{"./web", "/shop", "/shop/web", ""},
		{"../db", "/shop/front", "/shop/db", ""},
		{"web/", "/", "/web", ""},
		{"a.b-c/d1", "/", "/a.b-c/d1", ""},
		{"../x", "/", "", `"../x" goes above the root`},
		{"/Shop", "/", "", `"/Shop" is not a valid id: part "Shop" must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`},
		{"/a/-b", "/", "", `"/a/-b" is not a valid id: part "-b" must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`},
		{"/", "/", "", `"/" is not a service id (want a path like /shop/web)`},
		{"", "/", "", `"" is not a service id (want a path like /shop/web)`},
	}
	for _, tt := range tests {
		t.Run(tt.id+" in "+tt.base, func(t *testing.T) {
			got, err := CanonicalID(tt.id, tt.base)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestCronSyntax(t *testing.T) {
	tests := []struct {
		expr string
		ok   bool
	}{
		{"0 8 * * 1-5", true},
		{"*/5 * * * *", true},
		{"0 0 1,15 jan-jun sun", true},
		{"0 0 * * 7", true},
		{"@hourly", true},
		{"0 8 * *", false},
		{"60 * * * *", false},
		{"* * 0 * *", false},
		{"* * * 13 *", false},
		{"*/0 * * * *", false},
		{"5-1 * * * *", false},
		{"@sometimes", false},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			if err := checkCron(tt.expr); (err == nil) != tt.ok {
				t.Errorf("checkCron(%q) = %v, want ok=%v", tt.expr, err, tt.ok)
			}
		})
	}
}

func TestDurationEncodesAsString(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{`"60s"`, `"1m"`},
		{`"1h30m"`, `"1h30m"`},
		{`"10h"`, `"10h"`},
		{`"250ms"`, `"250ms"`},
		{`"0s"`, `"0s"`},
	}
	for _, tt := range tests {
		var d Duration
		if err := json.Unmarshal([]byte(tt.in), &d); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		got, err := json.Marshal(d)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s → %s (%v), want %s", tt.in, got, err, tt.want)
		}
	}
	var d Duration
	if err := json.Unmarshal([]byte(`60`), &d); err == nil {
		t.Error("a bare number was taken as a duration")
	}
}

func TestPlacementParsesConstraints(t *testing.T) {
	docs, err := Load("p.yaml", []byte("kind: Service\nid: /p\nimage: x:1\nconstraints: [[rack, GROUP_BY, 3], [hostname, UNIQUE]]\n"))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := docs[0].Service.Placement()
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].N != 3 || cs[0].Field != "rack" || cs[1].Operator != "UNIQUE" {
		t.Errorf("placement %+v", cs)
	}
}

func TestEncodeIsStable(t *testing.T) {
	data, err := os.ReadFile("testdata/valid/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := Load("full.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := Encode(&a, docs); err != nil {
		t.Fatal(err)
	}
	if err := Encode(&b, docs); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Error("two encodings of the same documents differ")
	}
	golden(t, "testdata/encoded/full.yaml", a.Bytes())
	if err := Encode(&a, []Document{{Kind: KindAlertRule}}); err == nil {
		t.Error("an AlertRule document was encoded by a version that cannot load it")
	}
}

func TestCheckServicePortsFindsConflicts(t *testing.T) {
	svc := func(id string, ports ...PortMapping) Service {
		s := NewService(id, "x:1")
		s.PortMappings = ports
		return s
	}
	tcp := func(sp int) PortMapping { return PortMapping{ContainerPort: 80, ServicePort: sp, Protocol: "tcp"} }
	udp := func(sp int) PortMapping { return PortMapping{ContainerPort: 80, ServicePort: sp, Protocol: "udp"} }
	tests := []struct {
		name string
		all  []Service
		want string
	}{
		{"distinct ports", []Service{svc("/a", tcp(10001)), svc("/b", tcp(10002))}, ""},
		{"zero means none", []Service{svc("/a", tcp(0)), svc("/b", tcp(0))}, ""},
		{"same port, other protocol", []Service{svc("/a", tcp(53)), svc("/b", udp(53))}, ""},
		{"same port", []Service{svc("/a", tcp(10001)), svc("/b", tcp(10001))}, "servicePort 10001/tcp is used by both /a and /b"},
		{"twice in one service", []Service{svc("/a", tcp(10001), tcp(10001))}, "servicePort 10001/tcp is used by both /a and /a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckServicePorts(tt.all)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var pe *PortConflictError
			if !errors.As(err, &pe) || err.Error() != tt.want {
				t.Errorf("error %v, want %s", err, tt.want)
			}
		})
	}
}
