package demo

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// manifestTemplate is what the demo applies. The policy is the default one
// with windows short enough for a demo; the alert fires when an instance
// holds more requests than its target, which happens while demand outruns
// the instances that are ready, and resolves once the autoscaler caught up.
// The route's groupInterval of 1s lets the resolve follow at once.
const manifestTemplate = `kind: Service
id: @SERVICE@
image: @IMAGE@
instances: 1
cpus: 0.1
mem: 32
labels: {@LABELS@}
portMappings: [{containerPort: 8080, servicePort: @PORT@}]
healthChecks:
  - {protocol: HTTP, path: /healthz, portIndex: 0, gracePeriodSeconds: 0,
     intervalSeconds: 1, timeoutSeconds: 1, maxConsecutiveFailures: 2}
autoscale:
  metric: concurrency
  target: @TARGET@
  targetUtilization: @UTIL@
  min: @MIN@
  max: @MAX@
  stableWindow: 20s
  panicWindow: 4s
  panicThreshold: 2.0
  scaleUp: {maxRate: 1000}
  scaleDown: {maxRate: 2, stabilization: 10s}
---
kind: AlertRule
name: @ALERT@
measurement: swell_concurrency
field: in_flight
where: {service: @SERVICE@}
groupBy: [service]
reduce: max
window: 3s
crit: "> @TARGET@"
labels: {severity: critical}
annotations:
  summary: '{{.Labels.service}}: busiest instance {{printf "%.1f" .Value}} requests in flight (target @TARGET@)'
---
kind: Route
name: demo
matchers: {alertname: @ALERT@}
receivers: [@RECEIVER@]
groupWait: 0s
groupInterval: 1s
repeatInterval: 1h
---
kind: Receiver
name: @RECEIVER@
type: webhook
url: @SINK@
`

// Manifest returns the YAML the demo applies: the service on servicePort,
// its alert rule, a route and the webhook receiver posting to sinkURL.
// labels are added to the service (and so to its containers).
func Manifest(image string, servicePort int, sinkURL string, labels map[string]string) string {
	all := map[string]string{"app": "swell-demo"}
	maps.Copy(all, labels)
	var ls []string
	for _, k := range slices.Sorted(maps.Keys(all)) {
		ls = append(ls, strconv.Quote(k)+": "+strconv.Quote(all[k]))
	}
	return strings.NewReplacer(
		"@SERVICE@", ServiceID,
		"@IMAGE@", image,
		"@LABELS@", strings.Join(ls, ", "),
		"@PORT@", strconv.Itoa(servicePort),
		"@TARGET@", strconv.Itoa(Target),
		"@UTIL@", strconv.FormatFloat(TargetUtilization, 'g', -1, 64),
		"@MIN@", strconv.Itoa(MinReplicas),
		"@MAX@", strconv.Itoa(MaxReplicas),
		"@ALERT@", AlertName,
		"@RECEIVER@", ReceiverName,
		"@SINK@", sinkURL,
	).Replace(manifestTemplate)
}

// planned is the number of instances a load of inFlight requests wants.
func planned(inFlight float64) int {
	n := int(math.Ceil(inFlight / (Target * TargetUtilization)))
	return min(max(n, MinReplicas), MaxReplicas)
}

// profileLine writes a profile as the --profile flag takes it.
func profileLine(ps []Phase) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = fmt.Sprintf("%s=%s@%d", p.Name, p.Duration, p.Concurrency)
	}
	return strings.Join(parts, ",")
}
