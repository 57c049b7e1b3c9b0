//go:build !unix

package influxd

import (
	"os"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// signalGroup can only kill outright where there are no process groups.
func signalGroup(p *os.Process, _ syscall.Signal) error { return p.Kill() }

const (
	sigTerm = syscall.Signal(15)
	sigKill = syscall.Signal(9)
)
