package slotport

import "golang.org/x/sys/unix"

var native = scheme{reserveOpt: unix.SO_REUSEPORT, listenerReusePort: true}

// ephemeralStart reads net.inet.ip.portrange.first (49152 unless configured).
func ephemeralStart() int {
	if v, err := unix.SysctlUint32("net.inet.ip.portrange.first"); err == nil && v > 10000 {
		return int(v)
	}
	return 49152
}
