// Package standalone is `swell up`: the whole pipeline on one machine in one
// process. It starts an embedded NATS server (JetStream under the data dir)
// and a managed influxd child unless told to use existing ones, then runs the
// server parts, a local agent and the HTTP endpoint, and stops them in the
// reverse order on shutdown so the agent's last batch still lands:
//
//	start:  data dir → NATS → influxd → server, agent, HTTP
//	stop:   agent → server, HTTP → influxd → NATS
package standalone
