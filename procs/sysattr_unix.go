//go:build unix && !linux

package procs

import "syscall"

// sysProcAttr puts the child in a process group of its own; there is no
// parent-death signal here: the lifeline alone ties the child to its owner.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
