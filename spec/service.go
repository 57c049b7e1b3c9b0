package spec

import (
	"encoding/json"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/swell-pipeline/swell/scheduler"
)

// Service is one `kind: Service` document: what to run, how many, where,
// how to check it and how to upgrade and scale it. Field names are
// Marathon's app JSON names where Marathon has the field.
//
// Every field that has a default holds it after Load, so code reading a
// Service never has to know the defaults.
type Service struct {
	// ID is the Marathon path of the service, absolute after Load
	// ("/shop/web").
	ID    string `json:"id" yaml:"id"`
	Image string `json:"image" yaml:"image"`
	// Cmd replaces the image's entrypoint and command.
	Cmd []string `json:"cmd,omitempty" yaml:"cmd,omitempty,flow"`
	// Args are given to the image's entrypoint, in place of its command.
	Args []string          `json:"args,omitempty" yaml:"args,omitempty,flow"`
	Env  map[string]string `json:"env,omitempty" yaml:"env,omitempty" spec:"anyscalar"`
	// Instances is the wanted count when the service is not autoscaled, and
	// the starting count when it is.
	Instances int     `json:"instances" yaml:"instances"`
	Cpus      float64 `json:"cpus" yaml:"cpus"`
	// Mem is the memory limit in MiB.
	Mem          float64       `json:"mem" yaml:"mem"`
	PortMappings []PortMapping `json:"portMappings,omitempty" yaml:"portMappings,omitempty"`
	// Constraints are Marathon's [field, OPERATOR, value?] triples; see
	// Placement for the parsed form.
	Constraints     [][]string        `json:"constraints,omitempty" yaml:"constraints,omitempty,flow" spec:"anyscalar"`
	HealthChecks    []HealthCheck     `json:"healthChecks,omitempty" yaml:"healthChecks,omitempty"`
	UpgradeStrategy UpgradeStrategy   `json:"upgradeStrategy" yaml:"upgradeStrategy,flow"`
	Dependencies    []string          `json:"dependencies,omitempty" yaml:"dependencies,omitempty,flow"`
	Labels          map[string]string `json:"labels,omitempty" yaml:"labels,omitempty" spec:"anyscalar"`
	// Priority decides who gives up instances when the cluster is full:
	// higher keeps its instances.
	Priority      int    `json:"priority,omitempty" yaml:"priority,omitempty"`
	KillSelection string `json:"killSelection" yaml:"killSelection"`
	// BackoffSeconds, BackoffFactor and MaxLaunchDelaySeconds slow down
	// relaunches of a failing service, as Marathon does.
	BackoffSeconds        int     `json:"backoffSeconds" yaml:"backoffSeconds"`
	BackoffFactor         float64 `json:"backoffFactor" yaml:"backoffFactor"`
	MaxLaunchDelaySeconds int     `json:"maxLaunchDelaySeconds" yaml:"maxLaunchDelaySeconds"`
	// TaskKillGracePeriodSeconds is how long a stopping instance has
	// between SIGTERM and SIGKILL (0 to 3600). Nil, the default, leaves it
	// to the agent's executor (10 s). Unlike the fields that have a
	// default, it stays nil after Load, because the default is the agent's.
	// Changing it does not replace running instances (SpecVersion leaves
	// it out); an instance is stopped with the grace of the spec it was
	// placed with.
	TaskKillGracePeriodSeconds *int `json:"taskKillGracePeriodSeconds,omitempty" yaml:"taskKillGracePeriodSeconds,omitempty"`
	// Strategy is swell's own: spread (default) or binpack.
	Strategy string `json:"strategy" yaml:"strategy"`
	// Protocol is how the routers proxy the servicePorts: http (the
	// default when empty), h2c (HTTP/2 without TLS, e.g. gRPC) or tcp.
	// A port mapping's own protocol (tcp or udp) is what Docker publishes.
	Protocol string `json:"protocol,omitempty" yaml:"protocol,omitempty"`
	// ContainerConcurrency caps the requests in flight per instance at
	// each router (Knative's name); 0 is no cap.
	ContainerConcurrency int        `json:"containerConcurrency,omitempty" yaml:"containerConcurrency,omitempty"`
	Autoscale            *Autoscale `json:"autoscale,omitempty" yaml:"autoscale,omitempty"`
}

// PortMapping publishes a container port.
type PortMapping struct {
	ContainerPort int `json:"containerPort" yaml:"containerPort"`
	// HostPort 0 lets Docker choose a free port.
	HostPort int `json:"hostPort,omitempty" yaml:"hostPort,omitempty"`
	// ServicePort is the cluster-wide port the router listens on; 0 for none.
	ServicePort int    `json:"servicePort,omitempty" yaml:"servicePort,omitempty"`
	Protocol    string `json:"protocol" yaml:"protocol"`
	Name        string `json:"name,omitempty" yaml:"name,omitempty"`
}

