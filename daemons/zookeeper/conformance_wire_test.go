package zookeeper_test

// A small jute encoder/decoder and a raw session, written from the wire format
// (zookeeper.jute), for what go-zookeeper cannot express: exact error codes,
// connect responses byte by byte, opcodes it does not send, malformed frames.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// Opcodes, error codes and event types used by the raw tests (ZooDefs.OpCode,
// KeeperException.Code, Watcher.Event.EventType).
const (
	opCreate               = 1
	opDelete               = 2
	opExists               = 3
	opGetData              = 4
	opSetData              = 5
	opGetACL               = 6
	opSetACL               = 7
	opGetChildren          = 8
	opSync                 = 9
	opPing                 = 11
	opGetChildren2         = 12
	opCheck                = 13
	opMulti                = 14
	opCreate2              = 15
	opCheckWatches         = 17
	opRemoveWatches        = 18
	opCreateContainer      = 19
	opCreateTTL            = 21
	opMultiRead            = 22
	opSetAuth              = 100
	opSetWatches           = 101
	opGetEphemerals        = 103
	opGetAllChildrenNumber = 104
	opAddWatch             = 106
	opCloseSession         = -11
	opError                = -1

	errOK                   = 0
	errRuntimeInconsistency = -2
	errMarshalling          = -5
	errUnimplemented        = -6
	errBadArguments         = -8
	errNoNode               = -101
	errNoAuth               = -102
	errBadVersion           = -103
	errNoChildrenForEph     = -108
	errNodeExists           = -110
	errNotEmpty             = -111
	errInvalidACL           = -114
	errNoWatcher            = -121

	evNodeCreated         = 1
	evNodeDeleted         = 2
	evNodeDataChanged     = 3
	evNodeChildrenChanged = 4

	xidNotification = -1
	xidPing         = -2
	xidSetWatches   = -8
)

// enc builds a jute record.
type enc struct{ b []byte }

