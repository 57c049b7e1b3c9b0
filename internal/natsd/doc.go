// Package natsd runs a NATS server with JetStream inside swell's own process:
// `swell up` serves its clients from it, and the tests start one per test on
// a random port. It lives apart from package bus so that the agent, which
// only connects to NATS, does not link the server.
package natsd
