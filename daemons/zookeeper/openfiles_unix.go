//go:build unix

package zookeeper

import (
	"os"
	"syscall"
)

// openFiles counts this process's descriptors (/dev/fd, on Linux a link to
// /proc/self/fd, on macOS the fdesc file system) and reads its limit.
func openFiles() (int, int) {
	n := -1
	if entries, err := os.ReadDir("/dev/fd"); err == nil {
		n = len(entries)
	}
	limit := -1
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil {
		limit = int(min(rl.Cur, 1<<31-1))
	}
	return n, limit
}
