package net

import (
	"context"
	"fmt"
	gonet "net"
	"path"
	"time"

	psnet "github.com/shirou/gopsutil/v4/net"

	"github.com/swell-pipeline/swell/collector"
)

// Measurement is the measurement this input writes.
const Measurement = "net"

// Config selects the interfaces to report.
type Config struct {
	// Interfaces, when set, lists the interfaces to report, by name or glob
	// pattern ("eth*"), whether up or not, loopback included if listed.
	// When empty, every interface that is up and not loopback is reported.
	Interfaces []string
}

// CountersFunc reads per-interface counters; gopsutil's
// IOCountersWithContext(ctx, true) in production.
type CountersFunc func(ctx context.Context) ([]psnet.IOCountersStat, error)

// InterfacesFunc lists interfaces with their flags; net.Interfaces in
// production.
type InterfacesFunc func() ([]gonet.Interface, error)

// Net is the net input.
type Net struct {
	patterns   []string
	counters   CountersFunc
	interfaces InterfacesFunc
}

var _ collector.Input = (*Net)(nil)

// New returns a net input reading the host's interfaces.
func New(cfg Config) (*Net, error) {
	return NewWithSources(cfg,
		func(ctx context.Context) ([]psnet.IOCountersStat, error) {
			return psnet.IOCountersWithContext(ctx, true)
		},
		gonet.Interfaces)
}

// NewWithSources returns a net input reading through the given functions;
// tests use it.
func NewWithSources(cfg Config, counters CountersFunc, interfaces InterfacesFunc) (*Net, error) {
	for _, p := range cfg.Interfaces {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("net: interface pattern %q: %w", p, err)
		}
	}
	return &Net{patterns: cfg.Interfaces, counters: counters, interfaces: interfaces}, nil
}

// Gather reports one point per selected interface.
func (n *Net) Gather(ctx context.Context, acc collector.Accumulator) error {
	stats, err := n.counters(ctx)
	if err != nil {
		return fmt.Errorf("net: read interface counters: %w", err)
	}
	var flags map[string]gonet.Flags
	if len(n.patterns) == 0 {
		ifaces, err := n.interfaces()
		if err != nil {
			return fmt.Errorf("net: list interfaces: %w", err)
		}
		flags = make(map[string]gonet.Flags, len(ifaces))
		for _, i := range ifaces {
			flags[i.Name] = i.Flags
		}
	}
	for _, s := range stats {
		if !n.selected(s.Name, flags) {
			continue
		}
		acc.AddFields(Measurement, Fields(s), map[string]string{"interface": s.Name}, time.Time{})
	}
	return nil
}

// selected applies the patterns, or without patterns the up-and-not-loopback
// rule; an interface missing from flags (gone, or in another namespace) is
// skipped.
func (n *Net) selected(name string, flags map[string]gonet.Flags) bool {
	if len(n.patterns) > 0 {
		for _, p := range n.patterns {
			if ok, _ := path.Match(p, name); ok {
				return true
			}
		}
		return false
	}
	f, ok := flags[name]
	return ok && f&gonet.FlagLoopback == 0 && f&gonet.FlagUp != 0
}

// Fields are Telegraf's cumulative net fields.
func Fields(s psnet.IOCountersStat) map[string]any {
	return map[string]any{
		"bytes_sent":   s.BytesSent,
		"bytes_recv":   s.BytesRecv,
		"packets_sent": s.PacketsSent,
		"packets_recv": s.PacketsRecv,
		"err_in":       s.Errin,
		"err_out":      s.Errout,
		"drop_in":      s.Dropin,
		"drop_out":     s.Dropout,
	}
}
