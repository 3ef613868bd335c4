package zookeeper

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A client connection: the reader goroutine decodes and processes requests
// in order (NIOServerCnxn + FinalRequestProcessor), the writer goroutine
// sends what the reader and the watch manager queue, each item once the zxid
// it depends on is durable.

var connSeq atomic.Uint64

type conn struct {
	s      *Server
	nc     net.Conn
	id     uint64
	remote string
	ip     string

	session atomic.Int64
	auth    []authID       // owned by the reader goroutine
	scratch requestScratch // owned by the reader goroutine

	// The frames queued for the writer, length prefixes included, encoded
	// straight into one buffer that the writer swaps for an empty one: no
	// allocation per reply once both buffers have grown.
	outMu    sync.Mutex
	out      encoder
	outZxid  int64 // the frames go out once this zxid is durable
	outClose bool  // close the connection once they are written
	outCount int64 // how many frames (for the sent counters)
	outWake  chan struct{}

	closeOnce sync.Once
	closedCh  chan struct{}

	established time.Time
	received    atomic.Int64
	sent        atomic.Int64
	lastOp      atomic.Int32 // opcode; opNone before the first request
	lastZxid    atomic.Int64
	lastLatency atomic.Int64
	lastCxid    atomic.Int32
	timeout     atomic.Int64 // ms
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{
		s: s, nc: nc, id: connSeq.Add(1), remote: nc.RemoteAddr().String(),
		outWake: make(chan struct{}, 1), closedCh: make(chan struct{}), established: time.Now(),
	}
	if host, _, err := net.SplitHostPort(c.remote); err == nil {
		c.ip = host
	}
	c.auth = []authID{{Scheme: "ip", ID: c.ip}}
	c.lastOp.Store(opNone)
	c.lastZxid.Store(-1)
	return c
}

func (c *conn) start() {
	c.s.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
}

// close tears the connection down at once; the session lives on.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		close(c.closedCh)
		_ = c.nc.Close()
		c.s.watches.removeConn(c)
		if id := c.session.Load(); id != 0 {
			c.s.sessions.detach(id, c)
		}
		c.s.forgetConn(c)
	})
}

func (c *conn) isClosed() bool {
	select {
	case <-c.closedCh:
		return true
	default:
		return false
	}
}

// enqueue appends a frame to what the writer sends next. The frame is
// encoded in place under outMu by encode (its length prefix filled in here),
// so encode must not take other locks; callers may hold the tree's lock, which
// keeps an event ahead of any reply that shows the change that fired it.
func (c *conn) enqueue(zxid int64, closeAfter bool, encode func(e *encoder)) {
	c.outMu.Lock()
	start := len(c.out.buf)
	c.out.buf = append(c.out.buf, 0, 0, 0, 0)
	encode(&c.out)
	putLength(c.out.buf[start:])
	c.outZxid = max(c.outZxid, zxid)
	c.queued(closeAfter)
}

// enqueueRaw appends bytes sent as they are (a four-letter word's answer).
func (c *conn) enqueueRaw(b []byte, closeAfter bool) {
	c.outMu.Lock()
	c.out.buf = append(c.out.buf, b...)
	c.queued(closeAfter)
}

// queued counts a frame just appended, unlocks outMu and wakes the writer.
func (c *conn) queued(closeAfter bool) {
	c.outClose = c.outClose || closeAfter
	c.outCount++
	c.outMu.Unlock()
	select {
	case c.outWake <- struct{}{}:
	default:
	}
}

// reply queues a reply header and an optional body, sent only without error.
func (c *conn) reply(h replyHeader, body func(*encoder), closeAfter bool) {
	if h.Err != 0 {
		body = nil
	}
	c.replyWithBody(h, body, closeAfter)
}

// replyWithBody queues a reply header and the body even with an error.
func (c *conn) replyWithBody(h replyHeader, body func(*encoder), closeAfter bool) {
	c.enqueue(h.Zxid, closeAfter, func(e *encoder) {
		h.encode(e)
		if body != nil {
			body(e)
		}
	})
}

