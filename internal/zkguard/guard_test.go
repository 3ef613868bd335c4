package zkguard

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/zookeeper"
)

// lengthPrefix is the 4-byte length ZooKeeper puts before a packet.
func lengthPrefix(body []byte) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(len(body)))
}

// guardedPair is a connection as go-zookeeper sees it: the client end
// guarded (first: the session's first connection), the server end writing a
// connect response and then the given replies.
func guardedPair(t *testing.T, first bool, replies ...[]byte) (*guardedConn, *atomic.Bool) {
	t.Helper()
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	resp := []byte("connect-response-body")
	go func() {
		_, _ = server.Write(append(lengthPrefix(resp), resp...))
		for _, r := range replies {
			_, _ = server.Write(append(lengthPrefix(r), r...))
		}
	}()
	// Drain what the client writes (its connect request, pings, setWatches).
	go func() { _, _ = io.Copy(io.Discard, server) }()
	handedOver := &atomic.Bool{}
	g := newGuardedConn(client, first, func() { handedOver.Store(true) })
	// go-zookeeper's authenticate: it writes the connect request, then reads
	// the length and the body of the response. The request's bytes 8-12 look
	// like a setWatches opcode, which must not count as one.
	connectReq := binary.BigEndian.AppendUint32(nil, 20)
	connectReq = binary.BigEndian.AppendUint32(connectReq, 0)
	connectReq = binary.BigEndian.AppendUint32(connectReq, opSetWatches)
	connectReq = append(connectReq, make([]byte, 12)...)
	if _, err := g.Write(connectReq); err != nil {
		t.Fatal(err)
	}
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
	return g, handedOver
}

// reply is a reply frame body: the xid, then filler.
func reply(xid int32, filler string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(xid)), filler...)
}

// packet is a request packet as go-zookeeper writes it: length, xid, opcode.
func packet(xid, op int32) []byte {
	p := binary.BigEndian.AppendUint32(nil, 8)
	p = binary.BigEndian.AppendUint32(p, uint32(xid))
	return binary.BigEndian.AppendUint32(p, uint32(op))
}

func setWatchesPacket() []byte { return packet(7, opSetWatches) }

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

