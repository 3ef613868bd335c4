package zookeeper

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// This file is the jute wire codec: ZooKeeper's records as Go structs, and the
// big-endian encoding ZooKeeper's BinaryInputArchive/BinaryOutputArchive use.
// Every decoder works on one already-framed body and checks every length
// against the bytes that remain, so a hostile length can neither panic nor
// make the server allocate more than the frame it already holds.

// Opcodes of ZooDefs.OpCode.
const (
	opNotification         int32 = 0
	opCreate               int32 = 1
	opDelete               int32 = 2
	opExists               int32 = 3
	opGetData              int32 = 4
	opSetData              int32 = 5
	opGetACL               int32 = 6
	opSetACL               int32 = 7
	opGetChildren          int32 = 8
	opSync                 int32 = 9
	opPing                 int32 = 11
	opGetChildren2         int32 = 12
	opCheck                int32 = 13
	opMulti                int32 = 14
	opCreate2              int32 = 15
	opReconfig             int32 = 16
	opCheckWatches         int32 = 17
	opRemoveWatches        int32 = 18
	opCreateContainer      int32 = 19
	opDeleteContainer      int32 = 20
	opCreateTTL            int32 = 21
	opMultiRead            int32 = 22
	opAuth                 int32 = 100
	opSetWatches           int32 = 101
	opSASL                 int32 = 102
	opGetEphemerals        int32 = 103
	opGetAllChildrenNumber int32 = 104
	opSetWatches2          int32 = 105
	opAddWatch             int32 = 106
	opWhoAmI               int32 = 107
	opCreateSession        int32 = -10
	opCloseSession         int32 = -11
	opError                int32 = -1
)

// Special xids.
const (
	xidNotification int32 = -1
	xidPing         int32 = -2
	xidAuth         int32 = -4
)

// Error codes of KeeperException.Code.
const (
	errOK                      int32 = 0
	errSystemError             int32 = -1
	errRuntimeInconsistency    int32 = -2
	errMarshallingError        int32 = -5
	errUnimplemented           int32 = -6
	errBadArguments            int32 = -8
	errNoNode                  int32 = -101
	errNoAuth                  int32 = -102
	errBadVersion              int32 = -103
	errNoChildrenForEphemerals int32 = -108
	errNodeExists              int32 = -110
	errNotEmpty                int32 = -111
	errSessionExpired          int32 = -112
	errInvalidACL              int32 = -114
	errAuthFailed              int32 = -115
	errNoWatcher               int32 = -121
	errReconfigDisabled        int32 = -123
)

// Watch event types and the one state the server sends.
const (
	eventNodeCreated         int32 = 1
	eventNodeDeleted         int32 = 2
	eventNodeDataChanged     int32 = 3
	eventNodeChildrenChanged int32 = 4
	stateSyncConnected       int32 = 3
)

// ACL permission bits of ZooDefs.Perms.
const (
	permRead   int32 = 1
	permWrite  int32 = 2
	permCreate int32 = 4
	permDelete int32 = 8
	permAdmin  int32 = 16
	permAll    int32 = 31
)

// statSize is the encoded size of a Stat: 6 longs and 5 ints.
const statSize = 68

// errShortBuffer reports a record that claims more bytes than its frame holds.
var errShortBuffer = errors.New("record truncated: a length or field runs past the end of the frame")

// decoder reads jute fields from one frame body. The first error sticks: later
// reads return zero values, so record decoders check err once at the end.
type decoder struct {
	buf []byte
	pos int
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.buf)-d.pos {
		d.fail(errShortBuffer)
		return nil
	}
	b := d.buf[d.pos : d.pos+n]
	d.pos += n
	return b
}

func (d *decoder) int32() int32 {
	b := d.take(4)
	if b == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

func (d *decoder) int64() int64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

func (d *decoder) bool() bool {
	b := d.take(1)
	return b != nil && b[0] != 0
}

// buffer reads a jute buffer; -1 is null. The bytes are copied so that the
// caller may keep them after the frame buffer is reused.
func (d *decoder) buffer() []byte {
	b := d.bufferAlias()
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// bufferAlias is buffer without the copy: the bytes are the decoder's.
func (d *decoder) bufferAlias() []byte {
	n := d.int32()
	if d.err != nil || n == -1 {
		return nil
	}
	b := d.take(int(n))
	if b == nil {
		return nil
	}
	return b[:len(b):len(b)]
}

func (d *decoder) string() string {
	n := d.int32()
	if d.err != nil || n == -1 {
		return ""
	}
	return string(d.take(int(n)))
}

// count reads a vector length; -1 (null) reads as 0. Every element takes at
// least minElem bytes, which bounds the count by what the frame can hold.
func (d *decoder) count(minElem int) int {
	n := d.int32()
	if d.err != nil || n == -1 {
		return 0
	}
	if n < 0 || int(n) > (len(d.buf)-d.pos)/minElem {
		d.fail(errShortBuffer)
		return 0
	}
	return int(n)
}

func (d *decoder) strings() []string {
	n := d.count(4)
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.string())
	}
	return out
}

