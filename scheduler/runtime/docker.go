package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
)

// DockerOptions configure a Docker runtime.
type DockerOptions struct {
	// Client talks to the engine. Nil builds one from DOCKER_HOST (or the
	// default socket) with API version negotiation.
	Client client.APIClient
	// Logger receives one line per container lifecycle change.
	Logger *slog.Logger
	// Pull fetches an image the engine does not have before creating the
	// container. Off by default: nodes are often air-gapped, and a pull
	// that hangs on an unreachable registry stalls every placement behind
	// it, while a missing image should surface as ErrImageNotFound.
	Pull bool
}

// Docker runs containers through the Docker Engine API.
type Docker struct {
	cli    client.APIClient
	logger *slog.Logger
	pull   bool
}

var _ Runtime = (*Docker)(nil)

// NewDocker returns a Docker runtime. It does not contact the engine.
func NewDocker(opts DockerOptions) (*Docker, error) {
	if opts.Logger == nil {
		return nil, errors.New("runtime: DockerOptions.Logger is nil")
	}
	cli := opts.Client
	if cli == nil {
		c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			return nil, fmt.Errorf("runtime: docker client from environment: %w", err)
		}
		cli = c
	}
	return &Docker{cli: cli, logger: opts.Logger.With("component", "runtime"), pull: opts.Pull}, nil
}

// Close releases the engine client.
func (d *Docker) Close() error { return d.cli.Close() }

// Create makes the container for spec, named ContainerName(node, instance).
// When the container was created but could not be inspected, the returned
// Container still carries its ID, so the caller can remove it.
func (d *Docker) Create(ctx context.Context, spec Spec) (Container, error) {
	cfg, hostCfg, err := dockerConfig(spec)
	if err != nil {
		return Container{}, err
	}
	name := ContainerName(spec.Node, spec.Instance)
	resp, err := d.cli.ContainerCreate(ctx, cfg, hostCfg, nil, nil, name)
	if err != nil && cerrdefs.IsNotFound(err) && d.pull {
		if perr := d.pullImage(ctx, spec.Image); perr != nil {
			return Container{}, fmt.Errorf("runtime: create %s on node %s: pull image %q: %w: %w", spec.Instance, spec.Node, spec.Image, ErrImageNotFound, perr)
		}
		resp, err = d.cli.ContainerCreate(ctx, cfg, hostCfg, nil, nil, name)
	}
	switch {
	case err == nil:
	case cerrdefs.IsNotFound(err):
		hint := "build or load it on this node (docker build / docker load), or enable pulling"
		if d.pull {
			hint = "the pull succeeded but the engine still lacks it"
		}
		return Container{}, fmt.Errorf("runtime: create %s on node %s: image %q is not on this node's engine; %s: %w: %w",
			spec.Instance, spec.Node, spec.Image, hint, ErrImageNotFound, err)
	case cerrdefs.IsConflict(err):
		return Container{}, fmt.Errorf("runtime: create %s on node %s: name %s: %w: %w", spec.Instance, spec.Node, name, ErrNameConflict, err)
	default:
		return Container{}, fmt.Errorf("runtime: create %s on node %s from %s: %w", spec.Instance, spec.Node, spec.Image, err)
	}
	d.logger.Info("container created", "instance", spec.Instance, "service", spec.Service, "container", shortID(resp.ID), "image", spec.Image)
	c, err := d.Inspect(ctx, resp.ID)
	if err != nil {
		// The ID lets the caller remove what was created.
		return Container{ID: resp.ID, Name: name, Service: spec.Service, Instance: spec.Instance, Node: spec.Node, Version: spec.Version, Image: spec.Image}, err
	}
	return c, nil
}

func (d *Docker) pullImage(ctx context.Context, ref string) error {
	rc, err := d.cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	// A failed pull reports its error inside the progress stream.
	return jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil)
}

