//go:build !windows

package main

import "syscall"

// sessionAttr puts the detached `up` in a session of its own: no
// controlling terminal, so the shell's hangup and Ctrl-C do not reach it.
func sessionAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
