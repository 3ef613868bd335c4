package slotport

import (
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

var native = scheme{reserveOpt: syscall.SO_REUSEADDR}

// darwinScheme is macOS's, kept here so that Linux tests run it too.
var darwinScheme = scheme{reserveOpt: unix.SO_REUSEPORT, listenerReusePort: true}

// ephemeralStart reads ip_local_port_range (32768-60999 unless configured).
func ephemeralStart() int {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil {
				return v
			}
		}
	}
	return 32768
}
