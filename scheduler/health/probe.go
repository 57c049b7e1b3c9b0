package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Execer runs a command inside a container and returns its exit code and
// the tail of its output. runtime.Docker implements it with docker exec.
type Execer interface {
	Exec(ctx context.Context, containerID string, cmd []string) (exitCode int, output string, err error)
}

// Target is an instance as the probes reach it.
type Target struct {
	Instance    string
	ContainerID string
	// Host is the node's address the instance's ports are published on;
	// empty means 127.0.0.1.
	Host string
	// HostPorts are the published ports in portMappings order.
	HostPorts []int
	// StartedAt starts the grace period.
	StartedAt time.Time
}

// Prober runs single probes. Its zero value cannot run COMMAND checks.
type Prober struct {
	Execer Execer
	client *http.Client
}

// NewProber returns a prober; execer may be nil when no COMMAND check
// will run.
func NewProber(execer Execer) *Prober {
	tr := &http.Transport{
		// A fresh connection per probe: a kept-alive one could outlive the
		// container behind a reused port and hide that it is gone.
		DisableKeepAlives: true,
		// An instance is addressed by IP:port, so there is no name a
		// certificate could be checked against.
		// Proxy stays nil: HTTP_PROXY from the agent's environment must
		// not route probes of local instances elsewhere.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
	}
	return &Prober{
		Execer: execer,
		client: &http.Client{
			Transport: tr,
			// A redirect is an answer in 200–399, hence healthy; following
			// it would probe something else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Probe runs check once against target, within the check's timeout.
func (p *Prober) Probe(ctx context.Context, check Check, target Target) Outcome {
	ctx, cancel := context.WithTimeout(ctx, check.Timeout)
	defer cancel()
	switch check.Protocol {
	case HTTP, HTTPS:
		return p.probeHTTP(ctx, check, target)
	case TCP:
		return probeTCP(ctx, check, target)
	case COMMAND:
		return p.probeCommand(ctx, check, target)
	}
	return Outcome{Status: Fail, Reason: fmt.Sprintf("unknown protocol %q", check.Protocol)}
}

func address(check Check, target Target) (string, error) {
	if check.PortIndex < 0 || check.PortIndex >= len(target.HostPorts) {
		return "", fmt.Errorf("portIndex %d: instance has %d published port(s)", check.PortIndex, len(target.HostPorts))
	}
	port := target.HostPorts[check.PortIndex]
	if port == 0 {
		return "", fmt.Errorf("portIndex %d is not published (yet)", check.PortIndex)
	}
	host := target.Host
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

func (p *Prober) probeHTTP(ctx context.Context, check Check, target Target) Outcome {
	addr, err := address(check, target)
	if err != nil {
		return Outcome{Status: Fail, Reason: err.Error()}
	}
	path := check.Path
	if path == "" {
		path = "/"
	} else if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	url := strings.ToLower(string(check.Protocol)) + "://" + addr + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Outcome{Status: Fail, Reason: fmt.Sprintf("GET %s: %v", url, err)}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return Outcome{Status: Fail, Reason: failReason(ctx, "GET "+url, check.Timeout, err)}
	}
	code := resp.StatusCode
	// The body is not part of the verdict, but reading a little lets a
	// server that writes after the header finish cleanly. After a 1xx
	// (101) the body is the raw connection, which may never end.
	if code >= 200 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	}
	resp.Body.Close()
	reason := fmt.Sprintf("GET %s: HTTP %s", url, resp.Status)
	switch {
	case code >= 200 && code <= 399:
		return Outcome{Status: Pass, Reason: reason}
	case code >= 100 && code <= 199 && check.IgnoreHTTP1xx:
		return Outcome{Status: Ignored, Reason: reason}
	}
	return Outcome{Status: Fail, Reason: reason}
}

func probeTCP(ctx context.Context, check Check, target Target) Outcome {
	addr, err := address(check, target)
	if err != nil {
		return Outcome{Status: Fail, Reason: err.Error()}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Outcome{Status: Fail, Reason: failReason(ctx, "connect "+addr, check.Timeout, err)}
	}
	conn.Close()
	return Outcome{Status: Pass, Reason: "connected to " + addr}
}

func (p *Prober) probeCommand(ctx context.Context, check Check, target Target) Outcome {
	if p.Execer == nil {
		return Outcome{Status: Fail, Reason: "COMMAND check: no way to exec in containers on this agent"}
	}
	if target.ContainerID == "" {
		return Outcome{Status: Fail, Reason: "COMMAND check: instance has no container yet"}
	}
	code, out, err := p.Execer.Exec(ctx, target.ContainerID, check.Command)
	if err != nil {
		return Outcome{Status: Fail, Reason: failReason(ctx, fmt.Sprintf("exec %q", check.Command), check.Timeout, err)}
	}
	if code != 0 {
		r := fmt.Sprintf("exec %q: exit code %d", check.Command, code)
		if out != "" {
			r += ": " + out
		}
		return Outcome{Status: Fail, Reason: r}
	}
	return Outcome{Status: Pass, Reason: fmt.Sprintf("exec %q: exit code 0", check.Command)}
}

// failReason names a timeout as such: "context deadline exceeded" deep in
// a wrapped error is easy to misread.
func failReason(ctx context.Context, what string, timeout time.Duration, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("%s: no answer within timeout %v", what, timeout)
	}
	return fmt.Sprintf("%s: %v", what, err)
}
