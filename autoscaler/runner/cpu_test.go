package runner

import (
	"strconv"
	"testing"
	"time"
)

func TestCPUReaderPicksTheCPUOfServicesThatScaleOnIt(t *testing.T) {
	c := newCPUReader()
	c.services["/shop/web"] = true
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	batch := func(at time.Time) []byte {
		ns := at.UnixNano()
		return []byte(
			"docker_container_cpu,cpu=cpu-total,instance=web-1,node=n1,service=/shop/web usage_percent=42.5,usage_total=9i " + itoa(ns) + "\n" +
				"docker_container_cpu,cpu=cpu-total,instance=db-1,node=n1,service=/shop/db usage_percent=99 " + itoa(ns) + "\n" +
				"docker_container_mem,instance=web-1,service=/shop/web usage_percent=10 " + itoa(ns) + "\n" +
				"cpu,cpu=cpu-total usage_idle=50 " + itoa(ns) + "\n")
	}
	got := c.read(batch(t0))
	if len(got) != 1 || got[0].service != "/shop/web" || got[0].Instance != "web-1" || got[0].Node != "n1" ||
		got[0].Value != 42.5 || got[0].Period != defaultCPUPeriod || !got[0].at.Equal(t0) {
		t.Fatalf("first batch: %+v", got)
	}
	got = c.read(batch(t0.Add(2 * time.Second)))
	if len(got) != 1 || got[0].Period != 2*time.Second {
		t.Fatalf("second batch: %+v, want a 2s period (the collector's interval)", got)
	}
	if got := c.read([]byte("not line protocol\n")); len(got) != 0 {
		t.Errorf("garbage: %+v", got)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
