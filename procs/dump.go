package procs

import (
	"sync"
	"syscall"
	"time"
)

// dumping is what DumpBeforeKill turned on: how many callers have not yet
// stopped it, and the wait after SIGQUIT.
var dumping struct {
	sync.Mutex
	holders int
	wait    time.Duration
}

// DumpBeforeKill makes Shutdown, for a child that outlived its grace period,
// send SIGQUIT to the child (the group leader only) and wait up to wait for
// it to exit before the group is SIGKILLed. A Go child answers SIGQUIT by
// writing the stack of every goroutine to its stderr, which is its log file:
// a test whose worker hung finds where in that worker's log. It holds for the
// whole process until stop is called; calls may overlap (parallel tests) and
// it stays on until every caller has stopped it. Off by default, so that a
// user's hung worker is killed without delay.
func DumpBeforeKill(wait time.Duration) (stop func()) {
	dumping.Lock()
	defer dumping.Unlock()
	dumping.holders++
	dumping.wait = wait
	var once sync.Once
	return func() {
		once.Do(func() {
			dumping.Lock()
			defer dumping.Unlock()
			dumping.holders--
		})
	}
}

// dumpWait is the wait after SIGQUIT, 0 when DumpBeforeKill is off.
func dumpWait() time.Duration {
	dumping.Lock()
	defer dumping.Unlock()
	if dumping.holders == 0 {
		return 0
	}
	return dumping.wait
}

// dumpStacks sends SIGQUIT to the child and waits for it as DumpBeforeKill
// asks; it does nothing when off, or when sig already was a fatal signal.
func (p *Process) dumpStacks(sig syscall.Signal) {
	wait := dumpWait()
	if wait <= 0 || sig == syscall.SIGKILL || sig == syscall.SIGQUIT {
		return
	}
	select {
	case <-p.done:
		return // reaped: the pid may be another process's already
	default:
	}
	if Signal(p.pid, syscall.SIGQUIT) != nil {
		return
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
	}
}
