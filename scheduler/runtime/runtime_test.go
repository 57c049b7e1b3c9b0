package runtime

import (
	"reflect"
	"testing"
	"time"
)

func TestContainerName(t *testing.T) {
	tests := []struct {
		name, node, instance, want string
	}{
		{"plain names are kept", "node-1", "web.3f2a", "swell.node-1.web.3f2a"},
		{"slashes of service paths become dashes", "n1", "/shop/web.1", "swell.n1.-shop-web.1"},
		{"other characters become dashes", "host a:b", "x@y", "swell.host-a-b.x-y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ContainerName(tt.node, tt.instance); got != tt.want {
				t.Errorf("ContainerName(%q, %q) = %q, want %q", tt.node, tt.instance, got, tt.want)
			}
		})
	}
}

func TestOrphans(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := func(id, inst string, st State, started time.Duration) Container {
		return Container{ID: id, Instance: inst, State: st, StartedAt: t0.Add(started)}
	}
	set := func(ids ...string) map[string]struct{} {
		m := map[string]struct{}{}
		for _, id := range ids {
			m[id] = struct{}{}
		}
		return m
	}
	tests := []struct {
		name    string
		listed  []Container
		desired map[string]struct{}
		want    []string // container IDs
	}{
		{"all desired: nothing to remove",
			[]Container{c("c1", "a", StateRunning, 0), c("c2", "b", StateExited, 0)}, set("a", "b"), nil},
		{"undesired instances are orphans",
			[]Container{c("c1", "a", StateRunning, 0), c("c2", "b", StateRunning, 0)}, set("a"), []string{"c2"}},
		{"nothing desired: every container is an orphan",
			[]Container{c("c2", "b", StateRunning, 0), c("c1", "a", StateCreated, 0)}, set(), []string{"c1", "c2"}},
		{"a container without instance label is an orphan",
			[]Container{c("c1", "", StateRunning, 0)}, set(""), []string{"c1"}},
		{"of duplicates the running one is kept",
			[]Container{c("c1", "a", StateExited, 2*time.Second), c("c2", "a", StateRunning, time.Second)}, set("a"), []string{"c1"}},
		{"of duplicates in the same state the newest is kept",
			[]Container{c("c1", "a", StateRunning, 2*time.Second), c("c2", "a", StateRunning, time.Second), c("c3", "a", StateRunning, 3*time.Second)}, set("a"), []string{"c1", "c2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, o := range Orphans(tt.listed, tt.desired) {
				got = append(got, o.ID)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Orphans = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDockerConfigRejectsImpossibleSpecs(t *testing.T) {
	base := Spec{Service: "/s", Instance: "s.1", Node: "n", Image: "img"}
	tests := []struct {
		name   string
		modify func(*Spec)
	}{
		{"no image", func(s *Spec) { s.Image = "" }},
		{"no node", func(s *Spec) { s.Node = "" }},
		{"negative cpus", func(s *Spec) { s.CPUs = -1 }},
		{"container port zero", func(s *Spec) { s.Ports = []PortMapping{{ContainerPort: 0}} }},
		{"host port too big", func(s *Spec) { s.Ports = []PortMapping{{ContainerPort: 80, HostPort: 70000}} }},
		{"unknown protocol", func(s *Spec) { s.Ports = []PortMapping{{ContainerPort: 80, Protocol: "sctp"}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			tt.modify(&s)
			if _, _, err := dockerConfig(s); err == nil {
				t.Errorf("dockerConfig(%+v) accepted it", s)
			}
		})
	}
}

func TestDockerConfigLabelsWinOverUserLabels(t *testing.T) {
	s := Spec{Service: "/s", Instance: "s.1", Node: "n", Version: "v1", Image: "img",
		Labels: map[string]string{LabelNode: "other", "team": "x"}}
	cfg, _, err := dockerConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{LabelService: "/s", LabelInstance: "s.1", LabelNode: "n", LabelVersion: "v1", "team": "x"}
	if !reflect.DeepEqual(cfg.Labels, want) {
		t.Errorf("labels = %v, want %v", cfg.Labels, want)
	}
}
