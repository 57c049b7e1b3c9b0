package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	cadvisor "github.com/google/cadvisor/container"
	"github.com/google/cadvisor/container/libcontainer"

	"github.com/swell-pipeline/swell/collector"
	"github.com/swell-pipeline/swell/internal/clock"
)

// Labels the scheduler puts on the containers it runs; the input turns
// them into the service and instance tags every container point carries.
const (
	LabelService  = "swell.service"
	LabelInstance = "swell.instance"
)

// DefaultCgroupRoot is where the host's cgroup filesystem is mounted.
const DefaultCgroupRoot = "/sys/fs/cgroup"

// inspectWorkers bounds concurrent ContainerInspect calls, which only
// happen for containers the input has not seen (or whose state changed).
const inspectWorkers = 8

// Options configure the input.
type Options struct {
	// Node is the agent's node name, the node tag.
	Node string
	// Logger receives debug notes; nil discards them.
	Logger *slog.Logger
	// DockerHost is the engine endpoint (unix:///var/run/docker.sock,
	// tcp://host:2375); empty means DOCKER_HOST or the default socket.
	DockerHost string
	// CgroupRoot is where the host's cgroup filesystem is mounted; empty
	// means /sys/fs/cgroup.
	CgroupRoot string
	// ProcRoot is the host's /proc; empty means $HOST_PROC, else /proc. It
	// must be a directory named proc (e.g. /host/proc), because cAdvisor
	// reads network counters below its parent.
	ProcRoot string
	// PerCPU adds a cpu=cpuN point per CPU (cgroup v1 only; v2 has no
	// per-CPU accounting). Off by default, as it multiplies series.
	PerCPU bool
	// Clock stamps the points; nil means the wall clock.
	Clock clock.Clock
}

// Input gathers container metrics. It is safe for concurrent use; gathers
// are serialised because each needs the previous one's CPU readings.
type Input struct {
	node       string
	log        *slog.Logger
	clk        clock.Clock
	cli        *client.Client
	cgroupRoot string
	procRoot   string
	rootFs     string
	perCPU     bool
	metrics    cadvisor.MetricSet

	mu         sync.Mutex
	mode       cgroupMode
	machineMem uint64
	engine     *engineInfo
	containers map[string]*tracked
}

var _ collector.Input = (*Input)(nil)

type engineInfo struct {
	host, version string
}

// tracked is what the input keeps about one container between gathers.
type tracked struct {
	id        string
	listState string // Summary.State when last inspected
	name      string
	image     string
	labels    map[string]string
	parent    string // HostConfig.CgroupParent
	hostNet   bool
	state     state
	tags      map[string]string

	// Built on the first stats read of a running container.
	cg      containerCgroup
	rec     *statsRecorder
	handler *libcontainer.Handler
	prev    cpuSample
}

// New validates the options and builds the input. It does not connect: the
// first Gather does.
func New(opts Options) (*Input, error) {
	procRoot := opts.ProcRoot
	if procRoot == "" {
		procRoot = os.Getenv("HOST_PROC")
	}
	if procRoot == "" {
		procRoot = "/proc"
	}
	procRoot = filepath.Clean(procRoot)
	if filepath.Base(procRoot) != "proc" {
		return nil, fmt.Errorf("docker: proc root %q must be a directory named proc (mount the host's /proc at e.g. /host/proc and set HOST_PROC=/host/proc)", procRoot)
	}
	cgroupRoot := opts.CgroupRoot
	if cgroupRoot == "" {
		cgroupRoot = DefaultCgroupRoot
	}

	clientOpts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if opts.DockerHost != "" {
		clientOpts = append(clientOpts, client.WithHost(opts.DockerHost))
	}
	cli, err := client.NewClientWithOpts(clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("docker: engine endpoint %q: %w (want unix:///path/to/docker.sock or tcp://host:port)", opts.DockerHost, err)
	}

	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	metrics := cadvisor.MetricSet{
		cadvisor.CpuUsageMetrics:     struct{}{},
		cadvisor.MemoryUsageMetrics:  struct{}{},
		cadvisor.NetworkUsageMetrics: struct{}{},
		cadvisor.DiskIOMetrics:       struct{}{},
	}
	if opts.PerCPU {
		metrics[cadvisor.PerCpuUsageMetrics] = struct{}{}
	}
	return &Input{
		node:       opts.Node,
		log:        log.With("input", "docker"),
		clk:        clk,
		cli:        cli,
		cgroupRoot: filepath.Clean(cgroupRoot),
		procRoot:   procRoot,
		rootFs:     filepath.Dir(procRoot),
		perCPU:     opts.PerCPU,
		metrics:    metrics,
		containers: map[string]*tracked{},
	}, nil
}

