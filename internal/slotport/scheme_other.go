//go:build unix && !linux && !darwin

package slotport

import "golang.org/x/sys/unix"

// Other BSDs share macOS's rule.
var native = scheme{reserveOpt: unix.SO_REUSEPORT, listenerReusePort: true}

// ephemeralStart is IANA's dynamic range.
func ephemeralStart() int { return 49152 }
