// Package docker is the collector's container input. It emits Telegraf's
// docker_container_* measurements, but reads the numbers straight from the
// kernel instead of asking the engine for them:
//
//	Docker API ── ContainerList (every gather) ─┐
//	           └─ ContainerInspect (new or changed containers only, cached)
//	                                            │ name, image, labels, state,
//	                                            │ init PID, cgroup parent
//	                                            ▼
//	/proc/<pid>/cgroup ──► cgroup dirs (v1 or v2) ──► opencontainers/cgroups
//	/proc/<pid>/net/dev ─────────────────────────┐    manager (fs / fs2)
//	                                             ▼           │
//	                            cAdvisor libcontainer Handler.GetStats
//	                                             │
//	/proc/stat (host CPU time) ──────────────────┤
//	                                             ▼
//	     docker_container_{cpu,mem,net,blkio,status} points ──► Accumulator
//
// The Docker stats API is never called: it samples each container for a
// second or more and costs the engine a goroutine and a cgroup read per
// container, which is what made Telegraf's input take seconds per gather.
// See README.md for the measurements, the cgroup v1/v2 notes and the mounts
// an agent running in a container needs.
package docker
