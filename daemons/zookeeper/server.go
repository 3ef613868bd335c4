// Package zookeeper is an embedded, pure-Go ZooKeeper server that speaks the
// ZooKeeper 3.8 wire protocol, so that real clients (go-zookeeper, kazoo, the
// Java client and zkCli.sh) cannot tell it apart from a standalone ZooKeeper
// 3.8.0. It is one server: no quorum, no reconfig, no SASL.
//
// The layout follows ZooKeeper's own: codec.go is the jute codec, tree.go the
// DataTree (store.go its packed storage: a node slab, a byte arena for names
// and data, per-parent child tables), prep.go the PrepRequestProcessor (requests become txns, checked
// in ZooKeeper's order), txn.go the transaction records, session.go the
// session tracker, watch.go the WatchManager, conn.go a client connection
// (FinalRequestProcessor's replies), fourletter.go the four-letter words and
// persist.go/snapshot.go the transaction log and snapshots, recover.go the
// recovery from them at start (what is cut as a torn write, what refuses).
//
// Concurrency: one reader and one writer goroutine per connection. Reads run
// under the tree's read lock; a write takes the write lock to prepare,
// apply and append its txn, fires watches by queueing events on the watching
// connections, and releases the lock before anything touches a socket. Each
// queued reply or event carries the zxid it depends on; the writer sends it
// once that zxid is durable (fsync policy), so writes are group-committed and
// nothing is acknowledged before it is on disk.
package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// FsyncPolicy says when the transaction log reaches the disk.
type FsyncPolicy int

const (
	FsyncAlways FsyncPolicy = iota // fsync the transaction log before acknowledging a write (default)
	FsyncNever                     // leave flushing to the OS
)

// Options configure a server. The zero value is a usable in-memory server on
// a free loopback port.
type Options struct {
	Addr              string        // default "127.0.0.1:0"; the bound address is written back
	TickTime          time.Duration // default 2s
	MinSessionTimeout time.Duration // default 2×TickTime
	MaxSessionTimeout time.Duration // default 20×TickTime
	DataDir           string        // empty = in memory
	Fsync             FsyncPolicy
	MaxPacketSize     int          // default 0xfffff (jute.maxbuffer)
	FourLetterWords   []string     // whitelist; nil = ZooKeeper's default {"srvr"}; {"*"} = all
	ExtendedTypes     bool         // zookeeper.extendedTypesEnabled: TTL nodes
	SuperDigest       string       // DigestAuthenticationProvider.superDigest, "user:base64(sha1(user:pw))"
	SnapCount         int          // transactions between snapshots, default 100000
	Logger            *slog.Logger // nil = discard

	// openLogFile opens a transaction log file; nil: openLogFile. Tests
	// give one whose writes fail.
	openLogFile func(path string) (logFile, error)
}

// SessionInfo describes a live session.
type SessionInfo struct {
	ID         int64
	Timeout    time.Duration
	Ephemerals int
	Remote     string // "" when disconnected
}

// Server is a running embedded ZooKeeper.
type Server struct {
	opts    Options
	log     *slog.Logger
	ln      net.Listener
	started time.Time

	// mu guards the tree: readers share it, a write holds it exclusively
	// while it prepares, applies and logs its txn and queues its events.
	mu      sync.RWMutex
	tree    *tree
	watches *watchManager
	wal     *txnLog // nil in memory
	// events is commit's scratch list of the watch events a txn fires,
	// reused under mu.
	events []watchEvent

	sessions *sessionTracker

	connMu sync.Mutex
	conns  map[*conn]struct{}

	stats serverStats

	// containerCheck is how often the reaper looks at containers and TTL
	// nodes (znode.container.checkIntervalMs); tests shorten it.
	containerCheck time.Duration

	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
	wg        sync.WaitGroup

	failOnce sync.Once
	failed   chan struct{} // closed by fatal
	errc     chan error    // fatal's error, at most one
}

// serverStats are the counters srvr, stat and mntr report.
type serverStats struct {
	received   atomic.Int64
	sent       atomic.Int64
	latencyMin atomic.Int64 // ms
	latencyMax atomic.Int64
	latencySum atomic.Int64
	latencyN   atomic.Int64
}