func putLength(b []byte) {
	n := uint32(len(b) - 4)
	b[0], b[1], b[2], b[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
}

// sendEvent queues a watch notification (xid -1, zxid -1, as NIOServerCnxn.process).
// It is called under the tree's write lock, so it precedes any later reply.
func (c *conn) sendEvent(typ int32, path string) {
	// The event must wait for the txn that fired it to be durable; the last
	// zxid is that txn's, as the caller holds the write lock.
	c.enqueue(c.s.tree.lastZxid, false, func(e *encoder) {
		replyHeader{Xid: xidNotification, Zxid: -1}.encode(e)
		e.int32(typ)
		e.int32(stateSyncConnected)
		e.string(path)
	})
}

func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	var buf []byte
	for {
		select {
		case <-c.closedCh:
			return
		case <-c.outWake:
		}
		// Let the reader queue more replies of a pipelined burst first:
		// one write for many replies saves a syscall per reply.
		runtime.Gosched()
		c.outMu.Lock()
		buf, c.out.buf = c.out.buf, buf[:0]
		zxid, closeAfter, n := c.outZxid, c.outClose, c.outCount
		c.outZxid, c.outClose, c.outCount = 0, false, 0
		c.outMu.Unlock()
		if len(buf) == 0 {
			continue
		}
		if !c.s.waitDurable(zxid) {
			c.close()
			return
		}
		if _, err := c.nc.Write(buf); err != nil {
			c.close()
			return
		}
		c.sent.Add(n)
		c.s.stats.sent.Add(n)
		if closeAfter {
			c.close()
			return
		}
		// A burst's buffer is not kept: past 1 MiB it goes back to the heap.
		if cap(buf) > 1<<20 {
			buf = nil
		}
	}
}

func (c *conn) readLoop() {
	defer c.s.wg.Done()
	graceful := false
	defer func() {
		if !graceful {
			c.close()
		}
	}()
	r := bufio.NewReaderSize(c.nc, 64<<10)
	// Until its connect request is in, a connection has no session to
	// expire it: a bound closes one that sends nothing or half a frame
	// (and bounds a four-letter word's answer).
	_ = c.nc.SetDeadline(time.Now().Add(c.s.connectTimeout()))
	first, err := r.Peek(4)
	if err != nil {
		c.logConnectErr(err)
		return
	}
	if word := string(first); isFourLetterWord(word) {
		_, _ = r.Discard(4)
		c.enqueueRaw([]byte(c.s.fourLetter(word)), true)
		graceful = true
		return
	}
	body, err := readFrame(r, nil, c.s.opts.MaxPacketSize)
	if err != nil {
		c.logConnectErr(err)
		return
	}
	if !c.connect(body) {
		graceful = true
		return
	}
	// From here the session's expiry closes the connection.
	_ = c.nc.SetDeadline(time.Time{})
	var buf []byte
	for {
		body, err := readFrame(r, buf, c.s.opts.MaxPacketSize)
		if err != nil {
			c.logFrameErr(err)
			return
		}
		buf = body[:0]
		if !c.handle(body) {
			graceful = true
			return
		}
	}
}

func (c *conn) logFrameErr(err error) {
	if errors.Is(err, errFrameTooLarge) {
		c.s.log.Warn("closing connection: packet too large", "remote", c.remote, "err", err)
	} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !c.isClosed() {
		c.s.log.Debug("closing connection", "remote", c.remote, "err", err)
	}
}

// logConnectErr logs why a connection closed before its connect request.
func (c *conn) logConnectErr(err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.s.log.Info("closing connection: no connect request in time", "remote", c.remote, "timeout", c.s.connectTimeout())
		return
	}
	c.logFrameErr(err)
}

// connectTimeout bounds the wait for a connection's connect request, as
// NIOServerCnxnFactory's sessionlessCnxnTimeout does (10 s): five ticks,
// 10 s at the default tick, and never below the shortest session timeout.
func (s *Server) connectTimeout() time.Duration {
	return max(5*s.opts.TickTime, s.opts.MinSessionTimeout)
}

