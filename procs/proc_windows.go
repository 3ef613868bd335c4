package procs

import (
	"errors"
	"os"
	"syscall"
)

// errUnsupported says why Launch refuses to run here: Storm's supervision
// needs process groups, group signals and a child that dies with its owner,
// which native Windows does not offer in the same way.
var errUnsupported = errors.New("native Windows cannot supervise worker processes; run localstorm under WSL2 (https://learn.microsoft.com/windows/wsl/install)")

const sigKill = syscall.SIGKILL

func killGroup(pgid int, sig syscall.Signal) error { return errUnsupported }

func processExists(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}

func killOwnGroup() {}

func closeOnExec(fd int) {}

func sysProcAttr() *syscall.SysProcAttr { return nil }

// GroupAttr is nil on Windows: there are no process groups to join.
func GroupAttr() *syscall.SysProcAttr { return nil }

// SignalGroup cannot signal a group on Windows.
func SignalGroup(pgid int, sig syscall.Signal) error { return errUnsupported }

// Signal can only kill on Windows (SIGKILL); other signals are refused.
func Signal(pid int, sig syscall.Signal) error {
	if sig != syscall.SIGKILL {
		return errUnsupported
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