func (st *serverStats) recordLatency(d time.Duration) {
	ms := d.Milliseconds()
	st.latencySum.Add(ms)
	n := st.latencyN.Add(1)
	for {
		cur := st.latencyMin.Load()
		if (n > 1 && cur <= ms) || st.latencyMin.CompareAndSwap(cur, ms) {
			break
		}
	}
	for {
		cur := st.latencyMax.Load()
		if cur >= ms || st.latencyMax.CompareAndSwap(cur, ms) {
			break
		}
	}
}

// defaultContainerCheck is znode.container.checkIntervalMs.
const defaultContainerCheck = time.Minute

// Start opens the data dir (recovering its tree and sessions), binds the
// listener and starts serving. ctx bounds the start only; Close stops the
// server. Errors are returned before anything keeps running.
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts = withDefaults(opts)
	if err := validateOptions(opts); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	now := time.Now()
	s := &Server{
		opts:           opts,
		log:            log,
		started:        now,
		tree:           newTree(),
		watches:        newWatchManager(),
		sessions:       newSessionTracker(opts.TickTime, now),
		conns:          make(map[*conn]struct{}),
		containerCheck: defaultContainerCheck,
		done:           make(chan struct{}),
		failed:         make(chan struct{}),
		errc:           make(chan error, 1),
	}
	if opts.DataDir != "" {
		wal, err := openDataDir(s, opts)
		if err != nil {
			return nil, fmt.Errorf("start zookeeper: open data dir %s: %w", opts.DataDir, err)
		}
		s.wal = wal
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		if s.wal != nil {
			_ = s.wal.close()
		}
		return nil, fmt.Errorf("start zookeeper: listen on %s: %w", opts.Addr, err)
	}
	s.ln = ln
	s.opts.Addr = ln.Addr().String()
	// Logged before serving: once the accept loop runs, clients (reconnecting
	// at once after a restart) write the tree.
	s.log.Info("zookeeper serving", "addr", s.opts.Addr, "dataDir", opts.DataDir, "zxid", fmt.Sprintf("%#x", s.tree.lastZxid))
	s.wg.Add(3)
	go s.acceptLoop()
	go s.expiryLoop()
	go s.reaperLoop()
	return s, nil
}

func withDefaults(o Options) Options {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.TickTime <= 0 {
		o.TickTime = 2 * time.Second
	}
	if o.MinSessionTimeout <= 0 {
		o.MinSessionTimeout = 2 * o.TickTime
	}
	if o.MaxSessionTimeout <= 0 {
		o.MaxSessionTimeout = 20 * o.TickTime
	}
	if o.MaxPacketSize <= 0 {
		o.MaxPacketSize = 0xfffff
	}
	if o.FourLetterWords == nil {
		o.FourLetterWords = []string{"srvr"}
	}
	if o.SnapCount <= 0 {
		o.SnapCount = 100000
	}
	return o
}

func validateOptions(o Options) error {
	if o.MinSessionTimeout > o.MaxSessionTimeout {
		return fmt.Errorf("start zookeeper: MinSessionTimeout %v is above MaxSessionTimeout %v: lower the minimum or raise the maximum", o.MinSessionTimeout, o.MaxSessionTimeout)
	}
	if o.Fsync != FsyncAlways && o.Fsync != FsyncNever {
		return fmt.Errorf("start zookeeper: unknown FsyncPolicy %d: use FsyncAlways or FsyncNever", o.Fsync)
	}
	return nil
}

// Addr is the bound client address, "127.0.0.1:PORT".
func (s *Server) Addr() string { return s.opts.Addr }

// Options returns the effective options: defaults filled, Addr written back.
func (s *Server) Options() Options { return s.opts }

// Close stops accepting, closes every connection, stops the background
// loops, flushes and closes the transaction log, then closes Err. Sessions are not
// closed: with a data dir they survive into the next Start. Idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		err := s.ln.Close()
		if errors.Is(err, net.ErrClosed) {
			err = nil // fatal closed it
		}
		s.DropConnections()
		s.wg.Wait()
		if s.wal != nil {
			s.mu.Lock()
			if werr := s.wal.close(); werr != nil && err == nil {
				err = werr
			}
			s.mu.Unlock()
		}
		if err != nil {
			s.closeErr = fmt.Errorf("close zookeeper: %w", err)
		}
		s.failOnce.Do(func() {}) // no fatal after this: Close returns the log's failure
		close(s.errc)
	})
	return s.closeErr
}

// Err delivers the error that stopped the server while it ran, at most one,
// as etcd's embed does: a transaction log that could not be written or
// synced (the write that needed it, and every later one, is not
// acknowledged: its client's connection closes), or an accept loop that
// died. The server then serves no more: its listener and connections are
// closed. Close still releases the rest, and closes the channel.
func (s *Server) Err() <-chan error { return s.errc }

