//go:build !linux

package procs

// selfUsage is not known here: the live history shows no worker RSS or CPU.
func selfUsage() Usage { return Usage{} }
