package cluster

import (
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// go-zookeeper v1.0.4 reads Conn.lastZxid without synchronisation when it
// re-sends the session's watches after a reconnect (sendSetWatches, on its
// connection goroutine), while the new connection's receive loop may already
// be writing it for a reply (go-zookeeper/zk#35, open upstream). The race is
// harmless in practice, but the race detector reports it whenever a reply
// reaches the receive loop before the setWatches packet has gone out: for
// example the reply to a heartbeat written while ZooKeeper was restarting,
// which go-zookeeper sends first thing on the new connection.
//
// zkGuard closes the gap from outside the library, through its dialer: on a
// reconnection while this state holds watches, the connection holds back
// what it reads after the connect response until go-zookeeper has written the
// setWatches packet, which it does only after that read. The channel closed
// by that write orders the read before every later reply.

// setWatchesWait bounds how long replies are held back when no setWatches
// packet comes (the watch book thought watches were held, go-zookeeper had
// none left). It stays well below go-zookeeper's receive timeout (2/3 of the
// session timeout), so a late packet never costs the connection.
const setWatchesWait = 250 * time.Millisecond

// opSetWatches is the setWatches opcode (ZooDefs.OpCode.setWatches).
const opSetWatches = 101

type zkGuard struct {
	dials atomic.Int32
	// holdsWatches reports whether the session holds watches, that is
	// whether go-zookeeper will re-send them on a reconnection.
	holdsWatches func() bool
}

// dial is a zk.Dialer. The first connection of a zk.Conn has no watches to
// re-send; every later one is a reconnection of the same session.
func (g *zkGuard) dial(network, address string, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout(network, address, timeout)
	if err != nil || g.dials.Add(1) == 1 {
		return c, err
	}
	return newGuardedConn(c, g.holdsWatches), nil
}

// guardedConn is a reconnection: reads past the connect response wait for
// gate, closed once the setWatches packet is written (or at once when no
// watches are held, or after setWatchesWait, or on Close).
type guardedConn struct {
	net.Conn
	holdsWatches func() bool

	// Read state, touched only by the reading goroutine (go-zookeeper reads
	// the connect response, then starts the receive loop: one at a time).
	hdr       [4]byte
	hdrRead   int
	respLeft  int // bytes of the connect response body still to pass
	handshake bool

	gate     chan struct{}
	gateOnce sync.Once
}

func newGuardedConn(c net.Conn, holdsWatches func() bool) *guardedConn {
	return &guardedConn{Conn: c, holdsWatches: holdsWatches, handshake: true, gate: make(chan struct{})}
}

func (c *guardedConn) open() { c.gateOnce.Do(func() { close(c.gate) }) }

func (c *guardedConn) Read(p []byte) (int, error) {
	if !c.handshake {
		<-c.gate
		return c.Conn.Read(p)
	}
	// The connect response (a length-prefixed frame) passes: go-zookeeper
	// reads it before it sends anything else, setWatches included.
	if c.hdrRead < len(c.hdr) {
		p = p[:min(len(p), len(c.hdr)-c.hdrRead)]
	} else {
		p = p[:min(len(p), c.respLeft)]
	}
	n, err := c.Conn.Read(p)
	if c.hdrRead < len(c.hdr) {
		c.hdrRead += copy(c.hdr[c.hdrRead:], p[:n])
		if c.hdrRead == len(c.hdr) {
			c.respLeft = int(binary.BigEndian.Uint32(c.hdr[:]))
		}
	} else {
		c.respLeft -= n
	}
	if c.hdrRead == len(c.hdr) && c.respLeft <= 0 {
		c.handshake = false
		if c.holdsWatches() {
			time.AfterFunc(setWatchesWait, c.open)
		} else {
			c.open()
		}
	}
	return n, err
}

func (c *guardedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	// go-zookeeper writes one whole packet per Write: length, xid, opcode.
	if len(p) >= 12 && int32(binary.BigEndian.Uint32(p[8:12])) == opSetWatches {
		c.open()
	}
	return n, err
}

// Close wakes a held reader, after the close, so that it reads the error.
func (c *guardedConn) Close() error {
	err := c.Conn.Close()
	c.open()
	return err
}