// connect is ZooKeeperServer.processConnectRequest. It returns false when
// the connection must close after what it queued.
func (c *conn) connect(body []byte) bool {
	s := c.s
	req, err := decodeConnectRequest(body)
	if err != nil {
		s.log.Warn("closing connection: bad connect request", "remote", c.remote, "err", err)
		c.close()
		return false
	}
	if last := s.lastZxid(); req.LastZxidSeen > last {
		s.log.Warn("refusing session: client has seen a zxid this server has not", "remote", c.remote,
			"clientZxid", fmt.Sprintf("%#x", req.LastZxidSeen), "serverZxid", fmt.Sprintf("%#x", last))
		c.close()
		return false
	}
	timeout := time.Duration(req.Timeout) * time.Millisecond
	timeout = min(max(timeout, s.opts.MinSessionTimeout), s.opts.MaxSessionTimeout)
	resp := connectResponse{HasReadOnly: req.HasReadOnly}
	now := time.Now()
	var zxid int64
	if req.SessionID == 0 {
		id := s.sessions.newID()
		s.sessions.add(id, timeout, now)
		c.session.Store(id)
		if _, ok := s.sessions.attach(id, c, timeout, now); !ok {
			c.close()
			return false
		}
		x, _ := s.commit(&prepContext{session: id}, opCreateSession, timeout)
		zxid = x.Zxid
		resp.Timeout, resp.SessionID, resp.Passwd = int32(timeout.Milliseconds()), id, sessionPassword(id)
	} else {
		valid := bytes.Equal(req.Passwd, sessionPassword(req.SessionID))
		if valid {
			var old *conn
			old, valid = s.sessions.attach(req.SessionID, c, timeout, now)
			if old != nil && old != c {
				old.close()
			}
		}
		if !valid {
			s.log.Info("refusing reconnect: session expired or password wrong", "session", fmt.Sprintf("%#x", req.SessionID), "remote", c.remote)
			resp.Passwd = make([]byte, 16)
			c.sendConnectResponse(&resp, 0, true)
			return false
		}
		c.session.Store(req.SessionID)
		zxid = s.lastZxid()
		resp.Timeout, resp.SessionID, resp.Passwd = int32(timeout.Milliseconds()), req.SessionID, sessionPassword(req.SessionID)
	}
	c.timeout.Store(timeout.Milliseconds())
	c.sendConnectResponse(&resp, zxid, false)
	return true
}

func (c *conn) sendConnectResponse(resp *connectResponse, zxid int64, closeAfter bool) {
	c.enqueue(zxid, closeAfter, resp.encode)
}

// isWriteOp lists the opcodes that become txns.
func isWriteOp(op int32) bool {
	switch op {
	case opCreate, opCreate2, opCreateContainer, opCreateTTL, opDelete, opDeleteContainer,
		opSetData, opSetACL, opCheck, opMulti, opReconfig:
		return true
	}
	return false
}

// isKnownOp is Request.isValid.
func isKnownOp(op int32) bool {
	switch op {
	case opCheck, opCloseSession, opCreate, opCreate2, opCreateTTL, opCreateContainer, opCreateSession,
		opDelete, opDeleteContainer, opExists, opGetACL, opGetChildren, opGetAllChildrenNumber,
		opGetChildren2, opGetData, opGetEphemerals, opMulti, opMultiRead, opPing, opReconfig,
		opSetACL, opSetData, opSetWatches, opSetWatches2, opSync, opCheckWatches, opRemoveWatches,
		opAddWatch, opWhoAmI, opAuth, opSASL:
		return true
	}
	return false
}

