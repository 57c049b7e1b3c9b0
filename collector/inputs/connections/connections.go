package connections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/internal/clock"
)

// Measurement is the router's measurement; Source tells this input's
// points from the router's (source=router).
const (
	Measurement = "swell_concurrency"
	Source      = "connections"
)

// Labels the executor puts on the containers it runs (the same names as
// scheduler/runtime's; a test holds them equal).
const (
	LabelService  = "swell.service"
	LabelInstance = "swell.instance"
	LabelNode     = "swell.node"
	// LabelPorts lists the spec's port mappings: "8080/tcp,53/udp".
	LabelPorts = "swell.ports"
	// LabelRouted, set to "true", marks a container whose service the
	// routers serve (it has a servicePort): the routers count its load
	// exactly, so this input leaves it out.
	LabelRouted = "swell.routed"
)

// DefaultSignalInterval is how often RunSignals publishes: the
// autoscaler counts an instance without a sample for a second as missing.
const DefaultSignalInterval = time.Second

// Options configure the input.
type Options struct {
	// Node is the agent's node name: the input reports the containers
	// labelled swell.node=<Node>, and tags their points with it.
	Node string
	// Logger receives debug notes; nil discards them.
	Logger *slog.Logger
	// DockerHost is the engine endpoint; empty means DOCKER_HOST or the
	// default socket.
	DockerHost string
	// ProcRoot is the host's /proc; empty means $HOST_PROC, else /proc.
	ProcRoot string
	// Clock stamps points and signals; nil means the wall clock.
	Clock clock.Clock
	// SignalInterval is RunSignals' period (default 1s, at most 60s).
	SignalInterval time.Duration
}

// Input counts established TCP connections per container port. It is safe
// for concurrent use: Gather and RunSignals share its container cache.
type Input struct {
	node     string
	log      *slog.Logger
	clk      clock.Clock
	cli      *client.Client
	procRoot string
	interval time.Duration

	mu         sync.Mutex
	containers map[string]*tracked
}

var _ collector.Input = (*Input)(nil)

// tracked is what the input keeps about one running container.
type tracked struct {
	pid int
}

// count is one container's connections at one moment.
type count struct {
	id, name          string
	service, instance string
	// ports are the ports counted, ascending, and conns their counts.
	ports []uint16
	conns []int
}

func (c count) total() int {
	n := 0
	for _, v := range c.conns {
		n += v
	}
	return n
}

