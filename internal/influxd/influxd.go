package influxd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// InstallHint says how to get the binary this package runs.
const InstallHint = "install InfluxDB 1.8.10 with `make deps`, or: " +
	"GOBIN=$PWD/bin go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10"

// ErrBinaryNotFound is returned by Start when no influxd binary can be found.
var ErrBinaryNotFound = errors.New("influxd: binary not found")

// ErrAddrInUse is returned by Start when influxd could not listen because
// the address is taken.
var ErrAddrInUse = errors.New("influxd: address already in use")

// errRPCInUse means the private RPC port was taken between picking and
// binding it; Start retries with another.
var errRPCInUse = fmt.Errorf("%w (RPC port)", ErrAddrInUse)

// Options configures a managed influxd.
type Options struct {
	// Binary is the influxd executable. Default: ./bin/influxd relative to
	// the working directory, else influxd on $PATH.
	Binary string
	// DataDir holds influxd.conf, meta/, data/, wal/ and influxd.log.
	// Required; restarting on the same dir keeps every point.
	DataDir string
	// BindAddr is the HTTP address (default 127.0.0.1:8086). Port 0 picks a
	// free port, kept across Restart; an empty host means 127.0.0.1.
	BindAddr string
	// Database is created (idempotently) once influxd answers (default "swell").
	Database string
	// Logger hears about starts and stops (not influxd's own log).
	Logger *slog.Logger
	// Stdout and Stderr receive influxd's own logs. Default: both append
	// to influxd.log in DataDir.
	Stdout io.Writer
	Stderr io.Writer
	// StartTimeout bounds the wait for GET /ping to answer (default 30s).
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL
	// (default 15s).
	StopTimeout time.Duration
}

// Process is a running (or stopped) influxd child.
type Process struct {
	opts     Options
	bin      string
	httpAddr string
	rpcAddr  string
	log      *slog.Logger

	mu  sync.Mutex
	cur *child
}

// child is one run of the binary; Restart makes a new one.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
	// err is cmd.Wait's result, written before done is closed.
	err error
	// requested is set when Stop or Kill asked for the exit, so Wait can
	// tell a crash from a shutdown.
	requested atomic.Bool
	tail      *tail
}

// exitErr is how the child ended; only valid once done is closed.
func (c *child) exitErr() error {
	if c.err == nil {
		return errors.New("exit status 0")
	}
	return c.err
}

