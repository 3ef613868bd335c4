// Package zkguard opens go-zookeeper sessions whose connections cannot hit
// go-zookeeper's race on its last-seen zxid.
//
// go-zookeeper v1.0.4 reads Conn.lastZxid without synchronisation in
// sendSetWatches, on its connection goroutine, just after it has started the
// receive loop that writes it for every reply (go-zookeeper/zk#35, open
// upstream). The race is harmless on the machines we run on, but the race
// detector reports it whenever a reply reaches the receive loop after the
// session holds a watch and before the connection goroutine has read the
// field. On a reconnection that is the reply to anything sent first thing;
// on the session's first connection, a watch set and one more reply while
// the connection goroutine waits for a CPU, as a loaded CI machine showed.
//
// The Guard closes the gap from outside the library with what it can reach:
// the dialer, the host provider and the session's first request.
//
//  1. The session's first connection carries one request of ours, a watched
//     exists of AnchorPath. Once its reply has been read, the connection's
//     next read fails, which ends the connection. Its one reply registers the
//     watch after writing lastZxid, under the lock sendSetWatches takes first,
//     so sendSetWatches reads it safely whether it runs before or after.
//  2. go-zookeeper reconnects with the same session, now holding the anchor
//     watch, so on this and every later connection it re-sends its watches
//     (setWatches) after reading lastZxid. Each of these connections holds
//     back what it reads after the connect response until that packet is
//     written: the channel closed by the write orders the read before every
//     reply.
//
// The anchor is a node that always exists and never changes, so its watch
// stays held; should it fire all the same, the owner sets it again (Rearm).
//
// The Guard is also the connection's host provider, because go-zookeeper's
// own pauses a second before every reconnection to a lone server: the
// handover of step 2, and a recovery after ZooKeeper restarts, happen at once.
package zkguard

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// AnchorPath is the node whose watch every guarded session holds. It exists
// on every ZooKeeper and no one writes it.
const AnchorPath = "/zookeeper"

// setWatchesWait bounds how long replies are held back when no setWatches
// packet comes (go-zookeeper held no watch after all: the anchor fired and
// was not set again yet). It stays well below go-zookeeper's receive timeout
// (2/3 of the session timeout), so a late packet never costs the connection.
const setWatchesWait = 250 * time.Millisecond

// opSetWatches is the setWatches opcode (ZooDefs.OpCode.setWatches).
const opSetWatches = 101

// errHandover ends the session's first connection (step 1 above).
var errHandover = errors.New("session established; reconnecting with the anchor watch held")

// guardPhase is where a session is in the steps above.
type guardPhase int32

const (
	phaseFirst    guardPhase = iota // connections until the anchor watch's reply
	phaseHandover                   // the first connection ended; no session on the next one yet
	phaseReady                      // a connection holding the anchor watch has the session
)

// Guard is the dialer and host provider of one guarded zk.Conn.
type Guard struct {
	phase       atomic.Int32 // guardPhase
	established atomic.Int64 // connections that got the session
	dialer      zk.Dialer    // the underlying dialer

	mu       sync.Mutex
	servers  []string
	next     int
	attempts int // connection attempts since the last successful one
}

func (g *Guard) currentPhase() guardPhase { return guardPhase(g.phase.Load()) }

// Quiet reports whether the session is still in its handover, whose
// disconnection and reconnection are expected and not worth an info line.
func (g *Guard) Quiet() bool { return g.currentPhase() != phaseReady }

// Established counts the connections that got the session so far: it grows
// with every reconnection.
func (g *Guard) Established() int64 { return g.established.Load() }

// sessionEstablished is told every time a connection gets its session.
func (g *Guard) sessionEstablished() {
	g.phase.CompareAndSwap(int32(phaseHandover), int32(phaseReady))
	g.established.Add(1)
}

// dial is a zk.Dialer.
func (g *Guard) dial(network, address string, timeout time.Duration) (net.Conn, error) {
	c, err := g.dialer(network, address, timeout)
	if err != nil {
		return nil, err
	}
	return newGuardedConn(c, g.currentPhase() == phaseFirst, g.handover), nil
}

func (g *Guard) handover() { g.phase.Store(int32(phaseHandover)) }

// Init, Len, Next and Connected make Guard a zk.HostProvider: round robin,
// with go-zookeeper's pause of a second only once every server has been
// tried without success since the last connection.
func (g *Guard) Init(servers []string) error {
	if len(servers) == 0 {
		return errors.New("no ZooKeeper servers")
	}
	g.servers = append([]string(nil), servers...)
	return nil
}

func (g *Guard) Len() int { return len(g.servers) }

func (g *Guard) Next() (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	server := g.servers[g.next]
	g.next = (g.next + 1) % len(g.servers)
	g.attempts++
	return server, g.attempts > len(g.servers)
}

func (g *Guard) Connected() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.attempts = 0
}

// guardedConn is one connection of the session. Its reads follow the frames
// (a 4-byte length, then the body) until it has nothing more to watch for.
type guardedConn struct {
	net.Conn
	first    bool   // step 1: end after the reply to the first request
	handover func() // called when the first connection ends

	// requestXid is the xid of the first request written (the anchor's).
	requestXid atomic.Int32
	// writes counts the packets written: go-zookeeper's connect request
	// first (on its connection goroutine), then requests (on its send loop,
	// started after it).
	writes int

	// Read state, touched only by the reading goroutine (go-zookeeper reads
	// the connect response, then starts the receive loop: one at a time).
	hdr     [4]byte
	hdrRead int
	left    int // bytes of the current frame's body still to pass
	xid     [4]byte
	xidRead int
	frames  int
	ended   bool

	gate     chan struct{}
	gateOnce sync.Once
}

