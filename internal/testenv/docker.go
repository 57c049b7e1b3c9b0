package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
)

// RequireDockerEnv names the environment variable that turns a missing
// Docker engine from a skip into a failure (CI sets it to 1).
const RequireDockerEnv = "SWELL_REQUIRE_DOCKER"

// TestAppPort is the port the test app's HTTP server listens on inside its
// container.
const TestAppPort = "8080"

// LabelTest marks every container RunContainer creates, with the test's name
// as value, so leftovers of a killed test run can be found:
// docker ps -a --filter label=swell.test
const LabelTest = "swell.test"

// ContainerNamePrefix starts the name of every container RunContainer
// creates; tests only ever touch containers named like this.
const ContainerNamePrefix = "swell-test-"

// dockerTimeout bounds each engine call a helper makes, so a wedged engine
// fails the test instead of hanging it.
const dockerTimeout = 2 * time.Minute

// Docker returns a client for the engine named by DOCKER_HOST (or the default
// socket) once it answers Ping, and closes it when the test ends. Without a
// reachable engine the test is skipped with the reason, unless
// SWELL_REQUIRE_DOCKER=1, which makes it fail instead.
func Docker(t testing.TB) *client.Client {
	t.Helper()
	cli, err := pingDocker(t.Context())
	if err != nil {
		if os.Getenv(RequireDockerEnv) == "1" {
			t.Fatalf("no Docker engine and %s=1: %v", RequireDockerEnv, err)
		}
		t.Skipf("SKIPPED, no Docker engine: %v; set %s=1 to fail instead", err, RequireDockerEnv)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

func pingDocker(ctx context.Context) (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client from environment: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("ping %s: %w", cli.DaemonHost(), err)
	}
	return cli, nil
}

// testImage is built at most once per test binary: every Docker test needs
// it and building it costs a go build plus an image build.
var testImage struct {
	once sync.Once
	ref  string
	err  error
}

// TestImage returns the reference of an image FROM scratch holding the
// static internal/testapp binary as its entrypoint. The tag is the binary's
// content hash (swell-testapp:<hash>), so repeated runs reuse the image and a
// changed app gets a new one.
func TestImage(t testing.TB, cli *client.Client) string {
	t.Helper()
	testImage.once.Do(func() {
		// Not the test's context: the image outlives the first test that
		// asks for it.
		ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
		defer cancel()
		testImage.ref, testImage.err = buildTestImage(ctx, cli)
	})
	if testImage.err != nil {
		t.Fatalf("test image: %v", testImage.err)
	}
	return testImage.ref
}

func buildTestImage(ctx context.Context, cli *client.Client) (string, error) {
	bin, err := buildTestApp(ctx)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(bin)
	ref := "swell-testapp:" + hex.EncodeToString(sum[:6])

	// Test binaries of several packages run at once. Two builds of the same
	// tag yield two image IDs (the builder stamps a creation time), and the
	// second moves the tag: containers of the first then list their image
	// as a bare sha256 ID. One build per tag across processes avoids that.
	unlock, err := lockFile(filepath.Join(os.TempDir(), "swell-testapp-"+hex.EncodeToString(sum[:6])+".lock"))
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", ref, err)
	}
	defer unlock()

	if _, err := cli.ImageInspect(ctx, ref); err == nil {
		return ref, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("inspect image %s: %w", ref, err)
	}

	dockerfile := "FROM scratch\nCOPY testapp /testapp\nENTRYPOINT [\"/testapp\"]\n"
	buildCtx, err := tarFiles(map[string][]byte{
		"Dockerfile": []byte(dockerfile),
		"testapp":    bin,
	})
	if err != nil {
		return "", err
	}
	resp, err := cli.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{
		Tags:        []string{ref},
		Remove:      true,
		ForceRemove: true,
		// The classic builder: BuildKit is not available on every engine
		// this runs against.
		Version: build.BuilderV1,
	})
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", ref, err)
	}
	defer resp.Body.Close()
	// The build's outcome arrives in the stream; an error message there is
	// the only sign a step failed.
	if err := jsonmessage.DisplayJSONMessagesStream(resp.Body, io.Discard, 0, false, nil); err != nil {
		return "", fmt.Errorf("build image %s: %w", ref, err)
	}
	return ref, nil
}

// lockFile takes an exclusive flock on path, waiting for other holders.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// buildTestApp compiles internal/testapp statically and returns the binary.
// It runs in the test's working directory, which is inside this module.
func buildTestApp(ctx context.Context) ([]byte, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("build testapp: the go tool is not on PATH: %w", err)
	}
	dir, err := os.MkdirTemp("", "swell-testapp-")
	if err != nil {
		return nil, fmt.Errorf("build testapp: %w", err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "testapp")
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w", "-o", out, "github.com/swell-pipeline/swell/internal/testapp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build internal/testapp: %w\n%s", err, msg)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("build testapp: %w", err)
	}
	return bin, nil
}

