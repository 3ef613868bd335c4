// Package slotport is the agreement between a cluster that reserves a
// worker's slot port and the worker that listens on it: the two must set
// matching socket options, and which options match differs between Linux
// and macOS.
//
// A cluster reserves each of its slot ports until it closes, so that no other
// cluster, in this process or another, picks one of them: a socket bound to
// 127.0.0.1:port without options (so the bind fails if anything holds the
// port), then given the platform's reuse option and never listening. The
// slot's worker listens with the matching option beside it; a dial meanwhile
// is refused, and the peer retries, as with no socket at all; and another
// reservation fails while either holds the port.
//
//   - Linux: a listener with SO_REUSEADDR, as every Go listener sets, may bind
//     beside a non-listening socket with SO_REUSEADDR.
//   - macOS (BSD): SO_REUSEADDR never lets two sockets share one exact
//     address; both must set SO_REUSEPORT, so the reservation and the
//     worker's listener set it.
package slotport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// scheme is the pair of options both sides set.
type scheme struct {
	// reserveOpt is set on the reservation after its bind.
	reserveOpt int
	// listenerReusePort makes the worker's listener set SO_REUSEPORT.
	listenerReusePort bool
}

// Reservation holds a slot port for its worker until Release.
type Reservation struct{ fd int }

// Reserve reserves 127.0.0.1:port; it fails if anything holds the port.
func Reserve(port int) (*Reservation, error) { return reserve(port, native) }

// Listen binds the worker's slot port beside its reservation, retrying for a
// while: a worker restarted on the same slot may find the port of its
// predecessor not yet released.
func Listen(ctx context.Context, port int) (net.Listener, error) {
	return listen(ctx, port, native)
}

func listen(ctx context.Context, port int, s scheme) (net.Listener, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	lc := net.ListenConfig{}
	if s.listenerReusePort {
		lc.Control = setReusePort
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err == nil {
			return ln, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return nil, fmt.Errorf("listen on slot port %s: %w", addr, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("listen on slot port %s: %w", addr, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Range is where slot ports are chosen: [10000, the first port of the
// kernel's ephemeral range). A port in that range that no worker listens on
// yet could meanwhile be handed to any listener on port 0 or to any outgoing
// connection as its source, and peers would then send their first tuples to
// a stranger, or to themselves; Storm's default slots (6700 and up) are
// below it too.
func Range() (lo, hi int) {
	return 10000, ephemeralStart()
}
