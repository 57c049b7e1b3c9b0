package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/scheduler"
)

// StatusSource is the node token under which the leader's status points
// (swell_service, swell_node) travel in the metrics stream.
const StatusSource = "_leader"

// DefaultStatusInterval is how often the leader writes swell_service and
// swell_node points.
const DefaultStatusInterval = 5 * time.Second

// statusPoints is the cluster's state as line protocol: per service the
// desired, running, healthy, starting and pending replica counts (and the
// autoscale target per instance, when the service has a policy); per
// node whether it is ready, lost and draining, and how many instances it
// runs. Alerts (service-degraded, node-lost) and the dashboards read them.
func statusPoints(v *View, now time.Time) ([]byte, error) {
	type counts struct{ running, healthy, starting, pending int }
	perService := map[string]*counts{}
	perNode := map[string]int{}
	for _, in := range v.Instances {
		c := perService[in.Service]
		if c == nil {
			c = &counts{}
			perService[in.Service] = c
		}
		switch in.State {
		case scheduler.StateRunning:
			c.running++
			if in.Healthy {
				c.healthy++
			}
			perNode[in.Node]++
		case scheduler.StateStarting:
			c.starting++
			perNode[in.Node]++
		case scheduler.StatePending:
			c.pending++
		}
	}
	var enc lineprotocol.Encoder
	enc.SetPrecision(lineprotocol.Nanosecond)
	for _, s := range v.Services {
		c := perService[s.ID]
		if c == nil {
			c = &counts{}
		}
		enc.StartLine("swell_service")
		enc.AddTag("service", s.ID)
		enc.AddField("desired", lineprotocol.IntValue(int64(s.Instances)))
		enc.AddField("healthy", lineprotocol.IntValue(int64(c.healthy)))
		enc.AddField("pending", lineprotocol.IntValue(int64(c.pending)))
		enc.AddField("priority", lineprotocol.IntValue(int64(s.Priority)))
		enc.AddField("running", lineprotocol.IntValue(int64(c.running)))
		enc.AddField("starting", lineprotocol.IntValue(int64(c.starting)))
		if rec, ok := v.Records[s.ID]; ok && rec.Spec.Autoscale != nil {
			if t, ok := lineprotocol.FloatValue(rec.Spec.Autoscale.Target); ok {
				enc.AddField("target", t)
			}
		}
		enc.EndLine(now)
	}
	for _, n := range v.Nodes {
		enc.StartLine("swell_node")
		enc.AddTag("node", n.Name)
		enc.AddField("draining", boolInt(n.Draining))
		enc.AddField("instances", lineprotocol.IntValue(int64(perNode[n.Name])))
		enc.AddField("lost", boolInt(!n.Ready))
		enc.AddField("ready", boolInt(n.Ready))
		enc.EndLine(now)
	}
	if err := enc.Err(); err != nil {
		return nil, fmt.Errorf("controller: encode status points: %w", err)
	}
	return enc.Bytes(), nil
}

func boolInt(b bool) lineprotocol.Value {
	if b {
		return lineprotocol.IntValue(1)
	}
	return lineprotocol.IntValue(0)
}

// publishStatus sends the status points through the metrics stream, at
// most every StatusInterval. A failure is logged and retried at the next
// interval: the points are a gauge, the next one replaces it.
func (c *Controller) publishStatus(ctx context.Context, v *View, now time.Time) {
	if !c.lastStatus.IsZero() && now.Sub(c.lastStatus) < c.o.StatusInterval {
		return
	}
	c.lastStatus = now
	b, err := statusPoints(v, now)
	if err != nil {
		c.log.Warn("status points", "err", err)
		return
	}
	if len(b) == 0 {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	id := fmt.Sprintf("%s:%d", StatusSource, now.UnixNano())
	if _, err := c.o.JS.Publish(pctx, bus.MetricsSubject(StatusSource), b, jetstream.WithMsgID(id)); err != nil && ctx.Err() == nil {
		c.log.Warn("publish status points; next interval retries", "err", err)
	}
}
