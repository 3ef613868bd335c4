package zookeeper

import (
	"bufio"
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// rawClient speaks the wire protocol directly, for the ops and error paths
// go-zookeeper does not expose.
type rawClient struct {
	t    testing.TB
	nc   net.Conn
	r    *bufio.Reader
	xid  int32
	sid  int64
	pass []byte
	// events holds the watch notifications call read while waiting for a reply.
	events []rawReply
}

type rawReply struct {
	hdr  replyHeader
	body []byte
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawClient{t: t, nc: nc, r: bufio.NewReader(nc)}
}

func (c *rawClient) send(body []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(frame(body)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *rawClient) readFrame() ([]byte, error) {
	return readFrame(c.r, nil, 1<<26)
}

// connect sends a connect request and returns the response (ok=false when
// the server closed the connection instead of answering).
func (c *rawClient) connect(req connectRequest) (connectResponse, bool) {
	c.t.Helper()
	if req.Passwd == nil {
		req.Passwd = make([]byte, 16)
	}
	e := encoder{}
	req.encode(&e)
	c.send(e.buf)
	body, err := c.readFrame()
	if err != nil {
		return connectResponse{}, false
	}
	resp, err := decodeConnectResponse(body)
	if err != nil {
		c.t.Fatalf("decode connect response: %v", err)
	}
	c.sid, c.pass = resp.SessionID, resp.Passwd
	return resp, true
}

func (c *rawClient) mustConnect() connectResponse {
	c.t.Helper()
	resp, ok := c.connect(connectRequest{Timeout: 4000})
	if !ok || resp.SessionID == 0 {
		c.t.Fatalf("connect refused")
	}
	return resp
}

// call sends one request and returns the next reply that is not a watch event.
func (c *rawClient) call(op int32, body []byte) rawReply {
	c.t.Helper()
	c.xid++
	e := encoder{}
	e.int32(c.xid)
	e.int32(op)
	c.send(append(e.buf, body...))
	for {
		r, err := c.next()
		if err != nil {
			c.t.Fatalf("op %d: read reply: %v", op, err)
		}
		if r.hdr.Xid != xidNotification {
			return r
		}
		c.events = append(c.events, r)
	}
}

func (c *rawClient) next() (rawReply, error) {
	body, err := c.readFrame()
	if err != nil {
		return rawReply{}, err
	}
	if len(body) < 16 {
		return rawReply{}, errShortBuffer
	}
	h := replyHeader{
		Xid:  int32(binary.BigEndian.Uint32(body)),
		Zxid: int64(binary.BigEndian.Uint64(body[4:])),
		Err:  int32(binary.BigEndian.Uint32(body[12:])),
	}
	return rawReply{hdr: h, body: body[16:]}, nil
}

// nextEvent returns the oldest notification, buffered or from the wire.
func (c *rawClient) nextEvent() (watchEvent, error) {
	var r rawReply
	if len(c.events) > 0 {
		r, c.events = c.events[0], c.events[1:]
	} else {
		var err error
		if r, err = c.next(); err != nil {
			return watchEvent{}, err
		}
	}
	d := decoder{buf: r.body}
	typ, _, path := d.int32(), d.int32(), d.string()
	return watchEvent{Type: typ, Path: path}, d.err
}

// closed reports whether the server closed the connection (within 5s).
func (c *rawClient) closed() bool {
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, err := c.readFrame(); err != nil {
			ne, ok := err.(net.Error)
			return !(ok && ne.Timeout())
		}
	}
}

// enc builds request bodies.
func enc(build func(e *encoder)) []byte {
	e := encoder{}
	build(&e)
	return e.buf
}

func pathBody(p string) []byte { return enc(func(e *encoder) { e.string(p) }) }

func createBody(p string, data []byte, flags int32) []byte {
	return enc(func(e *encoder) {
		(&createRequest{Path: p, Data: data, ACL: openACL, Flags: flags}).encode(e, opCreate)
	})
}