// handle processes one request frame; false means the connection ends after
// what was queued.
func (c *conn) handle(body []byte) bool {
	s := c.s
	xid, op, rest, err := decodeRequestHeader(body)
	if err != nil {
		c.close()
		return false
	}
	start := time.Now()
	s.stats.received.Add(1)
	c.received.Add(1)
	c.lastCxid.Store(xid)
	sid := c.session.Load()
	if op != opAuth && op != opSASL && !s.sessions.touch(sid, start) {
		// The session expired or is closing: ZooKeeper drops the request and
		// the connection goes with the session.
		c.close()
		return false
	}
	defer func() {
		lat := time.Since(start)
		s.stats.recordLatency(lat)
		c.lastLatency.Store(lat.Milliseconds())
		c.lastOp.Store(op)
	}()
	pc := &prepContext{session: sid, auth: c.auth, extendedTypes: s.opts.ExtendedTypes}

	switch {
	case op == opPing:
		z := s.lastZxid()
		c.lastZxid.Store(z)
		c.reply(replyHeader{Xid: xidPing, Zxid: z}, nil, false)
		return true
	case op == opAuth:
		return c.handleAuth(xid, rest)
	case op == opSASL:
		// No SASL here: answer as a server without a SASL provider would,
		// with an AuthFailed and a close.
		c.reply(replyHeader{Xid: xid, Err: errAuthFailed}, nil, true)
		return false
	case op == opCloseSession:
		if _, ok := s.sessions.beginClose(sid); !ok {
			c.close()
			return false
		}
		x, _ := s.commit(pc, opCloseSession, nil)
		s.sessions.remove(sid)
		c.session.Store(0)
		c.reply(replyHeader{Xid: xid, Zxid: x.Zxid}, nil, true)
		return false
	case !isKnownOp(op) || op == opCreateSession:
		// ZooKeeperServer.submitRequestNow: UnimplementedRequestProcessor
		// answers (with zxid -1) and closes the connection.
		s.log.Warn("received packet of unknown type", "type", op, "remote", c.remote)
		c.reply(replyHeader{Xid: xid, Zxid: -1, Err: errUnimplemented}, nil, true)
		return false
	}

	req, derr := decodeRequestInto(op, rest, &c.scratch)
	if isWriteOp(op) {
		c.handleWrite(pc, xid, op, req, derr)
		return true
	}
	if derr != nil {
		s.log.Warn("bad request", "op", op, "remote", c.remote, "err", derr)
		c.reply(replyHeader{Xid: xid, Zxid: s.lastZxid(), Err: errMarshallingError}, nil, false)
		return true
	}
	c.handleRead(xid, op, req)
	return true
}

func (c *conn) handleWrite(pc *prepContext, xid, op int32, req any, derr error) {
	s := c.s
	if op == opMulti && derr == nil {
		zxid, results, herr := s.commitMulti(pc, req.(*multiRequest))
		c.lastZxid.Store(zxid)
		c.reply(replyHeader{Xid: xid, Zxid: zxid, Err: herr}, func(e *encoder) { encodeMultiResults(e, results) }, false)
		return
	}
	var x txn
	var res applyResult
	if derr != nil {
		s.log.Warn("bad write request", "op", op, "remote", c.remote, "err", derr)
		x, res = s.commit(pc, opError, keeperError(errMarshallingError))
	} else {
		if op == opDeleteContainer {
			op = opDelete
		}
		x, res = s.commit(pc, op, req)
	}
	c.lastZxid.Store(x.Zxid)
	h := replyHeader{Xid: xid, Zxid: x.Zxid, Err: res.Err}
	switch op {
	case opCreate:
		c.reply(h, func(e *encoder) { e.string(res.Path) }, false)
	case opCreate2, opCreateContainer, opCreateTTL:
		c.reply(h, func(e *encoder) { e.string(res.Path); e.stat(&res.Stat) }, false)
	case opSetData, opSetACL:
		c.reply(h, func(e *encoder) { e.stat(&res.Stat) }, false)
	default:
		c.reply(h, nil, false)
	}
}

// encodeMultiHeader writes a MultiHeader; the list ends with {-1, done, -1}.
func encodeMultiHeader(e *encoder, typ int32, done bool, err int32) {
	e.int32(typ)
	e.bool(done)
	e.int32(err)
}

func encodeMultiResults(e *encoder, results []multiResult) {
	for _, r := range results {
		typ := r.Op
		if typ == opCreateContainer || typ == opCreateTTL {
			typ = opCreate2
		}
		encodeMultiHeader(e, typ, false, r.Err)
		switch typ {
		case opCreate:
			e.string(r.Res.Path)
		case opCreate2:
			e.string(r.Res.Path)
			e.stat(&r.Res.Stat)
		case opSetData:
			e.stat(&r.Res.Stat)
		case opError:
			e.int32(r.Err)
		}
	}
	encodeMultiHeader(e, -1, true, -1)
}

