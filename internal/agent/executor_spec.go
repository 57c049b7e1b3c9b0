package agent

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/swell-pipeline/swell/collector/inputs/connections"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/scheduler/health"
	"github.com/swell-pipeline/swell/scheduler/runtime"
	"github.com/swell-pipeline/swell/spec"
)

// containerSpec turns a placement into what the runtime creates. Published
// ports bind to bindIP only, so several agents on one host (127.0.0.2,
// 127.0.0.3 …) keep their ports apart.
func containerSpec(p state.Placement, node, bindIP string) (runtime.Spec, error) {
	s := p.Spec
	if s == nil {
		return runtime.Spec{}, fmt.Errorf("placement %s of %s carries no service spec", p.ID, p.Service)
	}
	rs := runtime.Spec{
		Service:  p.Service,
		Instance: p.ID,
		Node:     node,
		Version:  p.Version,
		Image:    s.Image,
		Env:      maps.Clone(s.Env),
		CPUs:     s.Cpus,
		MemMiB:   s.Mem,
		BindIP:   bindIP,
		Labels:   maps.Clone(s.Labels),
	}
	// cmd replaces the image's entrypoint; args only its command.
	switch {
	case len(s.Cmd) > 0:
		rs.Entrypoint = s.Cmd
		rs.Cmd = []string{}
	case len(s.Args) > 0:
		rs.Cmd = s.Args
	}
	for _, pm := range s.PortMappings {
		rs.Ports = append(rs.Ports, runtime.PortMapping{ContainerPort: pm.ContainerPort, HostPort: pm.HostPort, Protocol: pm.Protocol})
	}
	if routed(s) && s.Protocol != spec.ProtocolModeTCP {
		// The routers count its requests exactly; the connections input
		// counts only the containers they do not (TCP services, services
		// without a servicePort).
		if rs.Labels == nil {
			rs.Labels = map[string]string{}
		}
		rs.Labels[connections.LabelRouted] = "true"
	}
	return rs, nil
}

// launchBackoff reads Marathon's backoff fields; a spec without them (a
// hand-written placement) gets Marathon's defaults.
func launchBackoff(s *spec.Service) runtime.Backoff {
	if s == nil {
		return runtime.DefaultBackoff()
	}
	b := runtime.Backoff{
		Initial:        time.Duration(s.BackoffSeconds) * time.Second,
		Factor:         s.BackoffFactor,
		MaxLaunchDelay: time.Duration(s.MaxLaunchDelaySeconds) * time.Second,
	}
	if b.Factor == 0 {
		b.Factor = spec.DefaultBackoffFactor
	}
	if b.Validate() != nil {
		return runtime.DefaultBackoff()
	}
	return b
}

// healthChecks converts a service's checks for the checker. A check with
// a fixed port gets that port appended to the instance's host ports, since
// the checker addresses ports by index only. It returns the extra ports.
func healthChecks(hcs []spec.HealthCheck, ports int) ([]health.Check, []int, error) {
	var (
		out   []health.Check
		extra []int
	)
	for i, h := range hcs {
		c := health.Check{
			Protocol:               health.Protocol(strings.ToUpper(h.Protocol)),
			Path:                   h.Path,
			PortIndex:              h.PortIndex,
			GracePeriod:            time.Duration(h.GracePeriodSeconds) * time.Second,
			Interval:               time.Duration(h.IntervalSeconds) * time.Second,
			Timeout:                time.Duration(h.TimeoutSeconds) * time.Second,
			MaxConsecutiveFailures: h.MaxConsecutiveFailures,
			IgnoreHTTP1xx:          h.IgnoreHTTP1xx,
		}
		if c.Interval <= 0 {
			c.Interval = health.DefaultInterval
		}
		if c.Timeout <= 0 {
			c.Timeout = health.DefaultTimeout
		}
		if c.Protocol == health.COMMAND && h.Command != nil {
			// Marathon runs the command through a shell; the spec promises
			// the same.
			c.Command = []string{"/bin/sh", "-c", h.Command.Value}
		}
		if h.Port != 0 && c.Protocol != health.COMMAND {
			c.PortIndex = ports + len(extra)
			extra = append(extra, h.Port)
		}
		if err := c.Validate(ports + len(extra)); err != nil {
			return nil, nil, fmt.Errorf("healthChecks[%d]: %w", i, err)
		}
		out = append(out, c)
	}
	return out, extra, nil
}
