//go:build !linux && !darwin

package procs

import (
	"fmt"
	"runtime"
)

// inspect has no implementation here: localstorm supervises processes on
// Linux and macOS (Windows users run it under WSL2).
func inspect(pid int) (procState, error) {
	return procState{}, fmt.Errorf("inspect pid %d: not implemented on %s", pid, runtime.GOOS)
}
