package procs

import "syscall"

func sysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if parentDeathSignal {
		a.Pdeathsig = syscall.SIGKILL
	}
	return a
}
