package localcluster

import "syscall"

// Windows has no SIGSTOP or SIGCONT (nor a cluster: see lockFile); these
// values only keep the faults compiling, and procs.Signal refuses them.
const (
	pauseSignal  = syscall.Signal(0x13)
	resumeSignal = syscall.Signal(0x12)
)
