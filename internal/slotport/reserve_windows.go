package slotport

import (
	"errors"
	"syscall"
)

// native is unused on Windows, where no worker runs natively.
var native scheme

var errUnsupported = errors.New("slot ports cannot be reserved on native Windows; run localstorm under WSL2")

func reserve(port int, s scheme) (*Reservation, error) { return nil, errUnsupported }

// Release frees the port.
func (r *Reservation) Release() {}

func setReusePort(_, _ string, c syscall.RawConn) error { return errUnsupported }

// ephemeralStart is IANA's dynamic range, Windows's default.
func ephemeralStart() int { return 49152 }