// Close releases the engine client.
func (in *Input) Close() error {
	return in.cli.Close()
}

// Available tells whether container metrics can be gathered with these
// options: the engine answers, the cgroup root holds a v1 or v2 hierarchy,
// and the host's /proc is readable. The error says what is missing and how
// to fix it; the agent reports it once and runs without container metrics.
func Available(ctx context.Context, opts Options) error {
	in, err := New(opts)
	if err != nil {
		return err
	}
	defer in.Close()
	if _, err := in.cli.Ping(ctx); err != nil {
		return in.engineError(err)
	}
	if _, err := detectCgroupMode(in.cgroupRoot); err != nil {
		return err
	}
	if _, err := readHostCPU(in.procRoot); err != nil {
		return fmt.Errorf("%w (mount the host's /proc and set HOST_PROC to it)", err)
	}
	return nil
}

// engineError words a failed engine call for the person running the agent.
func (in *Input) engineError(err error) error {
	host := in.cli.DaemonHost()
	if client.IsErrConnectionFailed(err) || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("docker: cannot reach the Docker engine at %s: %w (start dockerd, or set --docker-host)", host, err)
	}
	return fmt.Errorf("docker: engine at %s: %w", host, err)
}

// Gather lists the containers (one ContainerList call), inspects the ones
// it has not seen, and reads each running container's cgroup.
func (in *Input) Gather(ctx context.Context, acc collector.Accumulator) error {
	in.mu.Lock()
	defer in.mu.Unlock()

	if err := in.prepare(ctx); err != nil {
		return err
	}
	list, err := in.cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		// The engine may come back upgraded or as another host.
		in.engine = nil
		return in.engineError(fmt.Errorf("list containers: %w", err))
	}
	current := in.refresh(ctx, list, acc)

	// Read after the inspects, right before the cgroups, so the host and
	// container CPU times of one gather are taken close together.
	host, err := readHostCPU(in.procRoot)
	if err != nil {
		return err
	}
	now := in.clk.Now()

	live := make([]*tracked, 0, len(current))
	for _, t := range current {
		acc.AddFields(measStatus, statusFields(t.id, t.state, now), withTag(t.tags, "", ""), now)
		if t.isLive() {
			live = append(live, t)
		}
	}
	in.readAll(live, host, now, acc)
	return nil
}

// prepare does the once-per-input work the first gather needs: the cgroup
// layout, the host's memory size and the engine's name and version.
func (in *Input) prepare(ctx context.Context) error {
	if in.mode == 0 {
		mode, err := detectCgroupMode(in.cgroupRoot)
		if err != nil {
			return err
		}
		in.mode = mode
		in.log.Debug("cgroup layout detected", "root", in.cgroupRoot, "mode", mode.String())
	}
	if in.machineMem == 0 {
		mem, err := readMemTotal(in.procRoot)
		if err != nil {
			return fmt.Errorf("%w (mount the host's /proc and set HOST_PROC to it)", err)
		}
		in.machineMem = mem
	}
	if in.engine == nil {
		info, err := in.cli.Info(ctx)
		if err != nil {
			return in.engineError(fmt.Errorf("read engine info: %w", err))
		}
		in.engine = &engineInfo{host: info.Name, version: info.ServerVersion}
		for _, t := range in.containers {
			t.tags = nil
		}
	}
	return nil
}

