// Package connections is the collector's load input for containers the
// routers do not serve (services without a servicePort): it counts the
// established TCP connections on each container port, read from the
// container's own network namespace, and writes them as
// swell_concurrency,source=connections. RunSignals publishes the same
// counts on swell.signal.<service> every second for the autoscaler.
//
//	Docker API ── ContainerList (label swell.node=<node>, running) ─┐
//	           └─ ContainerInspect (new containers only: init PID)  │
//	                                                                 ▼
//	/proc/<pid>/net/tcp, tcp6 ──► LISTEN ports + ESTABLISHED per local port
//	                                                                 │
//	          counted ports = swell.ports label ∪ published ∪ listening
//	                                                                 ▼
//	   Gather: one point per container port ──► Accumulator (interval)
//	   RunSignals: one Signal per service   ──► swell.signal.<service> (1 s)
//
// /proc/<pid>/net shows the tables of the namespace pid lives in, so no
// setns is needed and cgroup v1 or v2 makes no difference. An established
// socket whose local port is a listening port is an accepted connection,
// which is load; one on another port is a connection the container opened
// itself (to its database, say), which is not. See README.md.
package connections