// handleAuth is ZooKeeperServer.processPacket for auth packets. The reply
// carries zxid 0; a failure also closes the connection.
func (c *conn) handleAuth(xid int32, rest []byte) bool {
	req, err := decodeRequest(opAuth, rest)
	if err == nil {
		a := req.(*authPacket)
		switch a.Scheme {
		case "digest":
			// DigestAuthenticationProvider takes any string: "user:password".
			id := digestOf(string(a.Auth))
			auth := append([]authID{}, c.auth...)
			if c.s.opts.SuperDigest != "" && id == c.s.opts.SuperDigest {
				auth = appendUnique(auth, authID{Scheme: "super"})
			}
			c.auth = appendUnique(auth, authID{Scheme: "digest", ID: id})
			c.reply(replyHeader{Xid: xid}, nil, false)
			return true
		case "ip":
			// IPAuthenticationProvider authenticates the client's own address,
			// whatever the packet says.
			c.auth = appendUnique(append([]authID{}, c.auth...), authID{Scheme: "ip", ID: c.ip})
			c.reply(replyHeader{Xid: xid}, nil, false)
			return true
		}
		c.s.log.Warn("authentication failed: no provider for scheme", "scheme", a.Scheme, "remote", c.remote)
	}
	c.reply(replyHeader{Xid: xid, Err: errAuthFailed}, nil, true)
	return false
}

func appendUnique(ids []authID, id authID) []authID {
	for _, have := range ids {
		if have == id {
			return ids
		}
	}
	return append(ids, id)
}

// handleRead answers the requests that do not change the tree, under the
// tree's read lock.
func (c *conn) handleRead(xid, op int32, req any) {
	s := c.s
	s.mu.RLock()
	zxid := s.tree.lastZxid
	var (
		body func(*encoder)
		code int32
	)
	switch op {
	case opExists:
		r := req.(*pathWatchRequest)
		if strings.IndexByte(r.Path, 0) != -1 {
			code = errBadArguments
			break
		}
		if r.Watch {
			s.watches.addData(r.Path, c)
		}
		n := s.tree.lookup(r.Path)
		if n == nil {
			code = errNoNode
			break
		}
		st := s.tree.stat(n)
		body = func(e *encoder) { e.stat(&st) }
	case opGetData:
		data, st, err := c.getData(req.(*pathWatchRequest))
		code = err
		body = func(e *encoder) { e.buffer(data); e.stat(&st) }
	case opGetChildren, opGetChildren2:
		kids, st, err := c.getChildren(req.(*pathWatchRequest))
		code = err
		body = func(e *encoder) {
			e.strings(kids)
			if op == opGetChildren2 {
				e.stat(&st)
			}
		}
	case opGetACL:
		body, code = c.getACL(req.(*pathRequest).Path)
	case opGetAllChildrenNumber:
		path := req.(*pathRequest).Path
		n := s.tree.lookup(path)
		switch {
		case n == nil:
			code = errNoNode
		case !checkACL(c.s.tree.aclOf(n), permRead, c.auth):
			code = errNoAuth
		default:
			count := s.tree.countDescendants(path)
			body = func(e *encoder) { e.int32(count) }
		}
	case opGetEphemerals:
		prefix := strings.TrimSpace(req.(*pathRequest).Path)
		var list []string
		for p := range s.tree.ephemerals[c.session.Load()] {
			if prefix == "" || prefix == "/" || strings.HasPrefix(p, req.(*pathRequest).Path) {
				list = append(list, p)
			}
		}
		body = func(e *encoder) { e.strings(list) }
	case opSync:
		path := req.(*pathRequest).Path
		body = func(e *encoder) { e.string(path) }
	case opSetWatches, opSetWatches2:
		// The reply carries the request's xid, as every reply does: the Java
		// client sends -8, go-zookeeper an ordinary one and waits for it.
		c.setWatches(req.(*setWatchesRequest))
	case opAddWatch:
		r := req.(*addWatchRequest)
		if r.Mode != addWatchPersistent && r.Mode != addWatchPersistentRecursive {
			// WatcherMode.fromZooKeeperMode throws: MarshallingError, nothing added.
			code = errMarshallingError
			break
		}
		mode := watchPersistent
		if r.Mode == addWatchPersistentRecursive {
			mode = watchPersistentRecursive
		}
		s.watches.addPersistent(r.Path, c, mode)
		body = func(e *encoder) { e.int32(0) }
	case opCheckWatches, opRemoveWatches:
		r := req.(*watchTypeRequest)
		if r.Type != watcherChildren && r.Type != watcherData && r.Type != watcherAny {
			// WatcherType.fromInt throws: MarshallingError.
			code = errMarshallingError
			break
		}
		if !s.watches.check(r.Path, c, r.Type, op == opRemoveWatches) {
			code = errNoWatcher
		}
	case opWhoAmI:
		auth := c.auth
		body = func(e *encoder) {
			e.int32(int32(len(auth)))
			for _, a := range auth {
				e.string(a.Scheme)
				e.string(userOf(a))
			}
		}
	case opMultiRead:
		results, ok := c.multiRead(req.(*multiRequest))
		body = func(e *encoder) { encodeReadResults(e, results) }
		if !ok {
			code = errMarshallingError
			if len(results) > 0 {
				// Real 3.8.0 sends the MultiResponse built so far only
				// while it is empty (observed); after a result, no body.
				body = nil
			}
		}
	}
	s.mu.RUnlock()
	c.lastZxid.Store(zxid)
	if op == opMultiRead {
		// FinalRequestProcessor sends the MultiResponse it built even when
		// an op in it threw.
		c.replyWithBody(replyHeader{Xid: xid, Zxid: zxid, Err: code}, body, false)
		return
	}
	c.reply(replyHeader{Xid: xid, Zxid: zxid, Err: code}, body, false)
}