// refresh brings the cache in line with the list: it inspects containers
// that are new, changed state, or whose init process is gone (a restart
// between gathers), forgets the ones that no longer exist, and returns the
// listed containers in the list's order.
func (in *Input) refresh(ctx context.Context, list []container.Summary, acc collector.Accumulator) []*tracked {
	listed := make(map[string]struct{}, len(list))
	var stale []container.Summary
	for _, s := range list {
		listed[s.ID] = struct{}{}
		t := in.containers[s.ID]
		if t == nil || t.listState != s.State || (t.isLive() && !pidAlive(in.procRoot, t.state.pid)) {
			stale = append(stale, s)
		}
	}
	for id := range in.containers {
		if _, ok := listed[id]; !ok {
			delete(in.containers, id)
		}
	}
	in.inspectAll(ctx, stale, acc)

	out := make([]*tracked, 0, len(list))
	for _, s := range list {
		t := in.containers[s.ID]
		if t == nil {
			continue // gone before it could be inspected, or inspect failed
		}
		if name := containerName(s.Names, s.ID); name != t.name {
			t.name, t.tags = name, nil
		}
		if t.tags == nil {
			t.tags = in.tagsFor(t)
		}
		out = append(out, t)
	}
	return out
}

func (in *Input) inspectAll(ctx context.Context, stale []container.Summary, acc collector.Accumulator) {
	if len(stale) == 0 {
		return
	}
	type result struct {
		s   container.Summary
		r   container.InspectResponse
		err error
	}
	results := make([]result, len(stale))
	sem := make(chan struct{}, inspectWorkers)
	var wg sync.WaitGroup
	for i, s := range stale {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r, err := in.cli.ContainerInspect(ctx, s.ID)
			results[i] = result{s, r, err}
		}()
	}
	wg.Wait()

	for _, res := range results {
		id := res.s.ID
		if res.err != nil {
			if !cerrdefs.IsNotFound(res.err) {
				acc.AddError(fmt.Errorf("docker: inspect container %s (%.12s): %w", containerName(res.s.Names, id), id, res.err))
			}
			delete(in.containers, id)
			continue
		}
		t := in.containers[id]
		if t == nil {
			t = &tracked{id: id}
			in.containers[id] = t
		}
		next := inspectState(res.r)
		if next.pid != t.state.pid {
			// New init process: new cgroup files and counters from zero.
			t.handler, t.rec, t.prev = nil, nil, cpuSample{}
		}
		t.state = next
		t.listState = res.s.State
		t.name = containerName(res.s.Names, id)
		t.image = res.s.Image
		t.labels = res.s.Labels
		if res.r.HostConfig != nil {
			t.parent = res.r.HostConfig.CgroupParent
			t.hostNet = res.r.HostConfig.NetworkMode.IsHost()
		}
		t.tags = nil
	}
}

func inspectState(r container.InspectResponse) state {
	var s state
	if r.ContainerJSONBase == nil || r.State == nil {
		return s
	}
	s.status = string(r.State.Status)
	s.pid = r.State.Pid
	s.exitCode = r.State.ExitCode
	s.oomKilled = r.State.OOMKilled
	s.restartCount = r.RestartCount
	// The engine writes the zero time for "never"; both parse to IsZero.
	s.startedAt, _ = time.Parse(time.RFC3339Nano, r.State.StartedAt)
	s.finishedAt, _ = time.Parse(time.RFC3339Nano, r.State.FinishedAt)
	return s
}

// isLive tells whether the container has processes whose cgroup can be
// read: running or paused (a paused container still holds its memory).
func (t *tracked) isLive() bool {
	return t.state.pid > 0 && (t.state.status == "running" || t.state.status == "paused")
}

// reservedTags are the input's own tags; a container label of the same
// name does not replace them.
var reservedTags = map[string]bool{
	"engine_host": true, "server_version": true, "container_name": true,
	"container_image": true, "container_version": true, "container_status": true,
	"node": true, "service": true, "instance": true,
	"cpu": true, "network": true, "device": true,
}