// dockerConfig translates spec into the engine's create request.
func dockerConfig(spec Spec) (*container.Config, *container.HostConfig, error) {
	if spec.Image == "" || spec.Instance == "" || spec.Node == "" {
		return nil, nil, fmt.Errorf("runtime: spec for instance %q on node %q: image, instance and node are required", spec.Instance, spec.Node)
	}
	if spec.CPUs < 0 || spec.MemMiB < 0 || math.IsNaN(spec.CPUs) || math.IsNaN(spec.MemMiB) {
		return nil, nil, fmt.Errorf("runtime: spec for instance %s: cpus %v and mem %v must not be negative", spec.Instance, spec.CPUs, spec.MemMiB)
	}

	labels := make(map[string]string, len(spec.Labels)+5)
	for k, v := range spec.Labels {
		labels[k] = v
	}
	labels[LabelService] = spec.Service
	labels[LabelInstance] = spec.Instance
	labels[LabelNode] = spec.Node
	labels[LabelVersion] = spec.Version

	env := make([]string, 0, len(spec.Env))
	for k, v := range spec.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)

	cfg := &container.Config{Image: spec.Image, Cmd: spec.Cmd, Env: env, Labels: labels}
	if spec.Entrypoint != nil {
		cfg.Entrypoint = spec.Entrypoint
	}
	hostCfg := &container.HostConfig{
		Resources: container.Resources{
			NanoCPUs: int64(math.Round(spec.CPUs * 1e9)),
			Memory:   int64(math.Round(spec.MemMiB * 1024 * 1024)),
		},
		// The agent decides about restarts (with backoff); the engine
		// restarting behind its back would hide exits from it.
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
	}

	if len(spec.Ports) > 0 {
		cfg.ExposedPorts = nat.PortSet{}
		hostCfg.PortBindings = nat.PortMap{}
		keys := make([]string, 0, len(spec.Ports))
		for i, pm := range spec.Ports {
			p, err := natPort(pm)
			if err != nil {
				return nil, nil, fmt.Errorf("runtime: spec for instance %s: portMappings[%d]: %w", spec.Instance, i, err)
			}
			if pm.HostPort < 0 || pm.HostPort > 65535 {
				return nil, nil, fmt.Errorf("runtime: spec for instance %s: portMappings[%d]: hostPort %d out of range 0-65535", spec.Instance, i, pm.HostPort)
			}
			hp := ""
			if pm.HostPort != 0 {
				hp = strconv.Itoa(pm.HostPort)
			}
			cfg.ExposedPorts[p] = struct{}{}
			hostCfg.PortBindings[p] = append(hostCfg.PortBindings[p], nat.PortBinding{HostIP: spec.BindIP, HostPort: hp})
			keys = append(keys, string(p))
		}
		labels[LabelPorts] = strings.Join(keys, ",")
	}
	return cfg, hostCfg, nil
}

func natPort(pm PortMapping) (nat.Port, error) {
	proto := strings.ToLower(pm.Protocol)
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return "", fmt.Errorf("protocol %q: want tcp or udp", pm.Protocol)
	}
	if pm.ContainerPort < 1 || pm.ContainerPort > 65535 {
		return "", fmt.Errorf("containerPort %d out of range 1-65535", pm.ContainerPort)
	}
	return nat.NewPort(proto, strconv.Itoa(pm.ContainerPort))
}

// Start starts a created container.
func (d *Docker) Start(ctx context.Context, id string) error {
	if err := d.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return d.wrap("start", id, err)
	}
	d.logger.Info("container started", "container", shortID(id))
	return nil
}

// Stop sends SIGTERM and, if the container is still running after grace,
// SIGKILL. The engine counts grace in whole seconds, so it is rounded up.
// Stopping a container that is not running succeeds.
func (d *Docker) Stop(ctx context.Context, id string, grace time.Duration) error {
	secs := int(math.Ceil(max(grace, 0).Seconds()))
	if err := d.cli.ContainerStop(ctx, id, container.StopOptions{Signal: "SIGTERM", Timeout: &secs}); err != nil {
		return d.wrap("stop", id, err)
	}
	d.logger.Info("container stopped", "container", shortID(id), "grace", grace)
	return nil
}

// Remove removes the container, killing it if it runs, with its anonymous
// volumes. A container that is already gone is not an error: the node is
// in the state the caller wanted.
func (d *Docker) Remove(ctx context.Context, id string) error {
	err := d.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return d.wrap("remove", id, err)
	}
	d.logger.Info("container removed", "container", shortID(id))
	return nil
}