func (e *enc) i32(v int32) *enc { e.b = binary.BigEndian.AppendUint32(e.b, uint32(v)); return e }
func (e *enc) i64(v int64) *enc { e.b = binary.BigEndian.AppendUint64(e.b, uint64(v)); return e }
func (e *enc) bool(v bool) *enc {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
	return e
}
func (e *enc) str(s string) *enc { e.i32(int32(len(s))); e.b = append(e.b, s...); return e }
func (e *enc) buf(b []byte) *enc {
	if b == nil {
		return e.i32(-1)
	}
	e.i32(int32(len(b)))
	e.b = append(e.b, b...)
	return e
}
func (e *enc) strs(ss []string) *enc {
	e.i32(int32(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
	return e
}

// acl is one ACL entry as jute encodes it.
type acl struct {
	perms      int32
	scheme, id string
}

var openACL = []acl{{perms: 31, scheme: "world", id: "anyone"}}

func (e *enc) acls(as []acl) *enc {
	e.i32(int32(len(as)))
	for _, a := range as {
		e.i32(a.perms).str(a.scheme).str(a.id)
	}
	return e
}

// dec reads a jute record; the first failure sticks in err.
type dec struct {
	b   []byte
	err error
}

func (d *dec) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.err = fmt.Errorf("record too short: need %d bytes, have %d", n, len(d.b))
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) i32() int32 {
	if v := d.take(4); v != nil {
		return int32(binary.BigEndian.Uint32(v))
	}
	return 0
}

func (d *dec) i64() int64 {
	if v := d.take(8); v != nil {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

func (d *dec) bool() bool {
	v := d.take(1)
	return v != nil && v[0] != 0
}

func (d *dec) buf() []byte {
	n := d.i32()
	if n == -1 {
		return nil
	}
	return d.take(int(n))
}

func (d *dec) str() string { return string(d.buf()) }

func (d *dec) strs() []string {
	n := d.i32()
	var out []string
	for i := int32(0); i < n && d.err == nil; i++ {
		out = append(out, d.str())
	}
	return out
}

// rawStat is the 68-byte Stat record.
type rawStat struct {
	Czxid, Mzxid, Ctime, Mtime  int64
	Version, Cversion, Aversion int32
	EphemeralOwner              int64
	DataLength, NumChildren     int32
	Pzxid                       int64
}

func (d *dec) stat() rawStat {
	return rawStat{Czxid: d.i64(), Mzxid: d.i64(), Ctime: d.i64(), Mtime: d.i64(),
		Version: d.i32(), Cversion: d.i32(), Aversion: d.i32(), EphemeralOwner: d.i64(),
		DataLength: d.i32(), NumChildren: d.i32(), Pzxid: d.i64()}
}

// connectReq is the ConnectRequest record; readOnly nil leaves the trailing
// byte out, as old clients do.
type connectReq struct {
	lastZxid  int64
	timeoutMs int32
	sessionID int64
	passwd    []byte
	readOnly  *bool
}

func (r connectReq) encode() []byte {
	passwd := r.passwd
	if passwd == nil {
		passwd = make([]byte, 16)
	}
	e := (&enc{}).i32(0).i64(r.lastZxid).i32(r.timeoutMs).i64(r.sessionID).buf(passwd)
	if r.readOnly != nil {
		e.bool(*r.readOnly)
	}
	return e.b
}

// connectResp is the decoded ConnectResponse and its raw length.
type connectResp struct {
	protocolVersion int32
	timeoutMs       int32
	sessionID       int64
	passwd          []byte
	bodyLen         int
}

// replyHeader is xid, zxid, err.
type replyHeader struct {
	xid  int32
	zxid int64
	err  int32
}

// event is a notification (xid -1): WatcherEvent.
type event struct {
	typ   int32
	state int32
	path  string
}

// rawConn is one TCP connection speaking the protocol by hand.
type rawConn struct {
	t      testing.TB
	c      net.Conn
	xid    int32
	events []event
	// lastZxid is the zxid of the last reply header, as a client tracks it.
	lastZxid int64
	// session is set after a successful connect.
	session connectResp
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	r := &rawConn{t: t, c: c}
	// Close the session, not just the socket: a session left to expire on a
	// shared real server would consume a zxid in the middle of a later test.
	t.Cleanup(func() {
		if r.session.sessionID != 0 && r.writeFrame((&enc{}).i32(r.xid+1).i32(opCloseSession).b) == nil {
			_ = r.waitClosed()
		}
		c.Close()
	})
	return r
}

// writeFrame sends a length-prefixed body.
func (r *rawConn) writeFrame(body []byte) error {
	_ = r.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := r.c.Write(binary.BigEndian.AppendUint32(nil, uint32(len(body))))
	if err == nil {
		_, err = r.c.Write(body)
	}
	return err
}

// readFrame reads one length-prefixed body within 10s.
func (r *rawConn) readFrame() ([]byte, error) {
	_ = r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var n [4]byte
	if _, err := io.ReadFull(r.c, n[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > 64<<20 {
		return nil, fmt.Errorf("frame of %d bytes", size)
	}
	body := make([]byte, size)
	_, err := io.ReadFull(r.c, body)
	return body, err
}

// connect sends a ConnectRequest and decodes the answer.
func (r *rawConn) connect(req connectReq) (connectResp, error) {
	if err := r.writeFrame(req.encode()); err != nil {
		return connectResp{}, err
	}
	body, err := r.readFrame()
	if err != nil {
		return connectResp{}, err
	}
	d := &dec{b: body}
	resp := connectResp{protocolVersion: d.i32(), timeoutMs: d.i32(), sessionID: d.i64(), passwd: d.buf(), bodyLen: len(body)}
	if d.err != nil {
		return resp, fmt.Errorf("decode connect response: %w", d.err)
	}
	if resp.sessionID != 0 {
		r.session = resp
	}
	return resp, nil
}

// mustConnect opens a new session with a 10s timeout (no read-only byte).
func mustConnect(t testing.TB, addr string) *rawConn {
	t.Helper()
	r := dialRaw(t, addr)
	if _, err := r.connect(connectReq{timeoutMs: 10000}); err != nil {
		t.Fatalf("raw connect: %v", err)
	}
	return r
}

// call sends one request and returns the reply header and body, collecting
// notifications that arrive first into r.events.
func (r *rawConn) call(op int32, req []byte) (replyHeader, *dec, error) {
	r.xid++
	xid := r.xid
	frame := (&enc{}).i32(xid).i32(op).b
	frame = append(frame, req...)
	if err := r.writeFrame(frame); err != nil {
		return replyHeader{}, nil, err
	}
	for {
		h, d, err := r.readReply()
		if err != nil {
			return h, nil, err
		}
		if h.xid == xid {
			return h, d, nil
		}
	}
}

// readReply reads the next reply; a notification is stored and returned too.
func (r *rawConn) readReply() (replyHeader, *dec, error) {
	body, err := r.readFrame()
	if err != nil {
		return replyHeader{}, nil, err
	}
	d := &dec{b: body}
	h := replyHeader{xid: d.i32(), zxid: d.i64(), err: d.i32()}
	if d.err != nil {
		return h, nil, d.err
	}
	if h.xid == xidNotification {
		r.events = append(r.events, event{typ: d.i32(), state: d.i32(), path: d.str()})
	} else if h.zxid > 0 {
		r.lastZxid = h.zxid
	}
	return h, d, nil
}

// mustCall is call that fails the test on a transport error and returns the
// reply's error code and body.
func (r *rawConn) mustCall(op int32, req []byte) (int32, *dec) {
	r.t.Helper()
	h, d, err := r.call(op, req)
	if err != nil {
		r.t.Fatalf("op %d: %v", op, err)
	}
	return h.err, d
}

// waitClosed reports whether the server closed the connection within 10s
// (every frame it sends first is read and dropped).
func (r *rawConn) waitClosed() error {
	for {
		if _, err := r.readFrame(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return errors.New("connection still open after 10s")
			}
			return nil
		}
	}
}

// Request bodies.
func createReq(path string, data []byte, acls []acl, flags int32) []byte {
	return (&enc{}).str(path).buf(data).acls(acls).i32(flags).b
}
func pathReq(path string) []byte                  { return (&enc{}).str(path).b }
func pathWatchReq(path string, watch bool) []byte { return (&enc{}).str(path).bool(watch).b }
func deleteReq(path string, version int32) []byte { return (&enc{}).str(path).i32(version).b }
func setDataReq(path string, data []byte, version int32) []byte {
	return (&enc{}).str(path).buf(data).i32(version).b
}
func pathTypeReq(path string, typ int32) []byte { return (&enc{}).str(path).i32(typ).b }
