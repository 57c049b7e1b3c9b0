//go:build unix && !linux

package influxd

import "syscall"

// sysProcAttr puts influxd in its own process group. Without Pdeathsig
// outside Linux, only Stop (or the deferred cleanup of `swell up`) ends it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
