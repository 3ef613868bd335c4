package cluster

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// lengthPrefix is the 4-byte length ZooKeeper puts before a packet.
func lengthPrefix(body []byte) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(len(body)))
}

// guardedPair is a reconnection as go-zookeeper sees it: the client end
// guarded, the server end writing a connect response and then one reply.
func guardedPair(t *testing.T, holdsWatches bool) (*guardedConn, []byte) {
	t.Helper()
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	resp := []byte("connect-response-body")
	reply := []byte("reply-to-a-request-sent-before-setWatches")
	go func() {
		_, _ = server.Write(append(lengthPrefix(resp), resp...))
		_, _ = server.Write(append(lengthPrefix(reply), reply...))
	}()
	// Drain what the client writes (its pings and setWatches packet).
	go func() { _, _ = io.Copy(io.Discard, server) }()
	g := newGuardedConn(client, func() bool { return holdsWatches })
	// go-zookeeper's authenticate: the length, then the body.
	buf := make([]byte, len(resp))
	if _, err := io.ReadFull(g, buf[:4]); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(g, buf[:binary.BigEndian.Uint32(buf[:4])]); err != nil {
		t.Fatal(err)
	}
	if string(buf) != string(resp) {
		t.Fatalf("connect response read as %q", buf)
	}
	return g, reply
}

func setWatchesPacket() []byte {
	p := binary.BigEndian.AppendUint32(nil, 8)
	p = binary.BigEndian.AppendUint32(p, 7)               // xid
	return binary.BigEndian.AppendUint32(p, opSetWatches) // opcode
}

// readAsync reads one whole reply frame on its own goroutine.
func readAsync(g *guardedConn, n int) chan []byte {
	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 4+n)
		if _, err := io.ReadFull(g, buf); err != nil {
			got <- nil
			return
		}
		got <- buf[4:]
	}()
	return got
}

func TestGuardedConnHoldsRepliesUntilSetWatchesIsWritten(t *testing.T) {
	g, reply := guardedPair(t, true)
	got := readAsync(g, len(reply))
	select {
	case b := <-got:
		t.Fatalf("a reply (%q) passed before the setWatches packet was written", b)
	case <-time.After(50 * time.Millisecond):
	}
	// Other packets (a ping, a request) do not open the gate.
	ping := binary.BigEndian.AppendUint32(nil, 8)
	ping = binary.BigEndian.AppendUint32(ping, 0xfffffffe)
	ping = binary.BigEndian.AppendUint32(ping, 11)
	if _, err := g.Write(ping); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		t.Fatalf("a reply (%q) passed after a ping, before setWatches", b)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := g.Write(setWatchesPacket()); err != nil {
		t.Fatal(err)
	}
	awaitReply(t, got, reply, "after setWatches was written")
}

// awaitReply waits for the reply readAsync reads; when says when it is due.
func awaitReply(t *testing.T, got chan []byte, reply []byte, when string) {
	t.Helper()
	select {
	case b := <-got:
		if string(b) != string(reply) {
			t.Fatalf("reply read as %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the reply was still held back %s", when)
	}
}

func TestGuardedConnPassesRepliesWhenNoWatchesAreHeld(t *testing.T) {
	g, reply := guardedPair(t, false)
	awaitReply(t, readAsync(g, len(reply)), reply, "on a reconnection without watches")
}

func TestGuardedConnGivesUpWaitingForSetWatches(t *testing.T) {
	g, reply := guardedPair(t, true)
	start := time.Now()
	awaitReply(t, readAsync(g, len(reply)), reply, "for good when no setWatches came")
	if waited := time.Since(start); waited < setWatchesWait/2 {
		t.Fatalf("reply passed after %v, before the %v wait for setWatches", waited, setWatchesWait)
	}
}

func TestGuardedConnCloseReleasesAReader(t *testing.T) {
	g, reply := guardedPair(t, true)
	got := readAsync(g, len(reply))
	g.Close()
	select {
	case b := <-got:
		if b != nil {
			t.Fatalf("read %q from a closed connection", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close left a reader waiting")
	}
}

func TestGuardDialGuardsOnlyReconnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	g := &zkGuard{holdsWatches: func() bool { return true }}
	for i, wantGuarded := range []bool{false, true, true} {
		c, err := g.dial("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_, guarded := c.(*guardedConn)
		c.Close()
		if guarded != wantGuarded {
			t.Fatalf("connection %d guarded=%v, want %v (only reconnections are)", i+1, guarded, wantGuarded)
		}
	}
}
