package zktest

import "syscall"

// deathBoundAttr puts the real server in a group of its own that dies with
// the test binary (the parent-death signal).
func deathBoundAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
