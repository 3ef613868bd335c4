//go:build !linux

package slotport

func schemes() map[string]scheme { return map[string]scheme{"native": native} }
