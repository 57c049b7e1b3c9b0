package state

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/spec"
)

func TestInstanceJSONHasTheFieldsTheCLIPromises(t *testing.T) {
	in := Instance{
		ID: "web-1a2b", Service: "/shop/web", Node: "n1", State: Running, Healthy: true,
		Image: "web:1", ContainerID: "abc", HostPorts: []int{31001, 31002},
		StartedAt: time.Date(2026, 11, 23, 10, 0, 0, 500, time.UTC),
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "service", "node", "state", "healthy", "image", "containerId", "hostPorts", "startedAt"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	if m["state"] != "running" || m["startedAt"] != "2026-11-23T10:00:00.0000005Z" {
		t.Errorf("state/startedAt encoded as %v / %v", m["state"], m["startedAt"])
	}
}

func TestInstanceKeysRoundTrip(t *testing.T) {
	tests := []struct{ node, instance, key string }{
		{"n1", "web-1", "n1.web-1"},
		{"node.example.com", "a/b c", "node_example_com.a_b_c"},
	}
	for _, tc := range tests {
		key := InstanceKey(tc.node, tc.instance)
		if key != tc.key {
			t.Errorf("InstanceKey(%q, %q) = %q, want %q", tc.node, tc.instance, key, tc.key)
		}
		if _, _, err := ParseInstanceKey(key); err != nil {
			t.Errorf("ParseInstanceKey(%q): %v", key, err)
		}
	}
	for _, bad := range []string{"", "n1", ".x", "n1.", "n1.a.b"} {
		if _, _, err := ParseInstanceKey(bad); err == nil || !strings.Contains(err.Error(), "not a <node>.<instance> key") {
			t.Errorf("ParseInstanceKey(%q) = %v", bad, err)
		}
	}
}

func TestStatesAreValid(t *testing.T) {
	for _, s := range []InstanceState{Pending, Starting, Running, Stopping, Stopped, Failed, Lost} {
		if !s.Valid() {
			t.Errorf("%s not valid", s)
		}
	}
	if InstanceState("zombie").Valid() {
		t.Error("zombie is valid")
	}
}

func TestSpecVersionChangesWithWhatContainersRunOnly(t *testing.T) {
	base := spec.NewService("/shop/web", "web:1")
	v := SpecVersion(base)
	same := base
	same.Instances = 40
	same.Priority = 7
	if SpecVersion(same) != v {
		t.Error("scaling or re-prioritising changed the version")
	}
	changed := base
	changed.Image = "web:2"
	if SpecVersion(changed) == v {
		t.Error("a new image kept the version")
	}
	env := base
	env.Env = map[string]string{"LOG_LEVEL": "debug"}
	if SpecVersion(env) == v {
		t.Error("a new env kept the version")
	}
}
