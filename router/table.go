package router

import (
	"fmt"
	"net"
	"sort"
	"strconv"

	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/spec"
)

// Proxy modes: a service's protocol field.
const (
	ModeHTTP = spec.ProtocolModeHTTP
	ModeH2C  = spec.ProtocolModeH2C
	ModeTCP  = spec.ProtocolModeTCP
)

// Traffic is the split of a service's requests between versions, kept in
// its record in swell_services (see state.Traffic).
type Traffic = state.Traffic

// serviceRecord is a swell_services value.
type serviceRecord = state.ServiceRecord

// route is what one servicePort serves.
type route struct {
	Port        int
	Service     string
	PortIndex   int
	Mode        string
	Concurrency int
	ScaleToZero bool
	Weights     map[string]int
	Targets     []target
}

// target is one instance of a route's service.
type target struct {
	Key, Instance, Node, Version string
	// Addr is host:port on the instance's node; empty when unknown.
	Addr string
	// Ready: running, healthy, not asked to stop, address known.
	Ready bool
}

// snapshot is the state the routes are built from.
type snapshot struct {
	services   map[string]serviceRecord   // by key
	instances  map[string]state.Instance  // by key
	nodes      map[string]state.Node      // by node name
	placements map[string]state.Placement // by key
}

func newSnapshot() *snapshot {
	return &snapshot{
		services:   map[string]serviceRecord{},
		instances:  map[string]state.Instance{},
		nodes:      map[string]state.Node{},
		placements: map[string]state.Placement{},
	}
}

// buildRoutes turns the state into one route per servicePort, sorted by
// port. Problems (a bad label, a UDP servicePort) come back as warnings
// and leave the port out; they never stop the other routes.
func buildRoutes(s *snapshot) ([]route, []string) {
	var (
		out  []route
		warn []string
	)
	byService := map[string][]state.Instance{}
	for key, in := range s.instances {
		if in.Service == "" {
			continue
		}
		if in.Node == "" || in.ID == "" {
			if n, id, err := state.ParseInstanceKey(key); err == nil {
				in.Node, in.ID = n, id
			}
		}
		byService[in.Service] = append(byService[in.Service], in)
	}
	for _, rec := range s.services {
		svc := rec.Spec
		mode := svc.Protocol
		if mode == "" {
			mode = ModeHTTP
		}
		if mode != ModeHTTP && mode != ModeH2C && mode != ModeTCP {
			warn = append(warn, fmt.Sprintf("service %s: protocol %q: want http, h2c or tcp; its servicePorts are not served", svc.ID, mode))
			continue
		}
		conc := max(svc.ContainerConcurrency, 0)
		var weights map[string]int
		if rec.Traffic != nil && len(rec.Traffic.Weights) > 0 {
			weights = rec.Traffic.Weights
		}
		insts := byService[svc.ID]
		sort.Slice(insts, func(i, j int) bool { return insts[i].Key() < insts[j].Key() })
		for i, pm := range svc.PortMappings {
			if pm.ServicePort == 0 {
				continue
			}
			if pm.Protocol == "udp" {
				warn = append(warn, fmt.Sprintf("service %s: portMappings[%d]: servicePort %d is UDP, which the router does not proxy", svc.ID, i, pm.ServicePort))
				continue
			}
			r := route{
				Port: pm.ServicePort, Service: svc.ID, PortIndex: i, Mode: mode, Concurrency: conc,
				ScaleToZero: svc.Autoscale != nil && svc.Autoscale.ScaleToZero.Enabled,
				Weights:     weights,
			}
			for _, in := range insts {
				r.Targets = append(r.Targets, s.target(in, i))
			}
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	// Two services on one port: the spec's cross-checks refuse it, but
	// records written otherwise could; the first by service id keeps it.
	dedup := out[:0]
	for _, r := range out {
		if n := len(dedup); n > 0 && dedup[n-1].Port == r.Port {
			keep := &dedup[n-1]
			if r.Service < keep.Service {
				*keep, r = r, *keep
			}
			warn = append(warn, fmt.Sprintf("servicePort %d is claimed by %s and %s; %s keeps it", r.Port, keep.Service, r.Service, keep.Service))
			continue
		}
		dedup = append(dedup, r)
	}
	return dedup, warn
}

func (s *snapshot) target(in state.Instance, portIndex int) target {
	t := target{Key: in.Key(), Instance: in.ID, Node: in.Node, Version: in.Version}
	if n, ok := s.nodes[in.Node]; ok && n.Addr != "" && portIndex < len(in.HostPorts) && in.HostPorts[portIndex] > 0 {
		t.Addr = net.JoinHostPort(n.Addr, strconv.Itoa(in.HostPorts[portIndex]))
	}
	stop := false
	if p, ok := s.placements[t.Key]; ok {
		stop = p.Stop
	}
	t.Ready = in.State == state.Running && in.Healthy && !stop && t.Addr != ""
	return t
}