func newGuardedConn(c net.Conn, first bool, handover func()) *guardedConn {
	return &guardedConn{Conn: c, first: first, handover: handover, gate: make(chan struct{})}
}

func (c *guardedConn) open() { c.gateOnce.Do(func() { close(c.gate) }) }

func (c *guardedConn) Read(p []byte) (int, error) {
	if c.ended {
		c.Conn.Close()
		return 0, errHandover
	}
	if !c.first && c.frames > 0 {
		// Past the connect response of a reconnection: untracked, once the
		// setWatches packet is out.
		<-c.gate
		return c.Conn.Read(p)
	}
	// Read no further than the end of the current frame's length or body.
	if c.hdrRead < len(c.hdr) {
		p = p[:min(len(p), len(c.hdr)-c.hdrRead)]
	} else {
		p = p[:min(len(p), c.left)]
	}
	n, err := c.Conn.Read(p)
	if c.hdrRead < len(c.hdr) {
		c.hdrRead += copy(c.hdr[c.hdrRead:], p[:n])
		if c.hdrRead == len(c.hdr) {
			c.left = int(binary.BigEndian.Uint32(c.hdr[:]))
		}
	} else {
		c.xidRead += copy(c.xid[c.xidRead:], p[:n])
		c.left -= n
	}
	if c.hdrRead == len(c.hdr) && c.left <= 0 {
		c.frameDone()
	}
	return n, err
}

// frameDone is called once a whole frame has been read.
func (c *guardedConn) frameDone() {
	c.frames++
	xid := int32(binary.BigEndian.Uint32(c.xid[:]))
	c.hdrRead, c.xidRead, c.xid = 0, 0, [4]byte{}
	switch {
	case c.frames == 1 && !c.first:
		// The connect response of a reconnection: go-zookeeper sends
		// setWatches after reading it; give up waiting after setWatchesWait.
		time.AfterFunc(setWatchesWait, c.open)
	case c.frames > 1 && c.first && xid > 0 && xid == c.requestXid.Load():
		c.ended = true
		c.handover()
	}
}

func (c *guardedConn) Write(p []byte) (int, error) {
	c.writes++
	// go-zookeeper writes one whole packet per Write: length, xid, opcode,
	// but the connect request, first, has neither xid nor opcode. The xid is
	// noted before the write, whose reply may be read before it returns.
	isSetWatches := false
	if c.writes > 1 && len(p) >= 12 {
		if xid := int32(binary.BigEndian.Uint32(p[4:8])); xid > 0 {
			c.requestXid.CompareAndSwap(0, xid)
		}
		isSetWatches = int32(binary.BigEndian.Uint32(p[8:12])) == opSetWatches
	}
	n, err := c.Conn.Write(p)
	if isSetWatches {
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

// Options tune Connect. Every field may be left zero.
type Options struct {
	// Dialer opens the TCP connections the guard wraps (net.DialTimeout).
	Dialer zk.Dialer
	// Logf receives go-zookeeper's log lines; quiet marks those of the
	// handover. Nil drops them.
	Logf func(quiet bool, format string, args ...any)
	// OnEvent receives every event, on go-zookeeper's goroutines, so it must
	// not block; quiet marks those of the handover.
	OnEvent func(ev zk.Event, quiet bool)
}

type logFunc func(format string, args ...any)

func (f logFunc) Printf(format string, args ...any) { f(format, args...) }

// Connect opens a session on servers and returns once a connection holding
// the anchor watch has it. On an error, including ctx's end, nothing is left
// open.
func Connect(ctx context.Context, servers []string, sessionTimeout time.Duration, o Options) (*zk.Conn, *Guard, error) {
	g := &Guard{dialer: o.Dialer}
	if g.dialer == nil {
		g.dialer = net.DialTimeout
	}
	sessions := make(chan struct{}, 1)
	onEvent := func(ev zk.Event) {
		if ev.Type == zk.EventSession && ev.State == zk.StateHasSession {
			g.sessionEstablished()
			select {
			case sessions <- struct{}{}:
			default:
			}
		}
		if o.OnEvent != nil {
			o.OnEvent(ev, g.Quiet())
		}
	}
	logf := func(format string, args ...any) {
		if o.Logf != nil {
			o.Logf(g.Quiet(), format, args...)
		}
	}
	conn, _, err := zk.Connect(servers, sessionTimeout,
		zk.WithLogger(logFunc(logf)), zk.WithEventCallback(onEvent),
		zk.WithDialer(g.dial), zk.WithHostProvider(g))
	if err != nil {
		return nil, nil, err
	}
	awaitSession := func() error {
		select {
		case <-sessions:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("no session established: %w", context.Cause(ctx))
		}
	}
	if err := awaitSession(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	for {
		_, _, _, err := conn.ExistsW(AnchorPath)
		if err == nil {
			break
		}
		// The first connection broke before the reply (an exists of a
		// node that always exists fails no other way): the session comes
		// back on another connection, a first one too, or ctx ends.
		if werr := awaitSession(); werr != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("set the anchor watch on %s: %w (%w)", AnchorPath, err, werr)
		}
	}
	for g.currentPhase() != phaseReady {
		if err := awaitSession(); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	return conn, g, nil
}

// Rearm sets the anchor watch again after it fired.
func Rearm(conn *zk.Conn) error {
	_, _, _, err := conn.ExistsW(AnchorPath)
	return err
}