// HealthCheck is a Marathon health check, run by the agent.
type HealthCheck struct {
	Protocol string `json:"protocol" yaml:"protocol"`
	Path     string `json:"path,omitempty" yaml:"path,omitempty"`
	// PortIndex picks the port mapping to check; Port, when set, wins.
	PortIndex              int           `json:"portIndex,omitempty" yaml:"portIndex,omitempty"`
	Port                   int           `json:"port,omitempty" yaml:"port,omitempty"`
	Command                *CommandCheck `json:"command,omitempty" yaml:"command,omitempty,flow"`
	GracePeriodSeconds     int           `json:"gracePeriodSeconds" yaml:"gracePeriodSeconds"`
	IntervalSeconds        int           `json:"intervalSeconds" yaml:"intervalSeconds"`
	TimeoutSeconds         int           `json:"timeoutSeconds" yaml:"timeoutSeconds"`
	MaxConsecutiveFailures int           `json:"maxConsecutiveFailures" yaml:"maxConsecutiveFailures"`
	IgnoreHTTP1xx          bool          `json:"ignoreHttp1xx,omitempty" yaml:"ignoreHttp1xx,omitempty"`
}

// CommandCheck is the command of a COMMAND health check, run through
// /bin/sh -c inside the container as Marathon does.
type CommandCheck struct {
	Value string `json:"value" yaml:"value"`
}

// UpgradeStrategy bounds a rolling upgrade, as fractions of instances.
type UpgradeStrategy struct {
	MinimumHealthCapacity float64 `json:"minimumHealthCapacity" yaml:"minimumHealthCapacity"`
	MaximumOverCapacity   float64 `json:"maximumOverCapacity" yaml:"maximumOverCapacity"`
}

// Autoscale is a service's scale policy.
type Autoscale struct {
	// Metric is concurrency, rps, cpu or connections.
	Metric string `json:"metric" yaml:"metric"`
	// Target is the wanted value of Metric per instance.
	Target float64 `json:"target" yaml:"target"`
	// Metrics are further metrics with their targets; each recommends a
	// count and the largest wins.
	Metrics []MetricTarget `json:"metrics,omitempty" yaml:"metrics,omitempty"`
	// TargetUtilization is the share of Target the autoscaler aims at, so
	// bursts have headroom.
	TargetUtilization float64     `json:"targetUtilization" yaml:"targetUtilization"`
	Min               int         `json:"min" yaml:"min"`
	Max               int         `json:"max" yaml:"max"`
	StableWindow      Duration    `json:"stableWindow" yaml:"stableWindow"`
	PanicWindow       Duration    `json:"panicWindow" yaml:"panicWindow"`
	PanicThreshold    float64     `json:"panicThreshold" yaml:"panicThreshold"`
	ScaleUp           ScaleRule   `json:"scaleUp" yaml:"scaleUp"`
	ScaleDown         ScaleRule   `json:"scaleDown" yaml:"scaleDown"`
	ScaleDownDelay    Duration    `json:"scaleDownDelay" yaml:"scaleDownDelay"`
	Tolerance         float64     `json:"tolerance" yaml:"tolerance"`
	ScaleToZero       ScaleToZero `json:"scaleToZero" yaml:"scaleToZero,flow"`
	Schedule          []Schedule  `json:"schedule,omitempty" yaml:"schedule,omitempty"`
	Fallback          *Fallback   `json:"fallback,omitempty" yaml:"fallback,omitempty,flow"`
}

// MetricTarget is one more metric of an autoscale block and its target
// per instance.
type MetricTarget struct {
	Metric string  `json:"metric" yaml:"metric"`
	Target float64 `json:"target" yaml:"target"`
}

// ScaleRule limits how fast one direction of scaling goes.
type ScaleRule struct {
	// Tolerance, when set, is this direction's own: changes of demand
	// smaller than this share of the count are ignored. Unset, scaling
	// down uses the block's tolerance and scaling up twice it (at most
	// 0.5), since targetUtilization already leaves headroom.
	Tolerance *float64 `json:"tolerance,omitempty" yaml:"tolerance,omitempty"`
	// MaxRate is the largest factor of change in one decision (up: ×, down: ÷).
	MaxRate float64 `json:"maxRate" yaml:"maxRate"`
	// Stabilization is how long a recommendation must hold before it acts.
	Stabilization Duration `json:"stabilization" yaml:"stabilization"`
	Policies      []Policy `json:"policies,omitempty" yaml:"policies,omitempty"`
}

// Policy is an HPA-style limit: at most Value pods (or percent) per Period.
type Policy struct {
	Type   string   `json:"type" yaml:"type"`
	Value  int      `json:"value" yaml:"value"`
	Period Duration `json:"period" yaml:"period"`
}

// ScaleToZero lets an idle service go to zero instances after Grace.
type ScaleToZero struct {
	Enabled bool     `json:"enabled" yaml:"enabled"`
	Grace   Duration `json:"grace" yaml:"grace"`
}