func TestGuardedConnHoldsRepliesUntilSetWatchesIsWritten(t *testing.T) {
	r := reply(3, "reply-to-a-request-sent-before-setWatches")
	g, _ := guardedPair(t, false, r)
	got := readAsync(g, len(r))
	select {
	case b := <-got:
		t.Fatalf("a reply (%q) passed before the setWatches packet was written", b)
	case <-time.After(50 * time.Millisecond):
	}
	// Other packets (a ping, a request) do not open the gate.
	for _, p := range [][]byte{packet(-2, 11), packet(3, 4)} {
		if _, err := g.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case b := <-got:
		t.Fatalf("a reply (%q) passed after a ping and a request, before setWatches", b)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := g.Write(setWatchesPacket()); err != nil {
		t.Fatal(err)
	}
	awaitReply(t, got, r, "after setWatches was written")
}

func TestGuardedConnGivesUpWaitingForSetWatches(t *testing.T) {
	r := reply(3, "a reply")
	g, _ := guardedPair(t, false, r)
	start := time.Now()
	awaitReply(t, readAsync(g, len(r)), r, "for good when no setWatches came")
	if waited := time.Since(start); waited < setWatchesWait/2 {
		t.Fatalf("reply passed after %v, before the %v wait for setWatches", waited, setWatchesWait)
	}
}

func TestGuardedConnCloseReleasesAReader(t *testing.T) {
	r := reply(3, "a reply")
	g, _ := guardedPair(t, false, r)
	got := readAsync(g, len(r))
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

// The session's first connection passes replies as they come, and ends
// right after the reply to its first request (the anchor watch's).
func TestFirstConnectionEndsAfterTheFirstRequestsReply(t *testing.T) {
	ping, anchor, late := reply(-2, "ping"), reply(5, "anchor-watch-reply"), reply(6, "must-not-be-read")
	g, handedOver := guardedPair(t, true, ping, anchor, late)
	if _, err := g.Write(packet(-2, 11)); err != nil { // a ping does not count as the request
		t.Fatal(err)
	}
	if _, err := g.Write(packet(5, 3)); err != nil {
		t.Fatal(err)
	}
	awaitReply(t, readAsync(g, len(ping)), ping, "on the first connection")
	if handedOver.Load() {
		t.Fatal("the ping's reply ended the first connection")
	}
	// Read the anchor's reply in small pieces, as a frame may arrive.
	buf := make([]byte, 4+len(anchor))
	for off := 0; off < len(buf); {
		n, err := g.Read(buf[off:min(off+3, len(buf))])
		if err != nil {
			t.Fatalf("read the anchor's reply: %v", err)
		}
		off += n
	}
	if string(buf[4:]) != string(anchor) {
		t.Fatalf("anchor reply read as %q", buf[4:])
	}
	if !handedOver.Load() {
		t.Fatal("the first connection did not hand over after the anchor's reply")
	}
	if n, err := g.Read(buf); !errors.Is(err, errHandover) {
		t.Fatalf("read after the anchor's reply = %d, %v; want errHandover", n, err)
	}
}

func TestGuardDialsByPhase(t *testing.T) {
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
	g := &Guard{dialer: net.DialTimeout}
	for _, step := range []struct {
		do        func()
		wantFirst bool
		wantQuiet bool
	}{
		{func() {}, true, true},
		{g.sessionEstablished, true, true}, // a session before the anchor: still the first
		{g.handover, false, true},
		{g.sessionEstablished, false, false},
		{g.handover, false, true}, // a later handover, should one happen
	} {
		step.do()
		c, err := g.dial("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		first := c.(*guardedConn).first
		c.Close()
		if first != step.wantFirst || g.Quiet() != step.wantQuiet {
			t.Fatalf("phase %d: first=%v quiet=%v, want %v %v", g.currentPhase(), first, g.Quiet(), step.wantFirst, step.wantQuiet)
		}
	}
}

// The guard as host provider: no pause before reconnecting after a
// connection, a pause once every server failed since.
func TestGuardHostProvider(t *testing.T) {
	g := &Guard{}
	if err := g.Init(nil); err == nil {
		t.Fatal("Init accepted no servers")
	}
	if err := g.Init([]string{"a:1", "b:2"}); err != nil {
		t.Fatal(err)
	}
	next := func() string {
		s, retry := g.Next()
		return fmt.Sprintf("%s/%v", s, retry)
	}
	var got []string
	for range 3 {
		got = append(got, next())
	}
	g.Connected()
	for range 3 {
		got = append(got, next())
	}
	want := "a:1/false b:2/false a:1/true b:2/false a:1/false b:2/true"
	if strings.Join(got, " ") != want || g.Len() != 2 {
		t.Fatalf("Next: %v (Len %d), want %s", got, g.Len(), want)
	}
}

// writeHook runs a function inside Write, before the bytes go out.
type writeHook struct {
	net.Conn
	during func()
}

func (w *writeHook) Write(p []byte) (int, error) {
	if w.during != nil {
		w.during()
	}
	return w.Conn.Write(p)
}

// The reply to the first request may be read before the request's Write has
// returned: the first connection still ends after it.
func TestFirstConnectionKnowsTheRequestBeforeItsWriteReturns(t *testing.T) {
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	resp, anchor := []byte("connect-response"), reply(9, "anchor-watch-reply")
	go func() {
		_, _ = server.Write(append(lengthPrefix(resp), resp...))
		_, _ = server.Write(append(lengthPrefix(anchor), anchor...))
	}()
	go func() { _, _ = io.Copy(io.Discard, server) }()
	hook := &writeHook{Conn: client}
	handedOver := &atomic.Bool{}
	g := newGuardedConn(hook, true, func() { handedOver.Store(true) })
	if _, err := g.Write(make([]byte, 24)); err != nil { // the connect request
		t.Fatal(err)
	}
	buf := make([]byte, 4+len(resp))
	if _, err := io.ReadFull(g, buf); err != nil {
		t.Fatal(err)
	}
	hook.during = func() {
		b := make([]byte, 4+len(anchor))
		if _, err := io.ReadFull(g, b); err != nil {
			t.Errorf("read the anchor's reply: %v", err)
		}
	}
	if _, err := g.Write(packet(9, 3)); err != nil {
		t.Fatal(err)
	}
	if !handedOver.Load() {
		t.Fatal("a reply read while its request was being written did not end the first connection")
	}
}

// breakingConn closes itself instead of writing its nth packet.
type breakingConn struct {
	net.Conn
	n, writes int
}

func (b *breakingConn) Write(p []byte) (int, error) {
	b.writes++
	if b.writes == b.n {
		b.Conn.Close()
		return 0, net.ErrClosed
	}
	return b.Conn.Write(p)
}

// Connect gets through a first connection that breaks while the anchor's
// request is being written: the session comes back on a new first
// connection, which carries the request again.
func TestConnectSurvivesTheFirstConnectionBreaking(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	srv, err := zookeeper.Start(ctx, zookeeper.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	var dials atomic.Int32
	dialer := func(network, addr string, timeout time.Duration) (net.Conn, error) {
		c, err := net.DialTimeout(network, addr, timeout)
		if err == nil && dials.Add(1) == 1 {
			return &breakingConn{Conn: c, n: 2}, nil // the connect request passes, the anchor's does not
		}
		return c, err
	}
	conn, g, err := Connect(ctx, []string{srv.Addr()}, 4*time.Second, Options{Dialer: dialer})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close()
	if g.Quiet() || dials.Load() != 3 {
		t.Fatalf("after connect: quiet=%v, %d dials; want a ready session after 3 (broken, first, handover)", g.Quiet(), dials.Load())
	}
	if _, _, err := conn.Get(AnchorPath); err != nil {
		t.Fatalf("the session does not work: %v", err)
	}
}
