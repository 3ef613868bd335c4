package localcluster

import (
	"net"
	"strconv"
	"testing"

	"github.com/localstorm/localstorm/internal/slotport"
)

// Slot ports come from below the ephemeral range, where no listener on port
// 0 and no outgoing connection can take them, and a port this process's
// clusters hold is never handed out twice until it is released.
func TestSlotPortsAreBelowTheEphemeralRangeAndUnique(t *testing.T) {
	lo, hi := slotport.Range()
	r := &portRegistry{held: map[int]*slotport.Reservation{}}
	t.Cleanup(func() { r.release(keys(r.held)) })
	seen := map[int]bool{}
	for range 200 {
		p, err := r.claimFree()
		if err != nil {
			t.Fatal(err)
		}
		if hi-lo >= 1000 && (p < lo || p >= hi) {
			t.Fatalf("slot port %d outside [%d, %d): the kernel may hand it to another socket", p, lo, hi)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
	// A port something listens on is not free.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if busy := ln.Addr().(*net.TCPAddr).Port; r.claim(busy) {
		t.Fatalf("port %d claimed while a listener holds it", busy)
	}
}

// A reserved slot port is taken for every other cluster, of this process or
// another (a second registry stands for one), yet its worker can listen on
// it; until then a peer's dial is refused, not swallowed.
func TestReservedSlotPortTakesOnlyItsWorker(t *testing.T) {
	mine := &portRegistry{held: map[int]*slotport.Reservation{}}
	other := &portRegistry{held: map[int]*slotport.Reservation{}}
	p, err := mine.claimFree()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(p)
	if other.claim(p) {
		t.Fatalf("another cluster reserved port %d while it was held", p)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatalf("a dial to a reserved port without a worker connected")
	}
	worker, err := slotport.Listen(t.Context(), p)
	if err != nil {
		t.Fatalf("the worker cannot listen on its reserved slot port: %v", err)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial the worker: %v", err)
	}
	c.Close()
	worker.Close()
	mine.release([]int{p})
	if !other.claim(p) {
		t.Fatalf("port %d not free after its cluster released it", p)
	}
	other.release([]int{p})
}

func keys(m map[int]*slotport.Reservation) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	return out
}