func (d *decoder) acls() []ACL {
	// jute reads any negative ACL count as a null or empty list rather than
	// failing, which fixupACL answers with InvalidACL (as 3.8.0 does).
	if len(d.buf)-d.pos >= 4 && d.err == nil && int32(binary.BigEndian.Uint32(d.buf[d.pos:])) < 0 {
		d.pos += 4
		return nil
	}
	// Nearly every request carries the one open ACL: share openACL (which
	// no one may modify) instead of allocating its copy.
	if d.err == nil && bytes.HasPrefix(d.buf[d.pos:], openACLWire) {
		d.pos += len(openACLWire)
		return openACL
	}
	n := d.count(12)
	if n == 0 {
		return nil
	}
	out := make([]ACL, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, ACL{Perms: d.int32(), Scheme: d.string(), ID: d.string()})
	}
	return out
}

func (d *decoder) stat() Stat {
	return Stat{
		Czxid: d.int64(), Mzxid: d.int64(), Ctime: d.int64(), Mtime: d.int64(),
		Version: d.int32(), Cversion: d.int32(), Aversion: d.int32(),
		EphemeralOwner: d.int64(), DataLength: d.int32(), NumChildren: d.int32(), Pzxid: d.int64(),
	}
}

// openACLWire is the jute encoding of openACL, count included.
var openACLWire = func() []byte {
	e := encoder{}
	e.acls(openACL)
	return e.buf
}()

// remaining reports the bytes not yet read.
func (d *decoder) remaining() int { return len(d.buf) - d.pos }

// encoder appends jute fields to a byte slice.
type encoder struct{ buf []byte }

