package procs

import (
	"sync/atomic"
	"syscall"
	"time"
)

// dumpWait is how long Shutdown waits after SIGQUIT; 0 sends none.
var dumpWait atomic.Int64

// DumpBeforeKill makes Shutdown, for a child that outlived its grace period,
// send SIGQUIT to the child (the group leader only) and wait up to wait for
// it to exit before the group is SIGKILLed. A Go child answers SIGQUIT by
// writing the stack of every goroutine to its stderr, which is its log file:
// a test whose worker hung finds where in that worker's log. It holds for the
// whole process; tests turn it on (testkit does), and 0, the default, turns
// it off, so that a user's hung worker is killed without delay.
func DumpBeforeKill(wait time.Duration) { dumpWait.Store(int64(wait)) }

// dumpStacks sends SIGQUIT to the child and waits for it as DumpBeforeKill
// asks; it does nothing when off, or when sig already was a fatal signal.
func (p *Process) dumpStacks(sig syscall.Signal) {
	wait := time.Duration(dumpWait.Load())
	if wait <= 0 || sig == syscall.SIGKILL || sig == syscall.SIGQUIT {
		return
	}
	select {
	case <-p.done:
		return // reaped: the pid may be another process's already
	default:
	}
	if syscall.Kill(p.pid, syscall.SIGQUIT) != nil {
		return
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
	}
}