// Schedule raises the floor to Min for For, starting at each Cron time.
type Schedule struct {
	Cron string   `json:"cron" yaml:"cron"`
	Min  int      `json:"min" yaml:"min"`
	For  Duration `json:"for" yaml:"for"`
}

// Fallback is what the autoscaler does when its signals are missing for
// After: go to Instances, or hold the current count when Instances is nil.
type Fallback struct {
	After     Duration `json:"after" yaml:"after"`
	Instances *int     `json:"instances,omitempty" yaml:"instances,omitempty"`
}

// Marathon's defaults, and swell's for what Marathon does not have.
const (
	DefaultInstances             = 1
	DefaultCpus                  = 1.0
	DefaultMem                   = 128.0
	DefaultBackoffSeconds        = 1
	DefaultBackoffFactor         = 1.15
	DefaultMaxLaunchDelaySeconds = 300
	DefaultKillSelection         = KillYoungestFirst
	DefaultStrategy              = StrategySpread
)

// killSelection and strategy values.
const (
	KillYoungestFirst = "YOUNGEST_FIRST"
	KillOldestFirst   = "OLDEST_FIRST"
	StrategySpread    = "spread"
	StrategyBinpack   = "binpack"
)

// Router protocols (Service.Protocol).
const (
	ProtocolModeHTTP = "http"
	ProtocolModeH2C  = "h2c"
	ProtocolModeTCP  = "tcp"
)

// Health check protocols.
const (
	ProtocolHTTP    = "HTTP"
	ProtocolHTTPS   = "HTTPS"
	ProtocolTCP     = "TCP"
	ProtocolCommand = "COMMAND"
)

// Autoscale metrics.
const (
	MetricConcurrency = "concurrency"
	MetricRPS         = "rps"
	MetricCPU         = "cpu"
	MetricConnections = "connections"
)

// defaults fills a Service before its document is decoded over it.
func (s *Service) defaults() {
	s.Instances = DefaultInstances
	s.Cpus = DefaultCpus
	s.Mem = DefaultMem
	s.UpgradeStrategy = UpgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1}
	s.KillSelection = DefaultKillSelection
	s.BackoffSeconds = DefaultBackoffSeconds
	s.BackoffFactor = DefaultBackoffFactor
	s.MaxLaunchDelaySeconds = DefaultMaxLaunchDelaySeconds
	s.Strategy = DefaultStrategy
}

func (p *PortMapping) defaults() { p.Protocol = "tcp" }

func (h *HealthCheck) defaults() {
	h.Protocol = ProtocolHTTP
	h.GracePeriodSeconds = 300
	h.IntervalSeconds = 60
	h.TimeoutSeconds = 20
	h.MaxConsecutiveFailures = 3
}

func (a *Autoscale) defaults() {
	a.Metric = MetricConcurrency
	a.TargetUtilization = 0.7
	a.Min = 1
	a.StableWindow = Duration(60 * time.Second)
	a.PanicWindow = Duration(6 * time.Second)
	a.PanicThreshold = 2
	a.ScaleUp = ScaleRule{MaxRate: 1000}
	a.ScaleDown = ScaleRule{MaxRate: 2, Stabilization: Duration(10 * time.Second)}
	a.Tolerance = 0.1
	a.ScaleToZero = ScaleToZero{Grace: Duration(30 * time.Second)}
}

func (f *Fallback) defaults() { f.After = Duration(30 * time.Second) }

// NewService returns a Service with every default set, for code that builds
// one by hand (the Marathon importer, tests).
func NewService(id, image string) Service {
	var s Service
	s.defaults()
	s.ID, s.Image = id, image
	return s
}

// NewHealthCheck returns a health check with Marathon's defaults.
func NewHealthCheck() HealthCheck {
	var h HealthCheck
	h.defaults()
	return h
}

// Placement returns the parsed constraints. A Service from Load always
// parses; the error is for one built by hand.
func (s *Service) Placement() ([]scheduler.Constraint, error) {
	out := make([]scheduler.Constraint, 0, len(s.Constraints))
	for i, c := range s.Constraints {
		pc, err := scheduler.ParseConstraint(c)
		if err != nil {
			return nil, fmt.Errorf("service %s: constraints[%d]: %w", s.ID, i, err)
		}
		out = append(out, pc)
	}
	return out, nil
}

// Duration is a time.Duration written as a Go duration string ("60s") in
// YAML and JSON.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats like time.Duration, without the zero units ("1m", not
// "1m0s").
func (d Duration) String() string {
	s := time.Duration(d).String()
	for _, z := range []struct{ long, short string }{{"m0s", "m"}, {"h0m", "h"}} {
		if len(s) > len(z.long) && s[len(s)-len(z.long):] == z.long {
			s = s[:len(s)-len(z.long)] + z.short
		}
	}
	return s
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string like \"60s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

var _ yaml.Marshaler = Duration(0)