func (in *Input) tagsFor(t *tracked) map[string]string {
	name, version := parseImage(t.image)
	tags := make(map[string]string, len(t.labels)+10)
	for k, v := range t.labels {
		// Line protocol has no empty tag values, and labels like
		// maintainer= are common.
		if v != "" && k != "" && !reservedTags[k] {
			tags[k] = v
		}
	}
	set := func(k, v string) {
		if v != "" {
			tags[k] = v
		}
	}
	if in.engine != nil {
		set("engine_host", in.engine.host)
		set("server_version", in.engine.version)
	}
	set("container_name", t.name)
	set("container_image", name)
	set("container_version", version)
	set("container_status", t.state.status)
	set("node", in.node)
	set("service", t.labels[LabelService])
	set("instance", t.labels[LabelInstance])
	return tags
}

// readAll reads the running containers' cgroups on a few goroutines: each
// container's files are independent and most of the cost is syscalls.
func (in *Input) readAll(live []*tracked, host hostCPU, now time.Time, acc collector.Accumulator) {
	workers := min(runtime.GOMAXPROCS(0), len(live))
	if workers <= 1 {
		for _, t := range live {
			in.readOne(t, host, now, acc)
		}
		return
	}
	next := make(chan *tracked)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range next {
				in.readOne(t, host, now, acc)
			}
		}()
	}
	for _, t := range live {
		next <- t
	}
	close(next)
	wg.Wait()
}

// readOne reads one container's cgroup and emits its points. A container
// that stopped since the list is skipped without an error.
func (in *Input) readOne(t *tracked, host hostCPU, now time.Time, acc collector.Accumulator) {
	if t.handler == nil {
		cg, err := findCgroup(in.mode, in.cgroupRoot, in.procRoot, t.state.pid, t.id, t.parent)
		if err != nil {
			if pidAlive(in.procRoot, t.state.pid) {
				acc.AddError(err)
			}
			return
		}
		mgr, err := cg.manager()
		if err != nil {
			acc.AddError(fmt.Errorf("docker: cgroup manager for container %s (%.12s) at %s: %w", t.name, t.id, cg.dir, err))
			return
		}
		netPid := t.state.pid
		if t.hostNet {
			// /proc/<pid>/net/dev would be the host's interfaces.
			netPid = 0
		}
		t.cg, t.rec = cg, &statsRecorder{Manager: mgr}
		t.handler = libcontainer.NewHandler(t.rec, in.rootFs, netPid, in.metrics)
	}

	st, err := t.handler.GetStats()
	if err != nil || t.rec.last == nil {
		gone := t.cg.gone()
		t.handler, t.rec = nil, nil
		if !gone && err != nil {
			acc.AddError(fmt.Errorf("docker: read cgroup of container %s (%.12s) at %s: %w", t.name, t.id, t.cg.dir, err))
		}
		return
	}
	raw := t.rec.last

	points := make([]point, 0, 8)
	points = append(points, point{measCPU, "cpu", "cpu-total", cpuFields(t.id, st, host, t.prev)})
	if in.perCPU {
		points = append(points, perCPUPoints(t.id, st, host.online)...)
	}
	points = append(points, point{measMem, "", "", memFields(t.id, in.mode, raw.MemoryStats, in.machineMem)})
	points = append(points, netPoints(t.id, st.Network.Interfaces)...)
	points = append(points, blkioPoints(t.id, &st.DiskIo)...)
	t.prev = cpuSample{container: st.Cpu.Usage.Total, system: host.systemNs, ok: true}

	for _, p := range points {
		acc.AddFields(p.measurement, p.fields, withTag(t.tags, p.tagKey, p.tagValue), now)
	}
}

// withTag copies tags, because an accumulator may keep the map it is given.
func withTag(tags map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(tags)+1)
	for tk, tv := range tags {
		out[tk] = tv
	}
	if k != "" {
		out[k] = v
	}
	return out
}