// Start launches influxd and returns once it answers HTTP and the database
// exists. ctx bounds only the start; the child lives until Stop or Kill.
func Start(ctx context.Context, o Options) (*Process, error) {
	if o.DataDir == "" {
		return nil, errors.New("influxd: no data dir")
	}
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("influxd: data dir %s: %w", o.DataDir, err)
	}
	o.DataDir = dir
	if o.Database == "" {
		o.Database = "swell"
	}
	if o.BindAddr == "" {
		o.BindAddr = "127.0.0.1:8086"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 15 * time.Second
	}
	bin, err := findBinary(o.Binary)
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{"meta", "data", "wal"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("influxd: create %s: %w", filepath.Join(dir, sub), err)
		}
	}
	host, port, err := net.SplitHostPort(o.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("influxd: bind address %q: %w", o.BindAddr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	p := &Process{opts: o, bin: bin, log: o.Logger}
	pickPort := port == "0"
	// A port picked here can be taken by someone else before influxd binds
	// it; try a few fresh ones before giving up.
	for attempt := 1; ; attempt++ {
		httpPort := port
		if pickPort {
			if httpPort, err = freePort(host); err != nil {
				return nil, err
			}
		}
		p.httpAddr = net.JoinHostPort(host, httpPort)
		err = p.run(ctx)
		if err == nil {
			return p, nil
		}
		if (pickPort || errors.Is(err, errRPCInUse)) && errors.Is(err, ErrAddrInUse) && attempt < 3 {
			continue
		}
		return nil, err
	}
}

// URL is influxd's HTTP address, e.g. http://127.0.0.1:8086.
func (p *Process) URL() string { return "http://" + p.httpAddr }

// Database is the database Start created.
func (p *Process) Database() string { return p.opts.Database }

// DataDir is where config, data and (by default) influxd.log live.
func (p *Process) DataDir() string { return p.opts.DataDir }

// PID is the current child's process id (0 if never started).
func (p *Process) PID() int {
	c := p.current()
	if c == nil || c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// Done is closed when the current child exits. After Restart it refers to
// the new child, so callers re-read it.
func (p *Process) Done() <-chan struct{} { return p.current().done }

// Wait blocks until the current child exits. It returns nil when Stop or
// Kill asked for the exit, and an error with influxd's last log lines when
// it died on its own.
func (p *Process) Wait() error {
	c := p.current()
	<-c.done
	if c.requested.Load() {
		return nil
	}
	return fmt.Errorf("influxd (pid %d) exited unexpectedly: %w; last log lines:\n%s",
		c.cmd.Process.Pid, c.exitErr(), c.tail.lines(20))
}

// Stop sends SIGTERM to influxd's process group, waits up to StopTimeout
// (or until ctx ends) and then sends SIGKILL. It returns once the child is
// gone; calling it again, or after Kill, does nothing.
func (p *Process) Stop(ctx context.Context) error {
	c := p.current()
	if c == nil {
		return nil
	}
	c.requested.Store(true)
	select {
	case <-c.done:
		return nil
	default:
	}
	pid := c.cmd.Process.Pid
	if err := signalGroup(c.cmd.Process, sigTerm); err != nil {
		return fmt.Errorf("influxd: SIGTERM pid %d: %w", pid, err)
	}
	timer := time.NewTimer(p.opts.StopTimeout)
	defer timer.Stop()
	select {
	case <-c.done:
		p.log.Info("influxd stopped", "pid", pid)
		return nil
	case <-timer.C:
		p.log.Warn("influxd ignored SIGTERM, killing it", "pid", pid, "waited", p.opts.StopTimeout)
	case <-ctx.Done():
		p.log.Warn("influxd stop interrupted, killing it", "pid", pid, "err", ctx.Err())
	}
	if err := signalGroup(c.cmd.Process, sigKill); err != nil {
		return fmt.Errorf("influxd: SIGKILL pid %d: %w", pid, err)
	}
	<-c.done
	return nil
}

// Kill sends SIGKILL at once and waits for the exit: a crash, for fault
// tests. Points InfluxDB acknowledged are in its fsynced WAL and survive.
func (p *Process) Kill() {
	c := p.current()
	if c == nil {
		return
	}
	c.requested.Store(true)
	_ = signalGroup(c.cmd.Process, sigKill)
	<-c.done
	p.log.Info("influxd killed", "pid", c.cmd.Process.Pid)
}

// Restart stops the child if it still runs and starts a new one on the same
// data dir and ports, waiting until it answers like Start does.
func (p *Process) Restart(ctx context.Context) error {
	if err := p.Stop(ctx); err != nil {
		return err
	}
	return p.run(ctx)
}

func (p *Process) current() *child {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// run launches one child and waits until it is ready and has the database.
func (p *Process) run(ctx context.Context) error {
	// The RPC port is private to influxd, so each run may take a new one;
	// only the HTTP port must stay put for clients.
	rpcPort, err := freePort("127.0.0.1")
	if err != nil {
		return err
	}
	p.rpcAddr = net.JoinHostPort("127.0.0.1", rpcPort)
	c, err := p.launch()
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.cur = c
	p.mu.Unlock()
	if err := p.waitReady(ctx, c); err != nil {
		return err
	}
	if err := p.createDatabase(ctx); err != nil {
		p.Kill()
		return err
	}
	p.log.Info("influxd ready", "url", p.URL(), "pid", c.cmd.Process.Pid,
		"data_dir", p.opts.DataDir, "database", p.opts.Database)
	return nil
}

func (p *Process) launch() (*child, error) {
	confPath, err := config{dataDir: p.opts.DataDir, httpAddr: p.httpAddr, rpcAddr: p.rpcAddr}.write()
	if err != nil {
		return nil, err
	}
	stdout, stderr := p.opts.Stdout, p.opts.Stderr
	var logFile *os.File
	if stdout == nil || stderr == nil {
		path := filepath.Join(p.opts.DataDir, "influxd.log")
		logFile, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("influxd: open log %s: %w", path, err)
		}
		if stdout == nil {
			stdout = logFile
		}
		if stderr == nil {
			stderr = logFile
		}
	}
	t := &tail{}
	cmd := exec.Command(p.bin, "run", "-config", confPath)
	cmd.Dir = p.opts.DataDir
	cmd.Env = childEnv(os.Environ())
	cmd.Stdout = io.MultiWriter(stdout, t)
	cmd.Stderr = io.MultiWriter(stderr, t)
	cmd.SysProcAttr = sysProcAttr()
	c := &child{cmd: cmd, done: make(chan struct{}), tail: t}

	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the *thread* that forked the child exits.
		// Holding this thread until the child is gone (and letting the
		// runtime discard it afterwards) ties the signal to swell's life,
		// not to whatever the scheduler does with idle threads.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.err = cmd.Wait()
		if logFile != nil {
			_ = logFile.Close()
		}
		close(c.done)
	}()
	if err := <-started; err != nil {
		if logFile != nil {
			_ = logFile.Close()
		}
		return nil, fmt.Errorf("influxd: start %s: %w", p.bin, err)
	}
	return c, nil
}

// waitReady polls /ping until it answers 204, the child exits, the start
// timeout passes or ctx ends; in the last three cases the child is gone
// when it returns.
func (p *Process) waitReady(ctx context.Context, c *child) error {
	deadline := time.NewTimer(p.opts.StartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	hc := &http.Client{Timeout: time.Second}
	for {
		if ping(ctx, hc, p.URL()) == nil {
			return nil
		}
		select {
		case <-c.done:
			if c.tail.contains("address already in use") {
				if !c.tail.contains(p.httpAddr) {
					return fmt.Errorf("%w: RPC %s; influxd log:\n%s", errRPCInUse, p.rpcAddr, c.tail.lines(20))
				}
				return fmt.Errorf("%w: %s (is another influxd running? choose another port); influxd log:\n%s",
					ErrAddrInUse, p.httpAddr, c.tail.lines(20))
			}
			return fmt.Errorf("influxd: exited during start (%w); log %s:\n%s",
				c.exitErr(), p.logWhere(), c.tail.lines(20))
		case <-ctx.Done():
			p.Kill()
			return fmt.Errorf("influxd: start interrupted: %w", ctx.Err())
		case <-deadline.C:
			p.Kill()
			return fmt.Errorf("influxd: no answer on %s/ping within %s; log %s:\n%s",
				p.URL(), p.opts.StartTimeout, p.logWhere(), c.tail.lines(20))
		case <-tick.C:
		}
	}
}

func (p *Process) logWhere() string {
	if p.opts.Stdout != nil && p.opts.Stderr != nil {
		return "(caller's writers)"
	}
	return filepath.Join(p.opts.DataDir, "influxd.log")
}

func ping(ctx context.Context, hc *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/ping", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("ping: %s", resp.Status)
	}
	return nil
}

// createDatabase runs CREATE DATABASE, which InfluxDB 1.x treats as a no-op
// when the database exists.
func (p *Process) createDatabase(ctx context.Context) error {
	q := "CREATE DATABASE " + quoteIdent(p.opts.Database)
	form := url.Values{"q": {q}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL()+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("influxd: %s: %w", q, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("influxd: %s at %s: %w", q, p.URL(), err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Error   string `json:"error"`
		Results []struct {
			Error string `json:"error"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("influxd: %s at %s: %s, unreadable answer: %w", q, p.URL(), resp.Status, err)
	}
	if body.Error != "" {
		return fmt.Errorf("influxd: %s at %s: %s", q, p.URL(), body.Error)
	}
	for _, r := range body.Results {
		if r.Error != "" {
			return fmt.Errorf("influxd: %s at %s: %s", q, p.URL(), r.Error)
		}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("influxd: %s at %s: %s", q, p.URL(), resp.Status)
	}
	return nil
}

// quoteIdent quotes an InfluxQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// findBinary resolves Options.Binary or the defaults.
func findBinary(bin string) (string, error) {
	if bin != "" {
		path, err := exec.LookPath(bin)
		if err != nil {
			return "", fmt.Errorf("%w: %s: %w; %s", ErrBinaryNotFound, bin, err, InstallHint)
		}
		return filepath.Abs(path)
	}
	local := filepath.Join("bin", "influxd")
	if path, err := exec.LookPath("./" + local); err == nil {
		return filepath.Abs(path)
	}
	if path, err := exec.LookPath("influxd"); err == nil {
		return path, nil
	}
	return "", fmt.Errorf("%w: not at ./%s nor on $PATH; %s", ErrBinaryNotFound, local, InstallHint)
}

// freePort asks the kernel for a port that is free right now on host.
func freePort(host string) (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("influxd: find a free port on %s: %w", host, err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("influxd: find a free port on %s: %w", host, err)
	}
	return strconv.Itoa(port), nil
}

// childEnv drops INFLUXDB_* variables: influxd reads them as overrides of
// its config file, and one left in the environment would silently move a
// port or a directory.
func childEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "INFLUXDB_") {
			out = append(out, kv)
		}
	}
	return out
}
