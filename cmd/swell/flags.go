package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/pflag"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/internal/agent"
	"github.com/swell-pipeline/swell/internal/bus"
)

// natsFlags are the connection flags every NATS client command shares.
type natsFlags struct{ o bus.ConnOptions }

func (n *natsFlags) register(fs *pflag.FlagSet, defaultURL, urlHelp string) {
	fs.StringVar(&n.o.URL, "nats-url", defaultURL, urlHelp)
	fs.StringVar(&n.o.User, "nats-user", "", "NATS user name")
	fs.StringVar(&n.o.Password, "nats-password", "", "NATS password (prefer SWELL_NATS_PASSWORD)")
	fs.StringVar(&n.o.Token, "nats-token", "", "NATS token (prefer SWELL_NATS_TOKEN)")
	fs.StringVar(&n.o.NKeyFile, "nats-nkey", "", "file holding an NKey seed")
	fs.StringVar(&n.o.CredsFile, "nats-creds", "", "NATS credentials file (JWT and seed)")
	fs.StringVar(&n.o.TLSCAFile, "nats-tls-ca", "", "CA certificate to verify the NATS server")
	fs.StringVar(&n.o.TLSCertFile, "nats-tls-cert", "", "client certificate for NATS (with --nats-tls-key)")
	fs.StringVar(&n.o.TLSKeyFile, "nats-tls-key", "", "client key for NATS (with --nats-tls-cert)")
}

// agentFlags are `swell agent`'s own flags; `swell up` takes them too.
type agentFlags struct {
	node           string
	addr           string
	cpus           float64
	mem            float64
	labels         string
	tags           string
	interval       time.Duration
	flushInterval  time.Duration
	jitter         time.Duration
	inputs         []string
	inputIntervals string
	spoolMax       byteSize
	dockerHost     string
	cgroupRoot     string
	noRouter       bool
	drainTimeout   time.Duration
	holdTimeout    time.Duration
}

func (a *agentFlags) register(fs *pflag.FlagSet) {
	host, _ := os.Hostname()
	a.spoolMax = 256 << 20
	fs.StringVar(&a.node, "node", host, "this node's name")
	fs.StringVar(&a.labels, "labels", "", "node labels for the scheduler, k=v,k=v")
	fs.StringVar(&a.addr, "addr", "127.0.0.1", "this node's IP address: published container ports bind to it")
	fs.Float64Var(&a.cpus, "cpus", 0, "CPUs this node offers to the scheduler (default: all of the host's)")
	fs.Float64Var(&a.mem, "mem", 0, "memory in MiB this node offers to the scheduler (default: all of the host's)")
	fs.StringVar(&a.tags, "tags", "", "tags added to every point, k=v,k=v (like Telegraf's global_tags)")
	fs.DurationVar(&a.interval, "interval", 10*time.Second, "collection interval")
	fs.DurationVar(&a.flushInterval, "flush-interval", time.Second, "longest a point waits before it is published")
	fs.DurationVar(&a.jitter, "jitter", 0, "random delay up to this before each gather, so a fleet does not gather in lock step")
	fs.StringSliceVar(&a.inputs, "inputs", nil, "inputs to run, comma-separated (default: "+defaultInputs()+")")
	fs.StringVar(&a.inputIntervals, "input-interval", "", "per-input interval, name=duration,… (e.g. docker=2s)")
	fs.Var(&a.spoolMax, "spool-max-bytes", "size cap of the on-disk spool used while NATS is unreachable (e.g. 256MiB)")
	fs.StringVar(&a.dockerHost, "docker-host", "", "Docker Engine endpoint (default: DOCKER_HOST or the local socket)")
	fs.StringVar(&a.cgroupRoot, "cgroup-root", "/sys/fs/cgroup", "where the cgroup filesystem is mounted")
	fs.BoolVar(&a.noRouter, "no-router", false, "do not serve the services' servicePorts on this node")
	fs.DurationVar(&a.drainTimeout, "drain-timeout", 30*time.Second, "longest an instance being stopped waits for its in-flight requests to finish")
	fs.DurationVar(&a.holdTimeout, "hold-timeout", 30*time.Second, "how long the router holds a request for a service scaled to zero before answering 503")
}

func (a *agentFlags) options() (agent.Options, error) {
	labels, err := collector.ParseTags(a.labels)
	if err != nil {
		return agent.Options{}, fmt.Errorf("--labels: %w", err)
	}
	tags, err := collector.ParseTags(a.tags)
	if err != nil {
		return agent.Options{}, fmt.Errorf("--tags: %w", err)
	}
	ivs, err := parseDurations(a.inputIntervals)
	if err != nil {
		return agent.Options{}, fmt.Errorf("--input-interval: %w", err)
	}
	if a.node == "" {
		return agent.Options{}, fmt.Errorf("--node: empty, and the hostname is unknown")
	}
	return agent.Options{
		Node:           a.node,
		Addr:           a.addr,
		CPUs:           a.cpus,
		MemMiB:         a.mem,
		Version:        version,
		Labels:         labels,
		Tags:           tags,
		Interval:       a.interval,
		FlushInterval:  a.flushInterval,
		Jitter:         a.jitter,
		Inputs:         a.inputs,
		InputIntervals: ivs,
		SpoolMaxBytes:  int64(a.spoolMax),
		DockerHost:     a.dockerHost,
		CgroupRoot:     a.cgroupRoot,
		NoRouter:       a.noRouter,
		DrainTimeout:   a.drainTimeout,
		HoldTimeout:    a.holdTimeout,
	}, nil
}

// newRegistry is the process's Prometheus registry, with Go and process
// collectors.
func newRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

func parseDurations(s string) (map[string]time.Duration, error) {
	kv, err := collector.ParseTags(s)
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Duration, len(kv))
	for k, v := range kv {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %w", k, v, err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("%s=%s: must be positive", k, v)
		}
		out[k] = d
	}
	return out, nil
}

// byteSize is a flag value like 256MiB, 1GB or 1048576.
type byteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
}

func (b *byteSize) Set(s string) error {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a size (e.g. 512MiB, 2GB, 1048576)", s)
	}
	*b = byteSize(n * float64(mult))
	return nil
}

func (b *byteSize) String() string {
	v := int64(*b)
	for _, u := range []struct {
		s string
		m int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if v >= u.m && v%u.m == 0 {
			return strconv.FormatInt(v/u.m, 10) + u.s
		}
	}
	return strconv.FormatInt(v, 10)
}

func (b *byteSize) Type() string { return "size" }

func defaultInputs() string {
	var names []string
	for name, spec := range inputsBuiltin() {
		if spec.Default {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}