func tarFiles(files map[string][]byte) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range []string{"Dockerfile", "testapp"} {
		data := files[name]
		hdr := &tar.Header{Name: name, Mode: 0o755, Size: int64(len(data)), ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("build context: %w", err)
		}
		if _, err := tw.Write(data); err != nil {
			return nil, fmt.Errorf("build context: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	return &buf, nil
}

// ContainerOptions shape a container RunContainer starts.
type ContainerOptions struct {
	// Args are passed to the image's entrypoint; for the test image nil runs
	// the HTTP server and {"sleep"} blocks until the container is stopped.
	Args []string
	// Env is KEY=value pairs.
	Env []string
	// Labels are added to the swell.test label every test container gets.
	Labels map[string]string
	// Memory is the memory limit in bytes; 0 means none.
	Memory int64
	// PublishHTTP binds the container's port 8080 to a random port on
	// 127.0.0.1; HostAddr returns it.
	PublishHTTP bool
	// NetworkMode is Docker's (bridge, none, host, container:<id>); empty
	// means the default bridge.
	NetworkMode string
}

// RunContainer creates and starts a container named swell-test-<random> and
// removes it (forcibly, with its volumes) when the test ends.
func RunContainer(t testing.TB, cli *client.Client, image string, opts ContainerOptions) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), dockerTimeout)
	defer cancel()
	id, err := runContainer(ctx, cli, image, opts, t.Name())
	if id != "" {
		t.Cleanup(func() { removeContainers(t, cli, []string{id}) })
	}
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// RunContainers starts n containers like RunContainer does, a few at a
// time (the engine serialises much of the work anyway), and removes them
// all when the test ends. Benchmarks use it to populate a node.
func RunContainers(t testing.TB, cli *client.Client, image string, n int, opts ContainerOptions) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), dockerTimeout)
	defer cancel()

	ids := make([]string, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ids[i], errs[i] = runContainer(ctx, cli, image, opts, t.Name())
		})
	}
	wg.Wait()

	var created []string
	for _, id := range ids {
		if id != "" {
			created = append(created, id)
		}
	}
	t.Cleanup(func() { removeContainers(t, cli, created) })
	for _, err := range errs {
		if err != nil {
			t.Fatalf("start %d containers: %v", n, err)
		}
	}
	return ids
}

// runContainer returns the ID of whatever it created, even on error, so
// the caller can remove it.
func runContainer(ctx context.Context, cli *client.Client, image string, opts ContainerOptions, testName string) (string, error) {
	labels := map[string]string{LabelTest: testName}
	for k, v := range opts.Labels {
		labels[k] = v
	}
	cfg := &container.Config{Image: image, Cmd: opts.Args, Env: opts.Env, Labels: labels}
	hostCfg := &container.HostConfig{
		Resources:   container.Resources{Memory: opts.Memory},
		NetworkMode: container.NetworkMode(opts.NetworkMode),
	}
	if opts.PublishHTTP {
		port := nat.Port(TestAppPort + "/tcp")
		cfg.ExposedPorts = nat.PortSet{port: {}}
		hostCfg.PortBindings = nat.PortMap{port: {{HostIP: "127.0.0.1", HostPort: ""}}}
	}

	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		return "", fmt.Errorf("random container name: %w", err)
	}
	name := ContainerNamePrefix + hex.EncodeToString(suffix)
	created, err := cli.ContainerCreate(ctx, cfg, hostCfg, nil, nil, name)
	if err != nil {
		return "", fmt.Errorf("create container %s from %s: %w", name, image, err)
	}
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return created.ID, fmt.Errorf("start container %s: %w", name, err)
	}
	return created.ID, nil
}

func removeContainers(t testing.TB, cli *client.Client, ids []string) {
	// The test's context is already cancelled when cleanups run.
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !cerrdefs.IsNotFound(err) {
				t.Errorf("remove container %.12s: %v", id, err)
			}
		})
	}
	wg.Wait()
}

// TestAppReady is the line the test app prints once it handles SIGTERM.
const TestAppReady = "testapp: ready"

// WaitReady waits until a test-image container has printed TestAppReady.
// Stop a container only after this: a SIGTERM that reaches the app before
// its handler is installed is lost (PID 1 has no default action), and the
// engine kills the container after its timeout with status 137.
func WaitReady(t testing.TB, cli *client.Client, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var out strings.Builder
	for {
		out.Reset()
		rc, err := cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true})
		if err == nil {
			_, err = stdcopy.StdCopy(&out, io.Discard, rc)
			rc.Close()
		}
		if err == nil && strings.Contains(out.String(), TestAppReady) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("container %.12s did not print %q within 30s (last error %v, output %q)", id, TestAppReady, err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// HostAddr returns host:port where the container's published HTTP port
// (ContainerOptions.PublishHTTP) is reachable.
func HostAddr(t testing.TB, cli *client.Client, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), dockerTimeout)
	defer cancel()
	info, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatalf("inspect container %.12s: %v", id, err)
	}
	var bindings []nat.PortBinding
	if info.NetworkSettings != nil {
		bindings = info.NetworkSettings.Ports[nat.Port(TestAppPort+"/tcp")]
	}
	if len(bindings) == 0 {
		t.Fatalf("container %.12s publishes no port %s (set ContainerOptions.PublishHTTP)", id, TestAppPort)
	}
	return bindings[0].HostIP + ":" + bindings[0].HostPort
}
