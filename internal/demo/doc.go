// Package demo is `swell demo` (`make demo`): the whole loop on this
// machine, visible in the terminal. It starts swell up in a data dir with
// three nodes, applies a demo service, an alert rule and a webhook receiver
// through the API, drives a load profile against the service port and shows
// what swell does about it, then stops everything it started:
//
//	preflight: Docker answers, the image exists, influxd is installed
//	start:     swell up (node 1: NATS, influxd, server, agent on 127.0.0.1)
//	           → agents on 127.0.0.2 and .3 → webhook sink on 127.0.0.1
//	apply:     Service (autoscale, health check) + AlertRule + Route + Receiver
//	drive:     load phases (loadgen) ─┐
//	watch:     every second: API (services, instances, scale events),
//	           router signals (in flight), sink (notifications) ──► lines
//	settle:    back to min, alert resolved
//	end:       summary, PNG plot (simplot), delete the service,
//	           stop the agents and swell up, remove leftover containers
package demo
