package procs

// Usage is a process's resource use as the platform reports it: zero fields
// are not known here.
type Usage struct {
	// RSSBytes is the resident set size.
	RSSBytes int64
	// CPUMillis is the CPU time used so far, user and system.
	CPUMillis int64
}

// SelfUsage returns this process's resource use (a worker puts it in its
// heartbeat for nimbus's live history). On Linux it reads /proc/self/stat;
// elsewhere it returns zeros (not known).
func SelfUsage() Usage { return selfUsage() }
