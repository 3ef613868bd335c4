// Package zkguard opens go-zookeeper sessions whose connections cannot hit
// go-zookeeper's race on its last-seen zxid.
//
// go-zookeeper v1.0.4 keeps the zxid of the last reply in Conn.lastZxid. Its
// receive loop writes the field for every reply, and its connection goroutine
// reads it without synchronisation when it re-sends the session's watches on
// a new connection (sendSetWatches), just after it has started that receive
// loop (go-zookeeper/zk#35, open upstream). The race is harmless on the
// machines we run on, but the race detector reports it whenever a reply
// reaches the new connection's receive loop before the connection goroutine
// has read the field, and a loaded CI machine showed that it happens.
//
// The guard takes the field away from go-zookeeper, through the one place it
// can reach, the connection:
//
//   - Every reply it passes up carries zxid 0 in its header, so go-zookeeper
//     never writes Conn.lastZxid (it keeps only positive zxids). The guard
//     keeps the last zxid itself, from the header as it came.
//   - The two requests that carry the field, the connect request of a
//     reconnection (lastZxidSeen) and setWatches (relativeZxid), get the
//     guard's value written in as they go out. setWatches gets the zxid seen
//     before its connection began, as the Java client sends it, where
//     go-zookeeper may send one raised by replies on the new connection,
//     which would lose events that fired in between.
//
// The guard is also the connection's host provider, because go-zookeeper's
// own pauses a second before every reconnection to a lone server.
package zkguard

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// Opcodes of the requests that carry a zxid (ZooDefs.OpCode).
const (
	opSetWatches  = 101
	opSetWatches2 = 105
)

// Guard is the dialer and host provider of one zk.Conn.
type Guard struct {
	dialer zk.Dialer // the underlying dialer

	// zxid is the zxid of the last reply of the session, as go-zookeeper
	// would have kept it (0 for a session that saw none).
	zxid        atomic.Int64
	established atomic.Int64 // connections that got the session

	mu       sync.Mutex
	servers  []string
	next     int
	attempts int // connection attempts since the last successful one
}

// LastZxid is the zxid of the last reply the session got.
func (g *Guard) LastZxid() int64 { return g.zxid.Load() }

// Established counts the connections that got the session so far: it grows
// with every reconnection.
func (g *Guard) Established() int64 { return g.established.Load() }

// dial is a zk.Dialer.
func (g *Guard) dial(network, address string, timeout time.Duration) (net.Conn, error) {
	c, err := g.dialer(network, address, timeout)
	if err != nil {
		return nil, err
	}
	return &guardedConn{Conn: c, g: g}, nil
}

