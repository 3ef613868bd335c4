package procs

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// sZomb is the p_stat of a process that ended and was not yet reaped
// (SZOMB in <sys/proc.h>).
const sZomb = 5

// inspect asks the kernel for pid's kinfo_proc (sysctl kern.proc.pid), as
// ps(1) does: no /proc on macOS.
func inspect(pid int) (procState, error) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return procState{}, fmt.Errorf("sysctl kern.proc.pid.%d: %w", pid, err)
	}
	if int(kp.Proc.P_pid) != pid {
		return procState{}, fmt.Errorf("sysctl kern.proc.pid.%d: no such process", pid)
	}
	t := kp.Proc.P_starttime
	return procState{
		start:  uint64(t.Sec)*1_000_000 + uint64(t.Usec),
		zombie: kp.Proc.P_stat == sZomb,
	}, nil
}
