package health

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// targetFor points a target at a test server's host and port.
func targetFor(t *testing.T, addr string) Target {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return Target{Instance: "web.1", ContainerID: "c0ffee", Host: host, HostPorts: []int{p}}
}

// statusServer answers /code/N with status N, /redirect with a 302 to a
// failing page and /slow only when the client gives up.
func statusServer(t *testing.T, tlsOn bool) *httptest.Server {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/code/"):
			code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/code/"))
			w.WriteHeader(code)
		case r.URL.Path == "/redirect":
			http.Redirect(w, r, "/code/500", http.StatusFound)
		case r.URL.Path == "/slow":
			<-r.Context().Done()
		default:
			http.NotFound(w, r)
		}
	})
	var srv *httptest.Server
	if tlsOn {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv
}

func TestProbeHTTP(t *testing.T) {
	srv := statusServer(t, false)
	tlsSrv := statusServer(t, true)
	tests := []struct {
		name       string
		protocol   Protocol
		path       string
		want       Status
		wantReason string
	}{
		{"200 is healthy", HTTP, "/code/200", Pass, "HTTP 200 OK"},
		{"204 is healthy", HTTP, "/code/204", Pass, "204"},
		{"302 is healthy and not followed", HTTP, "/redirect", Pass, "302"},
		{"399 is healthy", HTTP, "/code/399", Pass, "399"},
		{"400 fails", HTTP, "/code/400", Fail, "400"},
		{"404 fails", HTTP, "/nothing-here", Fail, "404"},
		{"500 fails", HTTP, "/code/500", Fail, "500"},
		{"503 fails", HTTP, "/code/503", Fail, "503 Service Unavailable"},
		{"no answer within the timeout fails", HTTP, "/slow", Fail, "no answer within timeout 200ms"},
		{"HTTPS with a self-signed certificate is healthy", HTTPS, "/code/200", Pass, "https://"},
		{"HTTPS 500 fails", HTTPS, "/code/500", Fail, "500"},
	}
	p := NewProber(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := srv
			if tt.protocol == HTTPS {
				s = tlsSrv
			}
			check := Check{Protocol: tt.protocol, Path: tt.path, Timeout: 200 * time.Millisecond}
			o := p.Probe(t.Context(), check, targetFor(t, s.Listener.Addr().String()))
			if o.Status != tt.want || !strings.Contains(o.Reason, tt.wantReason) {
				t.Errorf("Probe = %s %q, want %s containing %q", o.Status, o.Reason, tt.want, tt.wantReason)
			}
		})
	}
}

func TestProbeHTTPDefaultsToSlash(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got <- r.URL.Path }))
	t.Cleanup(srv.Close)
	o := NewProber(nil).Probe(t.Context(), Check{Protocol: HTTP, Timeout: time.Second}, targetFor(t, srv.Listener.Addr().String()))
	if o.Status != Pass {
		t.Fatalf("Probe = %+v", o)
	}
	if p := <-got; p != "/" {
		t.Errorf("requested %q, want /", p)
	}
}

// switchingServer answers every request with 101 Switching Protocols: the
// one 1xx an HTTP client hands back as the final answer.
func switchingServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				buf := make([]byte, 4096)
				_, _ = conn.Read(buf)
				_, _ = conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n"))
			}()
		}
	}()
	return ln.Addr().String()
}

func TestProbeHTTP1xx(t *testing.T) {
	addr := switchingServer(t)
	tests := []struct {
		name   string
		ignore bool
		want   Status
	}{
		{"1xx fails without ignoreHttp1xx", false, Fail},
		{"1xx is ignored with ignoreHttp1xx", true, Ignored},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := Check{Protocol: HTTP, Path: "/healthz", Timeout: time.Second, IgnoreHTTP1xx: tt.ignore}
			o := NewProber(nil).Probe(t.Context(), check, targetFor(t, addr))
			if o.Status != tt.want || !strings.Contains(o.Reason, "101") {
				t.Errorf("Probe = %s %q, want %s naming 101", o.Status, o.Reason, tt.want)
			}
		})
	}
}

func TestProbeTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name   string
		target Target
		want   Status
	}{
		{"a listening port is healthy", targetFor(t, ln.Addr().String()), Pass},
		{"a closed port fails", targetFor(t, closedAddr), Fail},
		{"an unpublished port fails", Target{Instance: "web.1", HostPorts: []int{0}}, Fail},
		{"a missing port index fails", Target{Instance: "web.1"}, Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewProber(nil).Probe(t.Context(), Check{Protocol: TCP, Timeout: time.Second}, tt.target)
			if o.Status != tt.want {
				t.Errorf("Probe = %s %q, want %s", o.Status, o.Reason, tt.want)
			}
		})
	}
}

// fakeExecer stands in for docker exec; the Docker one is exercised by the
// integration test.
type fakeExecer struct {
	code  int
	out   string
	err   error
	block bool
	gotID string
	gotCm []string
}

func (f *fakeExecer) Exec(ctx context.Context, id string, cmd []string) (int, string, error) {
	f.gotID, f.gotCm = id, cmd
	if f.block {
		<-ctx.Done()
		return -1, "", ctx.Err()
	}
	return f.code, f.out, f.err
}

func TestProbeCommand(t *testing.T) {
	cmd := []string{"/testapp", "probe", "http://127.0.0.1:8080/healthz"}
	tests := []struct {
		name       string
		ex         *fakeExecer
		want       Status
		wantReason string
	}{
		{"exit 0 is healthy", &fakeExecer{code: 0}, Pass, "exit code 0"},
		{"a non-zero exit fails with the output", &fakeExecer{code: 1, out: "connection refused"}, Fail, "exit code 1: connection refused"},
		{"an exec error fails", &fakeExecer{err: errors.New("no such container")}, Fail, "no such container"},
		{"a command running past the timeout fails", &fakeExecer{block: true}, Fail, "no answer within timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := Check{Protocol: COMMAND, Command: cmd, Timeout: 100 * time.Millisecond}
			o := NewProber(tt.ex).Probe(t.Context(), check, Target{Instance: "web.1", ContainerID: "c0ffee"})
			if o.Status != tt.want || !strings.Contains(o.Reason, tt.wantReason) {
				t.Errorf("Probe = %s %q, want %s containing %q", o.Status, o.Reason, tt.want, tt.wantReason)
			}
			if tt.ex.gotID != "c0ffee" || strings.Join(tt.ex.gotCm, " ") != strings.Join(cmd, " ") {
				t.Errorf("exec'd %v in %q", tt.ex.gotCm, tt.ex.gotID)
			}
		})
	}
	if o := NewProber(nil).Probe(t.Context(), Check{Protocol: COMMAND, Command: cmd, Timeout: time.Second}, Target{ContainerID: "c"}); o.Status != Fail {
		t.Errorf("COMMAND without an Execer = %s, want fail", o.Status)
	}
}