// fatal stops serving and reports err on Err; only the first call counts.
func (s *Server) fatal(err error) {
	s.failOnce.Do(func() {
		s.log.Error("zookeeper stops serving", "err", err)
		close(s.failed)
		_ = s.ln.Close()
		s.DropConnections()
		s.errc <- err
	})
}

// closed tells whether the server is closed or stopped by fatal.
func (s *Server) closed() bool {
	select {
	case <-s.done:
		return true
	case <-s.failed:
		return true
	default:
		return false
	}
}

// DropConnections closes every client connection; sessions stay alive, so
// clients reconnect and keep them.
func (s *Server) DropConnections() {
	s.connMu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.connMu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// ExpireSession expires a session as if its timeout had passed: its
// ephemerals are deleted, their watches fire and its connection closes.
func (s *Server) ExpireSession(id int64) error {
	if !s.expire(id) {
		return fmt.Errorf("expire session %#x: no such live session", id)
	}
	return nil
}

// Sessions lists the live sessions, by id.
func (s *Server) Sessions() []SessionInfo {
	snap := s.sessions.snapshot()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]SessionInfo, 0, len(snap))
	for _, ss := range snap {
		info := SessionInfo{ID: ss.id, Timeout: ss.timeout, Ephemerals: len(s.tree.ephemerals[ss.id])}
		if ss.conn != nil {
			info.Remote = ss.conn.remote
		}
		out = append(out, info)
	}
	return out
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.closed() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.fatal(fmt.Errorf("accept client connections: %w", err))
			return
		}
		c := newConn(s, nc)
		s.connMu.Lock()
		if s.closed() {
			s.connMu.Unlock()
			_ = nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.connMu.Unlock()
		c.start()
	}
}

func (s *Server) forgetConn(c *conn) {
	s.connMu.Lock()
	delete(s.conns, c)
	s.connMu.Unlock()
}

func (s *Server) connections() []*conn {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// expiryLoop wakes at every tick boundary and expires the sessions whose
// bucket has passed (SessionTrackerImpl.run).
func (s *Server) expiryLoop() {
	defer s.wg.Done()
	for {
		now := time.Now()
		t := time.NewTimer(s.sessions.nextBoundary(now).Sub(now))
		select {
		case <-s.done:
			t.Stop()
			return
		case <-t.C:
		}
		for _, id := range s.sessions.expired(time.Now()) {
			s.log.Info("session expired", "session", fmt.Sprintf("%#x", id))
			s.expire(id)
		}
	}
}

// expire closes a session from the server side: a closeSession txn, then the
// connection (if any) is dropped without a reply.
func (s *Server) expire(id int64) bool {
	c, ok := s.sessions.beginClose(id)
	if !ok {
		return false
	}
	s.commit(&prepContext{session: id}, opCloseSession, nil)
	s.sessions.remove(id)
	if c != nil {
		c.close()
	}
	return true
}

// lastZxid reads the last applied zxid.
func (s *Server) lastZxid() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tree.lastZxid
}

// commit prepares, applies and logs one write request as one txn and fires
// its watches. A request that fails its checks becomes an error txn, which
// consumes its zxid like any other.
func (s *Server) commit(pc *prepContext, op int32, req any) (txn, applyResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := txn{}
	var err error
	switch op {
	case opCreateSession:
		x = txn{Type: opCreateSession, Timeout: int32(req.(time.Duration).Milliseconds())}
	case opCloseSession:
		x = txn{Type: opCloseSession}
	case opError:
		err = req.(error)
	default:
		x, err = s.tree.prep(pc, op, req)
	}
	if err != nil {
		var ke keeperError
		if !errors.As(err, &ke) {
			ke = keeperError(errSystemError)
		}
		x = txn{Type: opError, Err: int32(ke)}
	}
	x.Zxid, x.Time, x.Session = s.tree.lastZxid+1, time.Now().UnixMilli(), pc.session
	events := s.events[:0]
	res, _ := s.tree.apply(&x, &events)
	s.logTxn(&x)
	s.watches.fire(events)
	clear(events) // drop the paths
	s.events = events[:0]
	return x, res
}

// multiResult is one op's outcome in a multi reply.
type multiResult struct {
	Op  int32
	Res applyResult
	Err int32
}