// userOf is AuthUtil.getUser: the digest user name, the ip address, nothing for super.
func userOf(a authID) string {
	switch a.Scheme {
	case "digest":
		u, _, _ := strings.Cut(a.ID, ":")
		return u
	case "ip":
		return a.ID
	}
	return ""
}

func (c *conn) getData(r *pathWatchRequest) ([]byte, Stat, int32) {
	n := c.s.tree.lookup(r.Path)
	if n == nil {
		return nil, Stat{}, errNoNode
	}
	if !checkACL(c.s.tree.aclOf(n), permRead, c.auth) {
		return nil, Stat{}, errNoAuth
	}
	if r.Watch {
		c.s.watches.addData(r.Path, c)
	}
	return c.s.tree.data(n), c.s.tree.stat(n), errOK
}

func (c *conn) getChildren(r *pathWatchRequest) ([]string, Stat, int32) {
	n := c.s.tree.lookup(r.Path)
	if n == nil {
		return nil, Stat{}, errNoNode
	}
	if !checkACL(c.s.tree.aclOf(n), permRead, c.auth) {
		return nil, Stat{}, errNoAuth
	}
	if r.Watch {
		c.s.watches.addChild(r.Path, c)
	}
	return c.s.tree.children(n), c.s.tree.stat(n), errOK
}

// getACL hides digest hashes ("user:x") from readers without ADMIN.
func (c *conn) getACL(path string) (func(*encoder), int32) {
	n := c.s.tree.lookup(path)
	if n == nil {
		return nil, errNoNode
	}
	list := c.s.tree.aclOf(n)
	if !checkACL(list, permRead|permAdmin, c.auth) {
		return nil, errNoAuth
	}
	acl := list.acl
	if !checkACL(list, permAdmin, c.auth) {
		masked := make([]ACL, len(acl))
		for i, a := range acl {
			if a.Scheme == "digest" {
				u, _, _ := strings.Cut(a.ID, ":")
				a.ID = u + ":x"
			}
			masked[i] = a
		}
		acl = masked
	}
	st := c.s.tree.stat(n)
	return func(e *encoder) { e.acls(acl); e.stat(&st) }, errOK
}

