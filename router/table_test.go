package router

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/spec"
)

func TestBuildRoutes(t *testing.T) {
	svc := func(id string, port int, labels map[string]string, mod func(*spec.Service)) serviceRecord {
		s := spec.NewService(id, "img:1")
		s.Labels = labels
		s.PortMappings = []spec.PortMapping{{ContainerPort: 80, ServicePort: port, Protocol: "tcp"}}
		if mod != nil {
			mod(&s)
		}
		return state.ServiceRecord{Spec: s}
	}
	inst := func(node, id string, st state.InstanceState, healthy bool, ports ...int) state.Instance {
		return state.Instance{ID: id, Service: "/a", Node: node, Version: "v1", State: st, Healthy: healthy, HostPorts: ports}
	}
	snap := func(svcs ...serviceRecord) *snapshot {
		s := newSnapshot()
		for _, r := range svcs {
			s.services[state.ServiceKey(r.Spec.ID)] = r
		}
		s.nodes["n1"] = state.Node{Name: "n1", Addr: "10.0.0.1"}
		s.nodes["n2"] = state.Node{Name: "n2", Addr: "10.0.0.2"}
		for _, in := range []state.Instance{
			inst("n1", "ok", state.Running, true, 31001),
			inst("n2", "remote", state.Running, true, 31002),
			inst("n1", "sick", state.Running, false, 31003),
			inst("n1", "starting", state.Starting, false),
			inst("n3", "nodeless", state.Running, true, 31004),
			inst("n1", "stopping", state.Running, true, 31005),
		} {
			s.instances[in.Key()] = in
		}
		s.placements[state.InstanceKey("n1", "stopping")] = state.Placement{ID: "stopping", Node: "n1", Stop: true}
		return s
	}
	tests := []struct {
		name  string
		snap  *snapshot
		ports []int
		ready []string
		mode  string
		conc  int
		warn  string
	}{
		{name: "ready instances on every node", snap: snap(svc("/a", 10001, nil, nil)), ports: []int{10001}, ready: []string{"10.0.0.1:31001", "10.0.0.2:31002"}, mode: ModeHTTP},
		{name: "tcp and a cap", snap: snap(svc("/a", 10001, nil, func(s *spec.Service) { s.Protocol, s.ContainerConcurrency = "tcp", 4 })), ports: []int{10001}, ready: []string{"10.0.0.1:31001", "10.0.0.2:31002"}, mode: ModeTCP, conc: 4},
		{name: "unknown protocol: port left out", snap: snap(svc("/a", 10001, nil, func(s *spec.Service) { s.Protocol = "quic" })), warn: `protocol "quic"`},
		{name: "udp is not proxied", snap: snap(svc("/a", 10001, nil, func(s *spec.Service) { s.PortMappings[0].Protocol = "udp" })), warn: "UDP"},
		{name: "no servicePort, no route", snap: snap(svc("/a", 0, nil, nil))},
		{name: "a port claimed twice goes to the first id", snap: snap(svc("/a", 10001, nil, nil), svc("/b", 10001, nil, nil)), ports: []int{10001}, ready: []string{"10.0.0.1:31001", "10.0.0.2:31002"}, mode: ModeHTTP, warn: "claimed by /a and /b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			routes, warns := buildRoutes(tc.snap)
			var ports []int
			for _, r := range routes {
				ports = append(ports, r.Port)
			}
			if len(ports) != len(tc.ports) || (len(ports) > 0 && ports[0] != tc.ports[0]) {
				t.Fatalf("ports = %v, want %v (warnings %q)", ports, tc.ports, warns)
			}
			if tc.warn == "" && len(warns) > 0 || tc.warn != "" && !strings.Contains(strings.Join(warns, "\n"), tc.warn) {
				t.Errorf("warnings %q, want one with %q", warns, tc.warn)
			}
			if len(routes) == 0 {
				return
			}
			r := routes[0]
			if r.Service != "/a" || r.Mode != tc.mode || r.Concurrency != tc.conc {
				t.Errorf("route = %s %s cap %d; want /a %s cap %d", r.Service, r.Mode, r.Concurrency, tc.mode, tc.conc)
			}
			var ready []string
			for _, tg := range r.Targets {
				if tg.Ready {
					ready = append(ready, tg.Addr)
				}
			}
			if strings.Join(ready, ",") != strings.Join(tc.ready, ",") {
				t.Errorf("ready = %v, want %v", ready, tc.ready)
			}
		})
	}
}

func TestServiceRecordCarriesTheTrafficSplit(t *testing.T) {
	raw := `{"spec": {"id": "/a", "image": "x", "portMappings": [{"containerPort": 80, "servicePort": 10001, "protocol": "tcp"}]},
	         "version": "new", "traffic": {"weights": {"old": 90, "new": 10}}}`
	var rec serviceRecord
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		t.Fatal(err)
	}
	s := newSnapshot()
	s.services["a"] = rec
	routes, _ := buildRoutes(s)
	if len(routes) != 1 || routes[0].Weights["old"] != 90 || routes[0].Weights["new"] != 10 || rec.Version != "new" {
		t.Errorf("routes = %+v, record %+v; want weights old 90, new 10", routes, rec)
	}
}
