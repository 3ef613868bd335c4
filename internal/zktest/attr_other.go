//go:build !linux

package zktest

import (
	"syscall"

	"github.com/localstorm/localstorm/procs"
)

// deathBoundAttr puts the real server in a group of its own; without a
// parent-death signal here, the test's cleanup stops it.
func deathBoundAttr() *syscall.SysProcAttr { return procs.GroupAttr() }