// New validates the options and builds the input. It does not connect:
// the first Gather does.
func New(opts Options) (*Input, error) {
	if opts.Node == "" {
		return nil, errors.New("connections: the node name is empty")
	}
	procRoot := opts.ProcRoot
	if procRoot == "" {
		procRoot = os.Getenv("HOST_PROC")
	}
	if procRoot == "" {
		procRoot = "/proc"
	}
	interval := opts.SignalInterval
	if interval == 0 {
		interval = DefaultSignalInterval
	}
	if interval < 0 || interval > time.Minute {
		return nil, fmt.Errorf("connections: signal interval %s: want more than 0 and at most 1m", interval)
	}
	clientOpts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if opts.DockerHost != "" {
		clientOpts = append(clientOpts, client.WithHost(opts.DockerHost))
	}
	cli, err := client.NewClientWithOpts(clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("connections: engine endpoint %q: %w (want unix:///path/to/docker.sock or tcp://host:port)", opts.DockerHost, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	return &Input{
		node:       opts.Node,
		log:        log,
		clk:        clk,
		cli:        cli,
		procRoot:   filepath.Clean(procRoot),
		interval:   interval,
		containers: map[string]*tracked{},
	}, nil
}

// NewInput is New for the input registry: on error it returns a nil
// interface, not a nil *Input inside one.
func NewInput(opts Options) (collector.Input, error) {
	in, err := New(opts)
	if err != nil {
		return nil, err
	}
	return in, nil
}

// Close releases the engine client.
func (in *Input) Close() error { return in.cli.Close() }

// Gather writes one swell_concurrency point per container and counted
// port.
func (in *Input) Gather(ctx context.Context, acc collector.Accumulator) error {
	counts, errs, err := in.count(ctx)
	if err != nil {
		return err
	}
	for _, e := range errs {
		acc.AddError(e)
	}
	now := in.clk.Now()
	for _, c := range counts {
		for i, port := range c.ports {
			n := c.conns[i]
			acc.AddFields(Measurement,
				map[string]any{"connections": int64(n), "in_flight": float64(n)},
				map[string]string{
					"service": c.service, "instance": c.instance, "node": in.node,
					"port": strconv.Itoa(int(port)), "source": Source,
				}, now)
		}
	}
	return nil
}

// count lists the node's running containers (one ContainerList call),
// inspects the ones it has not seen (for their init PID) and reads each
// one's TCP tables. Problems with one container come back in errs; err is
// for the engine.
func (in *Input) count(ctx context.Context) (counts []count, errs []error, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()

	list, err := in.cli.ContainerList(ctx, container.ListOptions{
		Filters: filters.NewArgs(filters.Arg("label", LabelNode+"="+in.node)),
	})
	if err != nil {
		return nil, nil, in.engineError(fmt.Errorf("list containers: %w", err))
	}
	listed := make(map[string]bool, len(list))
	for _, s := range list {
		listed[s.ID] = true
	}
	for id := range in.containers {
		if !listed[id] {
			delete(in.containers, id)
		}
	}

	for _, s := range list {
		service, instance := s.Labels[LabelService], s.Labels[LabelInstance]
		if service == "" || instance == "" || s.State != container.StateRunning || s.Labels[LabelRouted] == "true" {
			continue
		}
		name := containerName(s)
		t := in.containers[s.ID]
		if t == nil || !pidAlive(in.procRoot, t.pid) {
			r, err := in.cli.ContainerInspect(ctx, s.ID)
			if err != nil {
				delete(in.containers, s.ID)
				if !cerrdefs.IsNotFound(err) {
					errs = append(errs, fmt.Errorf("connections: inspect container %s (%.12s): %w", name, s.ID, err))
				}
				continue
			}
			if r.ContainerJSONBase == nil || r.State == nil || r.State.Pid <= 0 {
				delete(in.containers, s.ID)
				continue // stopped since the list
			}
			t = &tracked{pid: r.State.Pid}
			in.containers[s.ID] = t
		}

		socks, err := readSockets(in.procRoot, t.pid)
		if err != nil {
			if pidAlive(in.procRoot, t.pid) {
				errs = append(errs, fmt.Errorf("connections: container %s (%.12s): %w", name, s.ID, err))
			}
			continue
		}
		hostNet := container.NetworkMode(s.HostConfig.NetworkMode).IsHost()
		ports := countedPorts(declaredPorts(s), socks, hostNet)
		c := count{id: s.ID, name: name, service: service, instance: instance, ports: ports, conns: make([]int, len(ports))}
		for i, p := range ports {
			c.conns[i] = socks.established[p]
		}
		counts = append(counts, c)
	}
	return counts, errs, nil
}

// declaredPorts are the container's TCP ports the spec names (the
// swell.ports label) or the engine publishes.
func declaredPorts(s container.Summary) []uint16 {
	var out []uint16
	for _, p := range strings.Split(s.Labels[LabelPorts], ",") {
		num, proto, _ := strings.Cut(strings.TrimSpace(p), "/")
		if proto != "" && proto != "tcp" {
			continue
		}
		if n, err := strconv.ParseUint(num, 10, 16); err == nil && n > 0 {
			out = append(out, uint16(n))
		}
	}
	for _, p := range s.Ports {
		if p.Type == "tcp" && p.PrivatePort > 0 {
			out = append(out, p.PrivatePort)
		}
	}
	return out
}

// countedPorts are the ports whose connections are the container's load:
// the declared ones, and every port something listens on in its network
// namespace. A container on the host's network shares the host's tables,
// whose listeners are mostly not its own: there only declared ports count.
// An established socket on another port is a connection the container
// opened (to a database, say), not load.
func countedPorts(declared []uint16, s sockets, hostNet bool) []uint16 {
	set := map[uint16]bool{}
	for _, p := range declared {
		set[p] = true
	}
	if !hostNet {
		for p := range s.listening {
			set[p] = true
		}
	}
	out := make([]uint16, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func (in *Input) engineError(err error) error {
	host := in.cli.DaemonHost()
	if client.IsErrConnectionFailed(err) || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("connections: cannot reach the Docker engine at %s: %w (start dockerd, or set --docker-host)", host, err)
	}
	return fmt.Errorf("connections: engine at %s: %w", host, err)
}

func containerName(s container.Summary) string {
	if len(s.Names) > 0 {
		return strings.TrimPrefix(s.Names[0], "/")
	}
	if len(s.ID) > 12 {
		return s.ID[:12]
	}
	return s.ID
}

// pidAlive tells whether the process still exists, so a container that
// restarted (new init PID) is inspected again.
func pidAlive(procRoot string, pid int) bool {
	if pid <= 0 {
		return false
	}
	_, err := os.Stat(filepath.Join(procRoot, strconv.Itoa(pid)))
	return err == nil
}