// Inspect returns the container's labels and current state.
func (d *Docker) Inspect(ctx context.Context, id string) (Container, error) {
	info, err := d.cli.ContainerInspect(ctx, id)
	if err != nil {
		return Container{}, d.wrap("inspect", id, err)
	}
	return fromInspect(info), nil
}

// List returns the containers labelled swell.node=node, in any state.
func (d *Docker) List(ctx context.Context, node string) ([]Container, error) {
	if node == "" {
		return nil, errors.New("runtime: list containers: node name is empty")
	}
	sums, err := d.cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelNode+"="+node)),
	})
	if err != nil {
		return nil, fmt.Errorf("runtime: list containers of node %s: %w", node, err)
	}
	out := make([]Container, 0, len(sums))
	for _, s := range sums {
		// The summary lacks exit code and start time; a node runs tens of
		// containers, so one inspect each is cheap enough.
		info, err := d.cli.ContainerInspect(ctx, s.ID)
		if cerrdefs.IsNotFound(err) {
			continue // removed since the list
		}
		if err != nil {
			return nil, fmt.Errorf("runtime: list containers of node %s: %w", node, d.wrap("inspect", s.ID, err))
		}
		out = append(out, fromInspect(info))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Exec runs cmd inside the container and returns its exit code and the
// tail of its combined output. It is what COMMAND health checks run
// through (health.Execer).
func (d *Docker) Exec(ctx context.Context, id string, cmd []string) (int, string, error) {
	created, err := d.cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return -1, "", d.wrap("exec in", id, err)
	}
	att, err := d.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return -1, "", d.wrap("exec in", id, err)
	}
	defer att.Close()
	// The context bounds the command: closing the connection on cancel
	// unblocks the copy below.
	stop := context.AfterFunc(ctx, att.Close)
	defer stop()
	var out tailBuffer
	if _, err := stdcopy.StdCopy(&out, &out, att.Reader); err != nil {
		if ctx.Err() != nil {
			return -1, out.String(), fmt.Errorf("runtime: exec %q in %s: %w", cmd, shortID(id), ctx.Err())
		}
		return -1, out.String(), fmt.Errorf("runtime: exec %q in %s: read output: %w", cmd, shortID(id), err)
	}
	// The stream ends when the process exits, but the engine may record
	// the exit code a moment later.
	for {
		ins, err := d.cli.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			return -1, out.String(), d.wrap("exec in", id, err)
		}
		if !ins.Running {
			return ins.ExitCode, out.String(), nil
		}
		select {
		case <-ctx.Done():
			return -1, out.String(), fmt.Errorf("runtime: exec %q in %s: %w", cmd, shortID(id), ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// tailBuffer keeps the last 512 bytes written: enough for a reason line.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 512 {
		t.b = t.b[len(t.b)-512:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(bytes.TrimSpace(t.b)) }

func (d *Docker) wrap(op, id string, err error) error {
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("runtime: %s container %s: %w: %w", op, shortID(id), ErrContainerNotFound, err)
	}
	return fmt.Errorf("runtime: %s container %s: %w", op, shortID(id), err)
}

func fromInspect(info container.InspectResponse) Container {
	c := Container{ID: info.ID, Name: strings.TrimPrefix(info.Name, "/")}
	var labels map[string]string
	if info.Config != nil {
		labels = info.Config.Labels
		c.Image = info.Config.Image
	}
	c.Service = labels[LabelService]
	c.Instance = labels[LabelInstance]
	c.Node = labels[LabelNode]
	c.Version = labels[LabelVersion]
	if info.State != nil {
		c.State = State(info.State.Status)
		c.ExitCode = info.State.ExitCode
		if t, err := time.Parse(time.RFC3339Nano, info.State.StartedAt); err == nil && t.Year() > 1 {
			c.StartedAt = t
		}
	}
	if keys := labels[LabelPorts]; keys != "" {
		for _, k := range strings.Split(keys, ",") {
			port := 0
			if info.NetworkSettings != nil {
				for _, b := range info.NetworkSettings.Ports[nat.Port(k)] {
					// With an empty BindIP the engine binds IPv4 and IPv6
					// to the same port; the first binding is enough.
					if n, err := strconv.Atoi(b.HostPort); err == nil {
						port = n
						break
					}
				}
			}
			c.HostPorts = append(c.HostPorts, port)
		}
	}
	return c
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
