//go:build !windows

package localcluster

import "syscall"

// The signals of pause-worker and resume-worker.
const (
	pauseSignal  = syscall.SIGSTOP
	resumeSignal = syscall.SIGCONT
)