// Init, Len, Next and Connected make Guard a zk.HostProvider: round robin,
// with go-zookeeper's pause of a second only once every server has been
// tried without success since the last connection.
func (g *Guard) Init(servers []string) error {
	if len(servers) == 0 {
		return errors.New("no ZooKeeper servers")
	}
	g.servers = slices.Clone(servers)
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

// guardedConn is one connection of the session. go-zookeeper writes one
// whole packet per Write; its reads are followed frame by frame (a 4-byte
// length, then the body): the first frame is the connect response, every
// later one a reply or a notification, whose header is xid (4 bytes), zxid
// (8), error (4).
type guardedConn struct {
	net.Conn
	g *Guard

	// Read state, touched only by the reading goroutine (go-zookeeper reads
	// the connect response, then starts the receive loop: one at a time).
	length     [4]byte
	lengthRead int
	bodyLen    int
	bodyRead   int
	header     [16]byte // the current reply's header, as it came
	frames     int

	// Write state: go-zookeeper's connection goroutine writes the connect
	// request, then its send loop, started after, writes the rest.
	writes int
	since  int64 // the session's zxid when this connection began
}

func (c *guardedConn) Read(p []byte) (int, error) {
	// Read no further than the end of the current frame's length or body.
	if c.lengthRead < len(c.length) {
		p = p[:min(len(p), len(c.length)-c.lengthRead)]
	} else {
		p = p[:min(len(p), c.bodyLen-c.bodyRead)]
	}
	n, err := c.Conn.Read(p)
	if c.lengthRead < len(c.length) {
		c.lengthRead += copy(c.length[c.lengthRead:], p[:n])
		if c.lengthRead == len(c.length) {
			c.bodyLen = int(binary.BigEndian.Uint32(c.length[:]))
		}
	} else {
		if c.frames > 0 {
			c.scrub(p[:n])
		}
		c.bodyRead += n
	}
	if c.lengthRead == len(c.length) && c.bodyRead >= c.bodyLen {
		c.frames++
		c.lengthRead, c.bodyRead = 0, 0
	}
	return n, err
}

// scrub takes the zxid out of a reply's header: chunk is the body from
// offset c.bodyRead on. Notifications (xid -1) and other negative xids are
// left alone, as go-zookeeper takes no zxid from them.
func (c *guardedConn) scrub(chunk []byte) {
	for i := 0; i < len(chunk) && c.bodyRead+i < len(c.header); i++ {
		off := c.bodyRead + i
		c.header[off] = chunk[i]
		if off < 4 || off >= 12 || int32(binary.BigEndian.Uint32(c.header[:4])) < 0 {
			continue
		}
		chunk[i] = 0
		if off == 11 {
			if zxid := int64(binary.BigEndian.Uint64(c.header[4:12])); zxid > 0 {
				c.g.zxid.Store(zxid)
			}
		}
	}
}

func (c *guardedConn) Write(p []byte) (int, error) {
	c.writes++
	switch {
	case c.writes == 1 && len(p) >= 28:
		// The connect request: length, protocolVersion, lastZxidSeen,
		// timeOut, sessionId, ... A new session (id 0) starts from zxid 0,
		// as go-zookeeper's does after an expiry.
		if binary.BigEndian.Uint64(p[20:28]) == 0 {
			c.g.zxid.Store(0)
		}
		c.since = c.g.zxid.Load()
		return c.writeWithZxid(p, 8, c.since)
	case c.writes > 1 && len(p) >= 20:
		// A request: length, xid, opcode, then setWatches' relativeZxid.
		if op := int32(binary.BigEndian.Uint32(p[8:12])); op == opSetWatches || op == opSetWatches2 {
			return c.writeWithZxid(p, 12, c.since)
		}
	}
	return c.Conn.Write(p)
}

// writeWithZxid writes a copy of p with zxid at offset off (a Writer must
// not change the caller's bytes).
func (c *guardedConn) writeWithZxid(p []byte, off int, zxid int64) (int, error) {
	q := slices.Clone(p)
	binary.BigEndian.PutUint64(q[off:], uint64(zxid))
	return c.Conn.Write(q)
}

// Options tune Connect. Every field may be left zero.
type Options struct {
	// Dialer opens the TCP connections the guard wraps (net.DialTimeout).
	Dialer zk.Dialer
	// Logf receives go-zookeeper's log lines; nil drops them.
	Logf func(format string, args ...any)
	// OnEvent receives every event, on go-zookeeper's goroutines, so it must
	// not block.
	OnEvent func(ev zk.Event)
}

// MaxPacketBytes bounds a client's requests and replies as ZooKeeper's
// Java client (Storm's) bounds them: its default jute.maxbuffer, 0xfffff
// bytes, with 1 KiB for the packet's headers. go-zookeeper's default is
// 1.5 MiB each way, unbounded for replies; it allocates both buffers per
// connection, and the heap counts them whether their pages are touched or
// not, so a cluster process of 65 sessions carried 195 MiB of them, which
// the garbage collector's goal doubled (issue 18).
const MaxPacketBytes = 0xfffff + 1024

type logFunc func(format string, args ...any)

func (f logFunc) Printf(format string, args ...any) { f(format, args...) }

// Connect opens a guarded session on servers and returns once it is
// established. On an error, including ctx's end, nothing is left open.
func Connect(ctx context.Context, servers []string, sessionTimeout time.Duration, o Options) (*zk.Conn, *Guard, error) {
	g := &Guard{dialer: o.Dialer}
	if g.dialer == nil {
		g.dialer = net.DialTimeout
	}
	established := make(chan struct{}, 1)
	onEvent := func(ev zk.Event) {
		if ev.Type == zk.EventSession && ev.State == zk.StateHasSession {
			g.established.Add(1)
			select {
			case established <- struct{}{}:
			default:
			}
		}
		if o.OnEvent != nil {
			o.OnEvent(ev)
		}
	}
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	conn, _, err := zk.Connect(servers, sessionTimeout,
		zk.WithLogger(logFunc(logf)), zk.WithEventCallback(onEvent),
		zk.WithDialer(g.dial), zk.WithHostProvider(g),
		zk.WithMaxBufferSize(MaxPacketBytes), zk.WithMaxConnBufferSize(MaxPacketBytes))
	if err != nil {
		return nil, nil, err
	}
	select {
	case <-established:
		return conn, g, nil
	case <-ctx.Done():
		conn.Close()
		return nil, nil, fmt.Errorf("no session established: %w", context.Cause(ctx))
	}
}