// setWatches is DataTree.setWatches: each watch either fires at once (the
// node changed since relativeZxid) or is registered again.
func (c *conn) setWatches(r *setWatchesRequest) {
	t, w := c.s.tree, c.s.watches
	c.rewatch(r.Data, r.RelativeZxid, func(n *node) int64 { return n.mzxid }, eventNodeDataChanged, w.addData)
	for _, p := range r.Exist {
		if t.find(p) != 0 {
			c.sendEvent(eventNodeCreated, p)
		} else {
			w.addData(p, c)
		}
	}
	c.rewatch(r.Child, r.RelativeZxid, func(n *node) int64 { return t.state(n).pzxid }, eventNodeChildrenChanged, w.addChild)
	for _, p := range r.Persistent {
		w.addPersistent(p, c, watchPersistent)
	}
	for _, p := range r.PersistentRecursive {
		w.addPersistent(p, c, watchPersistentRecursive)
	}
}

// rewatch handles the data or child watches of setWatches: a missing node
// fires NodeDeleted, a node changed after relativeZxid (by the zxid changedAt
// reads) fires changed, anything else is watched again.
func (c *conn) rewatch(paths []string, relativeZxid int64, changedAt func(*node) int64, changed int32, add func(string, *conn)) {
	for _, p := range paths {
		switch n := c.s.tree.lookup(p); {
		case n == nil:
			c.sendEvent(eventNodeDeleted, p)
		case changedAt(n) > relativeZxid:
			c.sendEvent(changed, p)
		default:
			add(p, c)
		}
	}
}

type readResult struct {
	Op   int32
	Err  int32
	Data []byte
	Kids []string
	Stat Stat
}

// multiRead answers the ops in order; false means an op that is not a read,
// on which FinalRequestProcessor throws and the request gets MarshallingError
// (the reads before it keep the watches they set).
func (c *conn) multiRead(m *multiRequest) ([]readResult, bool) {
	out := make([]readResult, 0, len(m.Ops))
	for _, op := range m.Ops {
		var r readResult
		switch op.Type {
		case opGetData:
			r.Data, r.Stat, r.Err = c.getData(op.Req.(*pathWatchRequest))
			r.Op = opGetData
		case opGetChildren:
			r.Kids, _, r.Err = c.getChildren(op.Req.(*pathWatchRequest))
			r.Op = opGetChildren
		default:
			return out, false
		}
		if r.Err != 0 {
			r.Op = opError
		}
		out = append(out, r)
	}
	return out, true
}

func encodeReadResults(e *encoder, results []readResult) {
	for _, r := range results {
		encodeMultiHeader(e, r.Op, false, r.Err)
		switch r.Op {
		case opGetData:
			e.buffer(r.Data)
			e.stat(&r.Stat)
		case opGetChildren:
			e.strings(r.Kids)
		case opError:
			e.int32(r.Err)
		}
	}
	encodeMultiHeader(e, -1, true, -1)
}

// opNone is the lastOp of a connection that has sent no request yet.
const opNone int32 = -1 << 31

// opName is the short name cons reports as lastOper (FinalRequestProcessor's lastOp).
func opName(op int32) string {
	switch op {
	case opPing:
		return "PING"
	case opCreate, opCreate2, opCreateContainer, opCreateTTL:
		return "CREA"
	case opDelete, opDeleteContainer:
		return "DELE"
	case opExists:
		return "EXIS"
	case opGetData:
		return "GETD"
	case opSetData:
		return "SETD"
	case opGetACL:
		return "GETA"
	case opSetACL:
		return "SETA"
	case opGetChildren, opGetChildren2:
		return "GETC"
	case opSync:
		return "SYNC"
	case opCheck:
		return "CHEC"
	case opMulti:
		return "MULT"
	case opMultiRead:
		return "MLTR"
	case opSetWatches:
		return "SETW"
	case opSetWatches2:
		return "STW2"
	case opAddWatch:
		return "ADDW"
	case opCheckWatches:
		return "CHKW"
	case opRemoveWatches:
		return "REMW"
	case opGetEphemerals:
		return "GETE"
	case opGetAllChildrenNumber:
		return "GETACN"
	case opWhoAmI:
		return "HOMI"
	case opCloseSession:
		return "CLOSE"
	}
	return "NA"
}