func (e *encoder) int32(v int32) { e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(v)) }
func (e *encoder) int64(v int64) { e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(v)) }
func (e *encoder) bool(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

func (e *encoder) buffer(b []byte) {
	if b == nil {
		e.int32(-1)
		return
	}
	e.int32(int32(len(b)))
	e.buf = append(e.buf, b...)
}

func (e *encoder) string(s string) {
	e.int32(int32(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) strings(ss []string) {
	e.int32(int32(len(ss)))
	for _, s := range ss {
		e.string(s)
	}
}

func (e *encoder) acls(acls []ACL) {
	e.int32(int32(len(acls)))
	for _, a := range acls {
		e.int32(a.Perms)
		e.string(a.Scheme)
		e.string(a.ID)
	}
}

func (e *encoder) stat(s *Stat) {
	e.int64(s.Czxid)
	e.int64(s.Mzxid)
	e.int64(s.Ctime)
	e.int64(s.Mtime)
	e.int32(s.Version)
	e.int32(s.Cversion)
	e.int32(s.Aversion)
	e.int64(s.EphemeralOwner)
	e.int32(s.DataLength)
	e.int32(s.NumChildren)
	e.int64(s.Pzxid)
}

// ACL is one entry of a znode's access control list (scheme:id with permission bits).
type ACL struct {
	Perms  int32
	Scheme string
	ID     string
}

// Stat is the client-visible znode status (org.apache.zookeeper.data.Stat).
type Stat struct {
	Czxid, Mzxid, Ctime, Mtime  int64
	Version, Cversion, Aversion int32
	EphemeralOwner              int64
	DataLength, NumChildren     int32
	Pzxid                       int64
}

// connectRequest is the first frame of a session connection.
type connectRequest struct {
	ProtocolVersion int32
	LastZxidSeen    int64
	Timeout         int32
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
	HasReadOnly     bool // old clients send no read-only byte and must get none back
}

func decodeConnectRequest(body []byte) (connectRequest, error) {
	d := decoder{buf: body}
	r := connectRequest{
		ProtocolVersion: d.int32(),
		LastZxidSeen:    d.int64(),
		Timeout:         d.int32(),
		SessionID:       d.int64(),
		Passwd:          d.buffer(),
	}
	if d.err == nil && d.remaining() > 0 {
		r.HasReadOnly = true
		r.ReadOnly = d.bool()
	}
	if d.err != nil {
		return r, fmt.Errorf("decode connect request: %w", d.err)
	}
	return r, nil
}

func (r *connectRequest) encode(e *encoder) {
	e.int32(r.ProtocolVersion)
	e.int64(r.LastZxidSeen)
	e.int32(r.Timeout)
	e.int64(r.SessionID)
	e.buffer(r.Passwd)
	if r.HasReadOnly {
		e.bool(r.ReadOnly)
	}
}

// connectResponse answers a connect request.
type connectResponse struct {
	ProtocolVersion int32
	Timeout         int32
	SessionID       int64
	Passwd          []byte
	HasReadOnly     bool
	ReadOnly        bool
}

func (r *connectResponse) encode(e *encoder) {
	e.int32(r.ProtocolVersion)
	e.int32(r.Timeout)
	e.int64(r.SessionID)
	e.buffer(r.Passwd)
	if r.HasReadOnly {
		e.bool(r.ReadOnly)
	}
}

func decodeConnectResponse(body []byte) (connectResponse, error) {
	d := decoder{buf: body}
	r := connectResponse{ProtocolVersion: d.int32(), Timeout: d.int32(), SessionID: d.int64(), Passwd: d.buffer()}
	if d.err == nil && d.remaining() > 0 {
		r.HasReadOnly = true
		r.ReadOnly = d.bool()
	}
	return r, d.err
}

// replyHeader precedes every response body.
type replyHeader struct {
	Xid  int32
	Zxid int64
	Err  int32
}

func (h replyHeader) encode(e *encoder) {
	e.int32(h.Xid)
	e.int64(h.Zxid)
	e.int32(h.Err)
}

// Request records. One struct per jute class the server reads; decodeRequest
// picks the right one from the opcode.

type pathWatchRequest struct { // GetDataRequest, ExistsRequest, GetChildren(2)Request
	Path  string
	Watch bool
}

type createRequest struct { // CreateRequest and CreateTTLRequest
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
	TTL   int64
}

type deleteRequest struct {
	Path    string
	Version int32
}

type setDataRequest struct {
	Path    string
	Data    []byte
	Version int32
}

type setACLRequest struct {
	Path    string
	ACL     []ACL
	Version int32
}

type pathRequest struct{ Path string } // SyncRequest, GetACLRequest, GetAllChildrenNumberRequest, GetEphemeralsRequest

type checkVersionRequest struct {
	Path    string
	Version int32
}

type watchTypeRequest struct { // CheckWatchesRequest, RemoveWatchesRequest
	Path string
	Type int32
}

type addWatchRequest struct {
	Path string
	Mode int32
}

type setWatchesRequest struct {
	RelativeZxid        int64
	Data, Exist, Child  []string
	Persistent          []string
	PersistentRecursive []string
}

type authPacket struct {
	Type   int32
	Scheme string
	Auth   []byte
}

// multiOp is one operation inside a multi or multiRead request.
type multiOp struct {
	Type int32
	Req  any
}

type multiRequest struct{ Ops []multiOp }

// decodeRequest decodes the body of a request of the given opcode (after the
// request header). Opcodes without a body return nil.
func decodeRequest(op int32, body []byte) (any, error) {
	return decodeRequestInto(op, body, nil)
}

// requestScratch holds a connection's decoded request of the common kinds,
// reused from one request to the next: the reader handles one request at a
// time and nothing keeps the request itself (only the strings taken from
// it), so a create, get, set or delete allocates no request struct. The data
// of a create or setData decoded into it is not copied: it aliases the
// frame, which the next read overwrites, and the request is committed
// (the tree and the log copy what they keep) before that read.
type requestScratch struct {
	pathWatch pathWatchRequest
	create    createRequest
	delete    deleteRequest
	setData   setDataRequest
}

// decodeRequestInto decodes into scratch, or a new one when it is nil.
func decodeRequestInto(op int32, body []byte, scratch *requestScratch) (any, error) {
	d := decoder{buf: body}
	req := decodeOp(&d, op, scratch)
	if d.err != nil {
		return nil, fmt.Errorf("decode request of opcode %d: %w", op, d.err)
	}
	return req, nil
}

func decodeOp(d *decoder, op int32, s *requestScratch) any {
	data := d.bufferAlias
	if s == nil {
		s, data = &requestScratch{}, d.buffer
	}
	switch op {
	case opExists, opGetData, opGetChildren, opGetChildren2:
		s.pathWatch = pathWatchRequest{Path: d.string(), Watch: d.bool()}
		return &s.pathWatch
	case opCreate, opCreate2, opCreateContainer:
		s.create = createRequest{Path: d.string(), Data: data(), ACL: d.acls(), Flags: d.int32()}
		return &s.create
	case opCreateTTL:
		s.create = createRequest{Path: d.string(), Data: data(), ACL: d.acls(), Flags: d.int32(), TTL: d.int64()}
		return &s.create
	case opDelete, opDeleteContainer:
		s.delete = deleteRequest{Path: d.string(), Version: d.int32()}
		return &s.delete
	case opSetData:
		s.setData = setDataRequest{Path: d.string(), Data: data(), Version: d.int32()}
		return &s.setData
	case opSetACL:
		return &setACLRequest{Path: d.string(), ACL: d.acls(), Version: d.int32()}
	case opSync, opGetACL, opGetAllChildrenNumber, opGetEphemerals:
		return &pathRequest{Path: d.string()}
	case opCheck:
		return &checkVersionRequest{Path: d.string(), Version: d.int32()}
	case opCheckWatches, opRemoveWatches:
		return &watchTypeRequest{Path: d.string(), Type: d.int32()}
	case opAddWatch:
		return &addWatchRequest{Path: d.string(), Mode: d.int32()}
	case opSetWatches, opSetWatches2:
		r := &setWatchesRequest{RelativeZxid: d.int64(), Data: d.strings(), Exist: d.strings(), Child: d.strings()}
		if op == opSetWatches2 {
			r.Persistent = d.strings()
			r.PersistentRecursive = d.strings()
		}
		return r
	case opAuth:
		return &authPacket{Type: d.int32(), Scheme: d.string(), Auth: d.buffer()}
	case opMulti, opMultiRead:
		return decodeMulti(d)
	}
	return nil
}

// decodeMulti reads (MultiHeader, op) pairs until a header with done set.
// Every header takes 9 bytes, so the loop is bounded by the frame.
func decodeMulti(d *decoder) *multiRequest {
	m := &multiRequest{}
	for d.err == nil {
		typ, done, _ := d.int32(), d.bool(), d.int32()
		if d.err != nil || done {
			break
		}
		switch typ {
		case opCreate, opCreate2, opCreateContainer, opCreateTTL, opDelete, opSetData, opCheck, opGetData, opGetChildren:
		default:
			d.fail(fmt.Errorf("multi: opcode %d is not allowed in a multi", typ))
			return m
		}
		m.Ops = append(m.Ops, multiOp{Type: typ, Req: decodeOp(d, typ, nil)})
	}
	return m
}

// Encoders of the requests, used by tests and the fuzz seed corpus.

func (r *createRequest) encode(e *encoder, op int32) {
	e.string(r.Path)
	e.buffer(r.Data)
	e.acls(r.ACL)
	e.int32(r.Flags)
	if op == opCreateTTL {
		e.int64(r.TTL)
	}
}

// readFrame reads one length-prefixed frame into buf (grown as needed) and
// returns the body. A length above max or below zero is an error before any
// allocation happens.
func readFrame(r io.Reader, buf []byte, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(int32(binary.BigEndian.Uint32(hdr[:])))
	if n < 0 || n > max {
		return nil, fmt.Errorf("%w: frame of %d bytes, the limit is %d (jute.maxbuffer)", errFrameTooLarge, n, max)
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

var errFrameTooLarge = errors.New("frame length out of range")

// frame prefixes a body with its 4-byte length.
func frame(body []byte) []byte {
	out := make([]byte, 4, 4+len(body))
	binary.BigEndian.PutUint32(out, uint32(len(body)))
	return append(out, body...)
}

// decodeRequestHeader splits a request frame into its header and body.
func decodeRequestHeader(body []byte) (xid, op int32, rest []byte, err error) {
	if len(body) < 8 {
		return 0, 0, nil, fmt.Errorf("decode request header: %w", errShortBuffer)
	}
	return int32(binary.BigEndian.Uint32(body)), int32(binary.BigEndian.Uint32(body[4:])), body[8:], nil
}
