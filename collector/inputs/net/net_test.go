package net_test

import (
	"context"
	"errors"
	gonet "net"
	"slices"
	"testing"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	psnet "github.com/shirou/gopsutil/v4/net"

	"github.com/swell-pipeline/swell/collector/collectortest"
	"github.com/swell-pipeline/swell/collector/inputs/net"
)

func TestInterfaceSelection(t *testing.T) {
	counters := func(context.Context) ([]psnet.IOCountersStat, error) {
		return []psnet.IOCountersStat{
			{Name: "lo", BytesSent: 1}, {Name: "eth0", BytesSent: 2}, {Name: "eth1", BytesSent: 3},
			{Name: "docker0", BytesSent: 4}, {Name: "veth1a2b", BytesSent: 5}, {Name: "gone0"},
		}, nil
	}
	ifaces := func() ([]gonet.Interface, error) {
		return []gonet.Interface{
			{Name: "lo", Flags: gonet.FlagUp | gonet.FlagLoopback},
			{Name: "eth0", Flags: gonet.FlagUp | gonet.FlagBroadcast},
			{Name: "eth1", Flags: gonet.FlagBroadcast}, // down
			{Name: "docker0", Flags: gonet.FlagUp},
			{Name: "veth1a2b", Flags: gonet.FlagUp},
		}, nil
	}
	tests := []struct {
		name       string
		interfaces []string
		want       []string
	}{
		{"default skips loopback, down and unknown interfaces", nil, []string{"docker0", "eth0", "veth1a2b"}},
		{"patterns pick interfaces whatever their state", []string{"eth*", "lo"}, []string{"eth0", "eth1", "lo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := net.NewWithSources(net.Config{Interfaces: tt.interfaces}, counters, ifaces)
			if err != nil {
				t.Fatal(err)
			}
			points, err := collectortest.Gather(t, in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range points {
				got = append(got, p.Tags["interface"])
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("interfaces %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewRejectsBadPattern(t *testing.T) {
	if _, err := net.New(net.Config{Interfaces: []string{"eth["}}); err == nil {
		t.Fatal("New accepted a malformed pattern")
	}
}

func TestGatherReturnsReadErrors(t *testing.T) {
	boom := errors.New("no /proc/net/dev")
	in, err := net.NewWithSources(net.Config{}, func(context.Context) ([]psnet.IOCountersStat, error) { return nil, boom }, gonet.Interfaces)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collectortest.Gather(t, in); !errors.Is(err, boom) {
		t.Fatalf("error = %v, want it to wrap %v", err, boom)
	}
}

// upNonLoopback lists the interfaces the default config reports.
func upNonLoopback(t *testing.T) map[string]bool {
	t.Helper()
	ifaces, err := gonet.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	up := map[string]bool{}
	for _, i := range ifaces {
		if i.Flags&gonet.FlagUp != 0 && i.Flags&gonet.FlagLoopback == 0 {
			up[i.Name] = true
		}
	}
	return up
}

func TestGatherOnThisHost(t *testing.T) {
	in, err := net.New(net.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// Containers started by other tests add and remove veth interfaces;
	// an interface seen before or after the gather is fair game.
	before := upNonLoopback(t)
	points, err := collectortest.Gather(t, in)
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	after := upNonLoopback(t)
	if len(before) > 0 && len(points) == 0 {
		t.Errorf("no points, yet interfaces %v are up", before)
	}
	for _, p := range points {
		if p.Measurement != net.Measurement {
			t.Fatalf("unexpected measurement %q", p.Measurement)
		}
		collectortest.RequireTagKeys(t, p, "interface")
		if name := p.Tags["interface"]; !before[name] && !after[name] {
			t.Errorf("reported %s, which is not an up, non-loopback interface", name)
		}
		collectortest.RequireFields(t, p, map[string]lineprotocol.ValueKind{
			"bytes_sent": lineprotocol.Int, "bytes_recv": lineprotocol.Int,
			"packets_sent": lineprotocol.Int, "packets_recv": lineprotocol.Int,
			"err_in": lineprotocol.Int, "err_out": lineprotocol.Int,
			"drop_in": lineprotocol.Int, "drop_out": lineprotocol.Int,
		})
	}
}
