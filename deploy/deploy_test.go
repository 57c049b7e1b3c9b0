package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"gopkg.in/yaml.v3"
)

type compose struct {
	Name     string `yaml:"name"`
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		User        string            `yaml:"user"`
		NetworkMode string            `yaml:"network_mode"`
		PID         string            `yaml:"pid"`
		Volumes     []string          `yaml:"volumes"`
		Environment map[string]string `yaml:"environment"`
		DependsOn   yaml.Node         `yaml:"depends_on"`
		Ports       []string          `yaml:"ports"`
		Restart     string            `yaml:"restart"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

func readCompose(t *testing.T) compose {
	t.Helper()
	b, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

func TestComposeHasTheFullStack(t *testing.T) {
	c := readCompose(t)
	for _, name := range []string{"nats", "influxdb", "grafana-provisioning", "grafana", "server", "agent"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("service %s missing", name)
		}
	}
	s := c.Services
	if !slices.Contains(s["nats"].Command, "--jetstream") {
		t.Errorf("nats runs without JetStream: %v", s["nats"].Command)
	}
	if !strings.HasPrefix(s["influxdb"].Image, "influxdb:1.8") {
		t.Errorf("influxdb image %q, want 1.8", s["influxdb"].Image)
	}
	for name, image := range map[string]string{"grafana-provisioning": "swell:latest", "server": "swell:latest", "agent": "swell-node:latest"} {
		if s[name].Image != image {
			t.Errorf("%s: image %q, want %s (deploy/Dockerfile)", name, s[name].Image, image)
		}
	}
	if cmd := s["server"].Command; len(cmd) == 0 || cmd[0] != "server" {
		t.Errorf("server command %v", cmd)
	}
	if cmd := s["agent"].Command; len(cmd) == 0 || cmd[0] != "agent" {
		t.Errorf("agent command %v", cmd)
	}
	if cmd := s["grafana-provisioning"].Command; len(cmd) < 2 || cmd[0] != "dashboards" || cmd[1] != "export" {
		t.Errorf("provisioning command %v", cmd)
	}
	if !slices.Contains(s["grafana"].Volumes, "grafana-provisioning:/etc/grafana/provisioning:ro") {
		t.Errorf("grafana does not read the provisioning volume: %v", s["grafana"].Volumes)
	}
	var provisionWaits bool
	for i := 0; i+1 < len(s["grafana"].DependsOn.Content); i += 2 {
		k, v := s["grafana"].DependsOn.Content[i], s["grafana"].DependsOn.Content[i+1]
		if k.Value == "grafana-provisioning" && strings.Contains(yamlString(t, v), "service_completed_successfully") {
			provisionWaits = true
		}
	}
	if !provisionWaits {
		t.Error("grafana must wait for grafana-provisioning to complete")
	}
	ag := s["agent"]
	for _, v := range []string{"/var/run/docker.sock:/var/run/docker.sock", "/sys/fs/cgroup:/host/sys/fs/cgroup:ro"} {
		if !slices.Contains(ag.Volumes, v) {
			t.Errorf("agent lacks volume %s", v)
		}
	}
	if ag.NetworkMode != "host" || ag.PID != "host" {
		t.Errorf("agent: network_mode %q pid %q, want host and host", ag.NetworkMode, ag.PID)
	}
	if i := slices.Index(ag.Command, "--cgroup-root"); i < 0 || ag.Command[i+1] != "/host/sys/fs/cgroup" {
		t.Errorf("agent --cgroup-root must name the mounted cgroup tree: %v", ag.Command)
	}
	if !strings.Contains(s["server"].Environment["SWELL_API_TOKEN"], "${SWELL_API_TOKEN:?") {
		t.Error("the server listens beyond loopback: SWELL_API_TOKEN must be required")
	}
	for name, svc := range s {
		for _, v := range svc.Volumes {
			src := strings.Split(v, ":")[0]
			if !strings.HasPrefix(src, "/") {
				if _, ok := c.Volumes[src]; !ok {
					t.Errorf("%s: volume %s is not declared", name, src)
				}
			}
		}
	}
}

func yamlString(t *testing.T, n *yaml.Node) string {
	t.Helper()
	b, err := yaml.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDockerfileIsAStaticBinaryFromScratch(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var from, entry []string
	for _, line := range strings.Split(string(b), "\n") {
		switch f := strings.Fields(line); {
		case len(f) > 1 && f[0] == "FROM":
			from = append(from, f[1])
		case len(f) > 1 && f[0] == "ENTRYPOINT":
			entry = f[1:]
		}
	}
	if !slices.Equal(from, []string{"scratch"}) || strings.Join(entry, " ") != `["/swell"]` {
		t.Errorf("FROM %v ENTRYPOINT %v", from, entry)
	}
	if !strings.Contains(string(b), "CGO_ENABLED=0 go build") {
		t.Error("the Dockerfile must say how to build the static binary")
	}
	// The agent's image holds the node build, which the same Dockerfile
	// copies under the same name.
	for _, want := range []string{"go build -tags swellnode", "--build-arg BINARY=swell-node -t swell-node:latest", "ARG BINARY=swell", "COPY ${BINARY} /swell"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
}

func TestNATSClusterConfigsFormOneCluster(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("nats-cluster", "nats-*.conf"))
	if err != nil || len(files) != 3 {
		t.Fatalf("files %v (%v), want three", files, err)
	}
	names := map[string]bool{}
	for _, f := range files {
		o, err := server.ProcessConfigFile(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !o.JetStream || o.StoreDir == "" {
			t.Errorf("%s: JetStream off or without store_dir", f)
		}
		if o.Cluster.Name != "swell" || o.Cluster.Port != 6222 || len(o.Routes) != 2 {
			t.Errorf("%s: cluster %q port %d routes %v, want swell, 6222 and the two others", f, o.Cluster.Name, o.Cluster.Port, o.Routes)
		}
		names[o.ServerName] = true
	}
	if len(names) != 3 {
		t.Errorf("server names %v, want three distinct", names)
	}
}

func TestSystemdUnitsRunSwell(t *testing.T) {
	for unit, cmd := range map[string]string{"swell-agent.service": "agent", "swell-server.service": "server"} {
		b, err := os.ReadFile(filepath.Join("systemd", unit))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, want := range []string{"[Unit]", "[Service]", "[Install]", "ExecStart=/usr/local/bin/swell " + cmd, "EnvironmentFile=/etc/swell/" + cmd + ".env", "WantedBy=multi-user.target"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s lacks %q", unit, want)
			}
		}
	}
}