// commitMulti runs a multi as one txn: each op is prepared against the tree
// as the earlier ops left it and applied tentatively; the first failure
// undoes them all and the whole multi becomes an error txn. A read op
// anywhere in it makes the whole request a MarshallingError error txn,
// answered in the reply header (the third result) without results, as real
// 3.8.0 answers (observed: also when an op before the read fails).
func (s *Server) commitMulti(pc *prepContext, m *multiRequest) (int64, []multiResult, int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	zxid, now := s.tree.lastZxid+1, time.Now().UnixMilli()
	var (
		subs    []txn
		results []multiResult
		undos   []func()
		events  []watchEvent
		failErr int32
		hdrErr  int32
	)
	for _, op := range m.Ops {
		if op.Type == opGetData || op.Type == opGetChildren {
			failErr, hdrErr = errMarshallingError, errMarshallingError
		}
	}
	s.tree.recordUndo = true
	defer func() {
		s.tree.recordUndo = false
		s.tree.settle() // what the undos no longer need
	}()
	for _, op := range m.Ops {
		if hdrErr != 0 {
			break
		}
		x, err := s.tree.prep(pc, op.Type, op.Req)
		if err != nil {
			var ke keeperError
			if !errors.As(err, &ke) {
				ke = keeperError(errSystemError)
			}
			failErr = int32(ke)
			break
		}
		x.Zxid, x.Time, x.Session = zxid, now, pc.session
		res, undo := s.tree.apply(&x, &events)
		if undo != nil {
			undos = append(undos, undo)
		}
		subs = append(subs, x)
		results = append(results, multiResult{Op: op.Type, Res: res})
	}
	whole := txn{Zxid: zxid, Time: now, Session: pc.session, Type: opMulti, Sub: subs}
	if failErr != 0 {
		undoAll(undos)
		events = nil
		// As DataTree reports a failed multi: ops before the failure 0, the
		// failing op its code, the rest RuntimeInconsistency; nothing applied.
		results = results[:0]
		for i := range m.Ops {
			e := errRuntimeInconsistency
			switch {
			case i < len(subs):
				e = errOK
			case i == len(subs):
				e = failErr
			}
			results = append(results, multiResult{Op: opError, Err: e})
		}
		whole = txn{Zxid: zxid, Time: now, Session: pc.session, Type: opError, Err: failErr}
		if hdrErr != 0 {
			results = nil
		}
	}
	s.tree.lastZxid = zxid
	s.logTxn(&whole)
	s.watches.fire(events)
	return zxid, results, hdrErr
}

// logTxn appends an applied txn to the transaction log, if there is one.
// Called with mu held, so the log is in zxid order.
func (s *Server) logTxn(x *txn) {
	if s.wal == nil {
		return
	}
	if err := s.wal.append(x); err != nil {
		// The log failed before this txn: it will never be durable, so it
		// is never acknowledged (waitDurable).
		s.fatal(err)
	}
	if s.wal.dueSnapshot() {
		s.wal.scheduleSnapshot(s.tree.lastZxid, encodeSnapshot(s.tree))
	}
}

// waitDurable blocks until zxid is durable or the server closes.
func (s *Server) waitDurable(zxid int64) bool {
	if s.wal == nil {
		return true
	}
	return s.wal.waitDurable(zxid, s.done)
}

// reaperLoop is ContainerManager: empty containers that once had a child and
// childless TTL nodes past their TTL are deleted through ordinary txns.
func (s *Server) reaperLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.containerCheck)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.reapOnce(time.Now())
		}
	}
}

func (s *Server) reapOnce(now time.Time) {
	var victims []string
	s.mu.RLock()
	for p := range s.tree.containers {
		if n := s.tree.lookup(p); n != nil && s.tree.state(n).cversion > 0 && s.tree.numChildren(n) == 0 {
			victims = append(victims, p)
		}
	}
	for p := range s.tree.ttls {
		n := s.tree.lookup(p)
		if n == nil || s.tree.numChildren(n) > 0 {
			continue
		}
		ttl := s.tree.state(n).owner &^ extendedMask &^ 0x00ffff0000000000
		if ttl != 0 && now.UnixMilli()-n.mtime > ttl {
			victims = append(victims, p)
		}
	}
	s.mu.RUnlock()
	sort.Strings(victims)
	super := &prepContext{auth: []authID{{Scheme: "super"}}}
	for _, p := range victims {
		s.commit(super, opDelete, &deleteRequest{Path: p, Version: -1})
	}
}
