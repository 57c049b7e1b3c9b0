package influxd

import "syscall"

// sysProcAttr puts influxd in its own process group, so signals reach it
// and nothing else, and asks the kernel to SIGKILL it when the thread that
// started it dies: swell crashing or being killed never orphans influxd.
// The starting goroutine holds its OS thread for the child's whole life
// (see launch), because Pdeathsig follows the thread, not the process.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
