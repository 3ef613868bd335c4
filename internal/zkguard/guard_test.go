package zkguard

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/daemons/zookeeper"
	"github.com/localstorm/localstorm/internal/testutil"
)

// frame is a length-prefixed packet.
func frame(body []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// reply is a reply body: the header (xid, zxid, error), then payload.
func reply(xid int32, zxid int64, payload string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(xid))
	b = binary.BigEndian.AppendUint64(b, uint64(zxid))
	b = binary.BigEndian.AppendUint32(b, 0)
	return append(b, payload...)
}

// pipe is a guarded connection and the server end of it; the server's
// writes are drained by the test.
func pipe(t *testing.T) (*guardedConn, net.Conn, *Guard) {
	t.Helper()
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	g := &Guard{dialer: net.DialTimeout}
	return &guardedConn{Conn: client, g: g}, server, g
}

// readFrame reads one frame the way go-zookeeper does (length, then body),
// in reads of at most chunk bytes.
func readFrame(r io.Reader, chunk int) ([]byte, error) {
	read := func(n int) ([]byte, error) {
		buf := make([]byte, n)
		for off := 0; off < n; {
			m, err := r.Read(buf[off:min(off+chunk, n)])
			if err != nil {
				return nil, err
			}
			off += m
		}
		return buf, nil
	}
	length, err := read(4)
	if err != nil {
		return nil, err
	}
	return read(int(binary.BigEndian.Uint32(length)))
}

// forwardFrames sends every frame read from r to out until r fails.
func forwardFrames(r io.Reader, out chan<- []byte) {
	for {
		b, err := readFrame(r, 1<<20)
		if err != nil {
			return
		}
		out <- b
	}
}

// Replies reach go-zookeeper with zxid 0 in their header, whatever the size
// of its reads; the guard keeps the zxid. The connect response, notifications
// and pings pass unchanged.
func TestReadTakesTheZxidOutOfReplies(t *testing.T) {
	connectResp := []byte("connect-response-of-some-length")
	frames := [][]byte{
		connectResp,
		reply(5, 0x1234, "payload"),
		reply(-1, -1, "notification"),
		reply(-2, 0x9999, ""),
		reply(6, 0x2000, "more"),
	}
	for _, chunk := range []int{1, 3, 7, 64 << 10} {
		t.Run(fmt.Sprintf("reads of %d bytes", chunk), func(t *testing.T) {
			c, server, g := pipe(t)
			go func() {
				for _, f := range frames {
					_, _ = server.Write(frame(f))
				}
			}()
			wantZxid := []int64{0, 0x1234, 0x1234, 0x1234, 0x2000}
			for i, sent := range frames {
				got, err := readFrame(c, chunk)
				if err != nil {
					t.Fatalf("read frame %d: %v", i, err)
				}
				want := bytes.Clone(sent)
				if i > 0 && int32(binary.BigEndian.Uint32(sent)) >= 0 {
					clear(want[4:12])
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("frame %d read as %x, want %x", i, got, want)
				}
				if g.LastZxid() != wantZxid[i] {
					t.Fatalf("after frame %d the guard keeps zxid 0x%x, want 0x%x", i, g.LastZxid(), wantZxid[i])
				}
			}
		})
	}
}

// connectRequest is go-zookeeper's connect request packet.
func connectRequest(lastZxid, sessionID int64) []byte {
	b := binary.BigEndian.AppendUint32(nil, 0) // protocolVersion
	b = binary.BigEndian.AppendUint64(b, uint64(lastZxid))
	b = binary.BigEndian.AppendUint32(b, 6000)
	b = binary.BigEndian.AppendUint64(b, uint64(sessionID))
	b = binary.BigEndian.AppendUint32(b, 16)
	return frame(append(b, make([]byte, 16)...))
}

// request is a request packet: xid, opcode, then body.
func request(xid, op int32, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(xid))
	b = binary.BigEndian.AppendUint32(b, uint32(op))
	return frame(append(b, body...))
}

func setWatchesBody(relZxid int64) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(relZxid))
	b = binary.BigEndian.AppendUint32(b, 1)
	b = binary.BigEndian.AppendUint32(b, 2)
	return append(b, "/a"...)
}

