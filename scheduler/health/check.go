package health

import (
	"errors"
	"fmt"
	"time"
)

// Protocol is how a check probes an instance.
type Protocol string

// The protocols Marathon's health checks have.
const (
	HTTP    Protocol = "HTTP"
	HTTPS   Protocol = "HTTPS"
	TCP     Protocol = "TCP"
	COMMAND Protocol = "COMMAND"
)

// Check is one health check of a service, in Marathon's terms.
type Check struct {
	Protocol Protocol
	// Path is the HTTP(S) request path; empty means "/".
	Path string
	// PortIndex picks the instance's host port (portMappings order) that
	// HTTP, HTTPS and TCP checks connect to.
	PortIndex int
	// Command runs inside the container for COMMAND checks, as an argv (no
	// shell is implied: images FROM scratch have none).
	Command []string
	// GracePeriod: failures are ignored for this long after the instance
	// started, or until it is healthy for the first time.
	GracePeriod time.Duration
	// Interval is the time between the starts of two probes.
	Interval time.Duration
	// Timeout bounds one probe; a probe that takes longer fails.
	Timeout time.Duration
	// MaxConsecutiveFailures is the number of failures in a row after which
	// the instance is to be killed; 0 means never.
	MaxConsecutiveFailures int
	// IgnoreHTTP1xx discards HTTP 1xx answers instead of failing on them.
	IgnoreHTTP1xx bool
}

// Marathon's defaults, for callers that build a Check from a spec with
// fields left out.
const (
	DefaultGracePeriod            = 300 * time.Second
	DefaultInterval               = 60 * time.Second
	DefaultTimeout                = 20 * time.Second
	DefaultMaxConsecutiveFailures = 3
)

// Validate reports a check that cannot run against an instance with
// ports host ports.
func (c Check) Validate(ports int) error {
	switch c.Protocol {
	case HTTP, HTTPS, TCP:
		if c.PortIndex < 0 || c.PortIndex >= ports {
			return fmt.Errorf("health check %s: portIndex %d: the instance has %d port(s)", c.Protocol, c.PortIndex, ports)
		}
	case COMMAND:
		if len(c.Command) == 0 {
			return errors.New("health check COMMAND: command is empty")
		}
	default:
		return fmt.Errorf("health check protocol %q: want HTTP, HTTPS, TCP or COMMAND", c.Protocol)
	}
	switch {
	case c.Interval <= 0:
		return fmt.Errorf("health check %s: intervalSeconds must be positive", c.Protocol)
	case c.Timeout <= 0:
		return fmt.Errorf("health check %s: timeoutSeconds must be positive", c.Protocol)
	case c.GracePeriod < 0:
		return fmt.Errorf("health check %s: gracePeriodSeconds must not be negative", c.Protocol)
	case c.MaxConsecutiveFailures < 0:
		return fmt.Errorf("health check %s: maxConsecutiveFailures must not be negative", c.Protocol)
	}
	return nil
}
