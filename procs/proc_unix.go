//go:build unix

package procs

import (
	"errors"
	"fmt"
	"syscall"
)

// errUnsupported is nil where processes can be supervised.
var errUnsupported error

const sigKill = syscall.SIGKILL

// killGroup signals process group pgid; a group already gone is not an error.
func killGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 0 {
		return fmt.Errorf("invalid process group %d", pgid)
	}
	err := syscall.Kill(-pgid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// processExists reports whether a process (a zombie included) has pid.
func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// killOwnGroup SIGKILLs the process group of this process when it leads
// one (as every child of Launch does), so its children in the group go too.
func killOwnGroup() {
	if syscall.Getpgrp() == syscall.Getpid() {
		syscall.Kill(0, syscall.SIGKILL)
	}
}

func closeOnExec(fd int) { syscall.CloseOnExec(fd) }

// GroupAttr is the SysProcAttr of a child started outside Launch (a
// multilang subprocess) in a process group of its own, so that signalling
// the group (SignalGroup) reaches what it started too.
func GroupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// SignalGroup signals the process group pgid; a group already gone is not
// an error.
func SignalGroup(pgid int, sig syscall.Signal) error { return killGroup(pgid, sig) }

// Signal sends sig to the process pid.
func Signal(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }
