package runner

import (
	"encoding/json"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/swell-pipeline/swell/autoscaler"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/spec"
)

// CPU samples: Telegraf's docker_container_cpu usage_percent, with the
// service and instance tags the docker input adds.
const (
	cpuMeasurement = "docker_container_cpu"
	cpuField       = "usage_percent"
	// defaultCPUPeriod is assumed for an instance's first sample: the
	// collectors' default interval.
	defaultCPUPeriod = 10 * time.Second
)

// cpuSample is one instance's CPU over the period before at.
type cpuSample struct {
	autoscaler.Sample
	service string
	at      time.Time
}

// cpuReader picks the CPU of the containers of services that scale on
// cpu out of metric batches.
type cpuReader struct {
	services map[string]bool
	last     map[string]time.Time // instance → its previous sample's time
}

func newCPUReader() *cpuReader {
	return &cpuReader{services: map[string]bool{}, last: map[string]time.Time{}}
}

// want notes which services have a policy on cpu.
func (c *cpuReader) want(services *mirror) {
	clear(c.services)
	services.each(func(_ string, b []byte) {
		var rec state.ServiceRecord
		if json.Unmarshal(b, &rec) != nil || rec.Spec.Autoscale == nil {
			return
		}
		a := rec.Spec.Autoscale
		if a.Metric == spec.MetricCPU {
			c.services[rec.Spec.ID] = true
		}
		for _, m := range a.Metrics {
			if m.Metric == spec.MetricCPU {
				c.services[rec.Spec.ID] = true
			}
		}
	})
}

// read decodes a batch and returns its CPU samples of wanted services. The
// period of a sample is the time since the instance's previous one (the
// collector's interval), so each counts for the seconds it covers.
func (c *cpuReader) read(batch []byte) []cpuSample {
	var out []cpuSample
	dec := lineprotocol.NewDecoderWithBytes(batch)
	for dec.Next() {
		m, err := dec.Measurement()
		if err != nil || string(m) != cpuMeasurement {
			continue
		}
		var service, instance, node string
		for {
			k, v, err := dec.NextTag()
			if err != nil || k == nil {
				break
			}
			switch string(k) {
			case "service":
				service = string(v)
			case "instance":
				instance = string(v)
			case "node":
				node = string(v)
			}
		}
		if !c.services[service] || instance == "" {
			continue
		}
		value, ok := 0.0, false
		for {
			k, v, err := dec.NextField()
			if err != nil || k == nil {
				break
			}
			if string(k) == cpuField && v.Kind() == lineprotocol.Float {
				value, ok = v.FloatV(), true
			}
		}
		at, err := dec.Time(lineprotocol.Nanosecond, time.Time{})
		if !ok || err != nil || at.IsZero() {
			continue
		}
		period := defaultCPUPeriod
		if prev, seen := c.last[instance]; seen && at.After(prev) {
			period = min(at.Sub(prev), time.Minute)
		}
		c.last[instance] = at
		out = append(out, cpuSample{Sample: autoscaler.Sample{Instance: instance, Node: node, Metric: autoscaler.MetricCPU, Value: value, Period: period}, service: service, at: at})
	}
	if len(c.last) > 100_000 {
		clear(c.last) // instances come and go; periods are re-learnt
	}
	return out
}
