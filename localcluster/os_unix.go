//go:build unix

package localcluster

import (
	"os"
	"syscall"
)

// lockFile takes f's exclusive advisory lock without waiting.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