// The connect request of a reconnection and every setWatches carry the
// session's zxid as it was when the connection began; the caller's bytes
// are not touched; a new session starts from zxid 0.
func TestWriteCarriesTheSessionsZxid(t *testing.T) {
	c, server, g := pipe(t)
	g.zxid.Store(0x77)
	written := make(chan []byte, 10)
	go forwardFrames(server, written)
	write := func(p []byte) []byte {
		t.Helper()
		orig := bytes.Clone(p)
		if n, err := c.Write(p); err != nil || n != len(p) {
			t.Fatalf("write = %d, %v", n, err)
		}
		if !bytes.Equal(p, orig) {
			t.Fatal("Write changed the caller's bytes")
		}
		return <-written
	}
	if got := write(connectRequest(0, 0x1a2b)); binary.BigEndian.Uint64(got[4:12]) != 0x77 {
		t.Fatalf("reconnection's lastZxidSeen = 0x%x, want 0x77", binary.BigEndian.Uint64(got[4:12]))
	}
	// A reply on the new connection raises the session's zxid, not what
	// setWatches carries (the zxid seen before the connection).
	g.zxid.Store(0x99)
	for _, op := range []int32{opSetWatches, opSetWatches2} {
		got := write(request(7, op, setWatchesBody(0)))
		if rel := binary.BigEndian.Uint64(got[8:16]); rel != 0x77 {
			t.Fatalf("op %d relativeZxid = 0x%x, want 0x77", op, rel)
		}
		if !bytes.Equal(got[16:], setWatchesBody(0)[8:]) {
			t.Fatalf("op %d: the watch lists changed", op)
		}
	}
	other := request(8, 4, setWatchesBody(0)) // getData: nothing to rewrite
	if got := write(other); !bytes.Equal(got, other[4:]) {
		t.Fatalf("getData written as %x", got)
	}

	c2, server2, g2 := pipe(t)
	g2.zxid.Store(0x55) // left from an expired session
	go forwardFrames(server2, written)
	if _, err := c2.Write(connectRequest(0, 0)); err != nil {
		t.Fatal(err)
	}
	if got := <-written; binary.BigEndian.Uint64(got[4:12]) != 0 || g2.LastZxid() != 0 {
		t.Fatalf("a new session's lastZxidSeen = 0x%x (guard 0x%x), want 0", binary.BigEndian.Uint64(got[4:12]), g2.LastZxid())
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

// Against a real server (the embedded one): the session works, the guard
// follows the server's zxid, a dropped connection comes back at once with
// the same session, and a watch set before it fires for a change made after.
func TestConnectFollowsTheSession(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	srv, err := zookeeper.Start(ctx, zookeeper.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	conn, g, err := Connect(ctx, []string{srv.Addr()}, 4*time.Second, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Create("/n", []byte("1"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	_, stat, ch, err := conn.GetW("/n")
	if err != nil {
		t.Fatal(err)
	}
	if g.LastZxid() != stat.Mzxid || g.Established() != 1 {
		t.Fatalf("guard: zxid 0x%x (node 0x%x), %d connections; want the node's, 1", g.LastZxid(), stat.Mzxid, g.Established())
	}
	// The point of it all: go-zookeeper's own field was never written.
	if own := reflect.ValueOf(conn).Elem().FieldByName("lastZxid").Int(); own != 0 {
		t.Fatalf("go-zookeeper's lastZxid = 0x%x, want 0 (the guard keeps it)", own)
	}
	session := conn.SessionID()
	srv.DropConnections()
	testutil.Eventually(t, 10*time.Second, "a reconnection", func() bool { return g.Established() >= 2 })
	if conn.SessionID() != session {
		t.Fatalf("session 0x%x after the reconnection, want 0x%x", conn.SessionID(), session)
	}
	if _, err := conn.Set("/n", []byte("2"), -1); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-ch:
		if ev.Type != zk.EventNodeDataChanged || ev.Path != "/n" {
			t.Fatalf("watch event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch set before the reconnection did not fire")
	}
}
