package slotport

import (
	"context"
	"net"
	"strconv"
	"testing"
)

// A reserved slot port is taken for every other reservation, yet its worker
// can listen on it; until then a dial is refused, not swallowed. Run with
// this platform's options and, on Linux, with macOS's too, so that the path
// macOS takes is exercised here.
func TestReservedSlotPortTakesOnlyItsWorker(t *testing.T) {
	for name, s := range schemes() {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			p := ln.Addr().(*net.TCPAddr).Port
			ln.Close()
			r, err := reserve(p, s)
			if err != nil {
				t.Fatalf("reserve a free port: %v", err)
			}
			defer r.Release()
			addr := "127.0.0.1:" + strconv.Itoa(p)
			if other, err := reserve(p, s); err == nil {
				other.Release()
				t.Fatalf("port %d reserved twice", p)
			}
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				t.Fatal("a dial to a reserved port without a worker connected")
			}
			worker, err := listen(context.Background(), p, s)
			if err != nil {
				t.Fatalf("the worker cannot listen on its reserved slot port: %v", err)
			}
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatalf("dial the worker: %v", err)
			}
			c.Close()
			worker.Close()
			r.Release()
			again, err := reserve(p, s)
			if err != nil {
				t.Fatalf("port %d not free after its release: %v", p, err)
			}
			again.Release()
		})
	}
}
