package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/hashicorp/go-multierror"

	"github.com/localstorm/localstorm/internal/errlist"
	"github.com/localstorm/localstorm/internal/zkguard"
)

// ErrClosed is returned by operations on a closed ClusterState.
var ErrClosed = errors.New("cluster state is closed")

// maxRaceRetries bounds the create/set (and list/delete) loops that resolve
// races with other clients: each retry means another client changed the node
// in between, which cannot go on forever on a sane cluster.
const maxRaceRetries = 8

var openACL = zk.WorldACL(zk.PermAll)

// zkState is the ClusterState over one go-zookeeper connection.
//
// go-zookeeper has no chroot: every path is prefixed with root on the way in
// and stripped from event paths on the way out. Watch events are not read from
// the connection's per-watch channels but from its event callback, which
// pushes them onto an unbounded queue drained by one dispatcher goroutine:
// the callback runs on the client's receive loop and must never block, and
// registered callbacks may call back into ZooKeeper.
type zkState struct {
	opts Options
	log  *slog.Logger
	root string // "" for the ZooKeeper root itself

	mu     sync.RWMutex
	conn   *zk.Conn
	gen    uint64         // generation of conn; events of older connections are ignored
	guard  *zkguard.Guard // conn's dialer and host provider
	book   *watchBook     // the watches conn's session holds
	closed bool

	cbMu      sync.Mutex
	callbacks map[string]func(Event)
	nextCB    uint64

	// ephemerals are this state's own ephemeral nodes (path → data), re-created
	// under a new session after the old one expired.
	ephMu      sync.Mutex
	ephemerals map[string][]byte

	events    eventQueue
	done      chan struct{}
	wg        sync.WaitGroup
	fatalOnce sync.Once
	nextGen   atomic.Uint64
	wakeMu    sync.Mutex
	wake      chan struct{} // closed by wakeSessionWaiters

	// inCallback is set while the dispatcher runs owner code, which may call
	// Close: Close then cannot wait for the dispatcher (it would wait for itself).
	inCallback atomic.Bool
}

// connEvent is a go-zookeeper event tagged with the generation of its connection.
type connEvent struct {
	gen uint64
	ev  zk.Event
}

// eventQueue is an unbounded FIFO with a wake-up channel.
type eventQueue struct {
	mu    sync.Mutex
	items []connEvent
	wake  chan struct{}
}

func (q *eventQueue) push(e connEvent) {
	q.mu.Lock()
	q.items = append(q.items, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue) drain() []connEvent {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

func connect(ctx context.Context, opts Options) (*zkState, error) {
	if len(opts.Servers) == 0 {
		return nil, errors.New("connect to ZooKeeper: no servers given (set storm.zookeeper.servers)")
	}
	root, err := normalizeRoot(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("connect to ZooKeeper: %w", err)
	}
	if opts.SessionTimeout <= 0 {
		opts.SessionTimeout = DefaultSessionTimeout
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &zkState{
		opts:       opts,
		log:        logger,
		root:       root,
		callbacks:  map[string]func(Event){},
		ephemerals: map[string][]byte{},
		events:     eventQueue{wake: make(chan struct{}, 1)},
		done:       make(chan struct{}),
	}
	dialCtx := ctx
	if opts.ConnectionTimeout > 0 {
		var cancel context.CancelFunc
		dialCtx, cancel = context.WithTimeoutCause(ctx, opts.ConnectionTimeout, fmt.Errorf(
			"no session from %s within %s (storm.zookeeper.connection.timeout): is ZooKeeper running there?",
			strings.Join(opts.Servers, ","), opts.ConnectionTimeout))
		defer cancel()
	}
	conn, gen, guard, err := s.dial(dialCtx)
	if err != nil {
		return nil, err
	}
	s.conn, s.gen, s.guard, s.book = conn, gen, guard, newWatchBook()
	if root != "" {
		if err := s.mkdirsAbs(conn, root, s.aclOr(nil)); err != nil {
			conn.Close()
			return nil, fmt.Errorf("connect to ZooKeeper: create root %s: %w", root, err)
		}
	}
	s.wg.Add(1)
	go s.dispatch()
	return s, nil
}

// dial opens a new session (through package zkguard, which keeps
// go-zookeeper's lastZxid race out of every connection) and waits until it
// is established. go-zookeeper's log lines go to slog.
func (s *zkState) dial(ctx context.Context) (*zk.Conn, uint64, *zkguard.Guard, error) {
	gen := s.nextGen.Add(1)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() { // Close gives up on the dial
		select {
		case <-s.done:
			cancel(ErrClosed)
		case <-ctx.Done():
		}
	}()
	conn, guard, err := zkguard.Connect(ctx, s.opts.Servers, s.opts.SessionTimeout, zkguard.Options{
		Logf: func(format string, args ...any) {
			s.log.Info(fmt.Sprintf(format, args...), "component", "zookeeper-client")
		},
		OnEvent: func(ev zk.Event) {
			s.events.push(connEvent{gen: gen, ev: ev})
			if ev.Type == zk.EventSession && ev.State == zk.StateHasSession {
				s.wakeSessionWaiters()
			}
		},
	})
	if err != nil {
		return nil, 0, nil, fmt.Errorf("connect to ZooKeeper %v: %w", s.opts.Servers, err)
	}
	// Storm adds its auth info when the client starts; go-zookeeper sends
	// it again on every reconnection of this session, and a renewed
	// session dials here again.
	if a := s.opts.Auth; a.Scheme != "" {
		if err := conn.AddAuth(a.Scheme, []byte(a.Payload)); err != nil {
			conn.Close()
			return nil, 0, nil, fmt.Errorf("authenticate to ZooKeeper %v with scheme %q: %w (check storm.zookeeper.auth.scheme and .payload)",
				s.opts.Servers, a.Scheme, err)
		}
	}
	return conn, gen, guard, nil
}

// current returns the live connection.
func (s *zkState) current() (*zk.Conn, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	return s.conn, nil
}

// SessionID returns the id of the current ZooKeeper session (for tests and
// diagnostics; it changes after an expired session was replaced).
func (s *zkState) SessionID() int64 {
	conn, err := s.current()
	if err != nil {
		return 0
	}
	return conn.SessionID()
}

// dispatch is the one goroutine that delivers events, in order.
func (s *zkState) dispatch() {
	defer s.wg.Done()
	for {
		select {
		case <-s.done:
			return
		case <-s.events.wake:
		}
		for _, e := range s.events.drain() {
			select {
			case <-s.done:
				return
			default:
			}
			s.handle(e)
		}
	}
}

func (s *zkState) handle(e connEvent) {
	s.mu.RLock()
	stale, book := e.gen != s.gen, s.book
	s.mu.RUnlock()
	ev := e.ev
	if ev.Type == zk.EventSession {
		switch ev.State {
		case zk.StateConnected, zk.StateHasSession, zk.StateSyncConnected:
			s.log.Debug("zookeeper session state", "state", ev.State.String(), "server", ev.Server, "stale", stale)
		case zk.StateConnecting:
			// Every (re)connection starts here; the warning comes with the
			// disconnection that caused it.
			s.log.Info("zookeeper connecting", "server", ev.Server, "stale", stale)
		default:
			s.log.Warn("zookeeper connection is not connected", "state", ev.State.String(), "server", ev.Server, "stale", stale)
		}
		if ev.State == zk.StateExpired && !stale {
			s.renewSession(e.gen)
		}
		return
	}
	if stale || ev.Type == zk.EventNotWatching {
		// A watch of an abandoned connection, or go-zookeeper telling that
		// watches died with the session: the "reconnected" event covers both.
		return
	}
	typ, ok := eventTypeNames[ev.Type]
	if !ok {
		s.log.Warn("ignoring zookeeper event of unknown type", "type", ev.Type.String(), "path", ev.Path)
		return
	}
	book.fired(ev.Path) // before the callbacks, which may read and watch again
	path, ok := s.relative(ev.Path)
	if !ok {
		s.log.Warn("ignoring zookeeper event outside the root", "path", ev.Path, "root", s.root)
		return
	}
	s.fanOut(Event{Type: typ, Path: path})
}

var eventTypeNames = map[zk.EventType]EventType{
	zk.EventNodeCreated:         EventCreated,
	zk.EventNodeDeleted:         EventDeleted,
	zk.EventNodeDataChanged:     EventChanged,
	zk.EventNodeChildrenChanged: EventChildren,
}

// fanOut gives ev to every registered callback while the state is active.
func (s *zkState) fanOut(ev Event) {
	s.cbMu.Lock()
	ids := slices.Sorted(maps.Keys(s.callbacks)) // registration order, so delivery is deterministic
	fns := make([]func(Event), 0, len(ids))
	for _, id := range ids {
		fns = append(fns, s.callbacks[id])
	}
	s.cbMu.Unlock()
	for _, fn := range fns {
		select {
		case <-s.done:
			return
		default:
		}
		s.run(fn, ev)
	}
}

// run calls a registered callback; a panic in it is a fatal error of the
// owning daemon rather than a crash of the dispatcher.
func (s *zkState) run(fn func(Event), ev Event) {
	s.inCallback.Store(true)
	defer s.inCallback.Store(false)
	defer func() {
		if r := recover(); r != nil {
			s.fatal(fmt.Errorf("zookeeper callback for %s %s panicked: %v", ev.Type, ev.Path, r))
		}
	}()
	fn(ev)
}

func (s *zkState) fatal(err error) {
	s.fatalOnce.Do(func() {
		s.log.Error("cluster state cannot go on", "err", err)
		if s.opts.OnFatal != nil {
			s.opts.OnFatal(err)
		}
	})
}

// renewSession replaces a connection whose session expired with a fresh one,
// re-creates this state's ephemeral nodes and tells every registered callback
// with a "reconnected" event (all one-shot watches died with the session).
// It runs on the dispatcher, so no event of the new session is delivered
// before "reconnected".
func (s *zkState) renewSession(expiredGen uint64) {
	s.log.Warn("zookeeper session expired; opening a new session")
	if s.opts.OnSession != nil {
		s.opts.OnSession(false, 0)
	}
	var conn *zk.Conn
	var gen uint64
	var guard *zkguard.Guard
	for backoff := 50 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.SessionTimeout)
		c, g, gd, err := s.dial(ctx)
		cancel()
		if err == nil {
			conn, gen, guard = c, g, gd
			break
		}
		if errors.Is(err, ErrClosed) {
			return
		}
		s.log.Warn("open a new zookeeper session", "err", err, "retry_in", backoff)
		select {
		case <-s.done:
			return
		case <-time.After(backoff):
		}
	}
	s.mu.Lock()
	if s.closed || s.gen != expiredGen {
		s.mu.Unlock()
		conn.Close()
		return
	}
	old := s.conn
	s.conn, s.gen, s.guard, s.book = conn, gen, guard, newWatchBook()
	s.mu.Unlock()
	s.wakeSessionWaiters()
	old.Close()
	s.log.Info("new zookeeper session", "session", fmt.Sprintf("0x%x", conn.SessionID()))
	if err := s.recreateEphemerals(); err != nil {
		s.log.Error("re-create ephemeral nodes after session expiry", "err", err)
	}
	if s.opts.OnSession != nil {
		s.opts.OnSession(true, conn.SessionID())
	}
	s.fanOut(Event{Type: EventReconnected, Path: "/"})
}

func (s *zkState) recreateEphemerals() error {
	s.ephMu.Lock()
	nodes := make(map[string][]byte, len(s.ephemerals))
	for p, d := range s.ephemerals {
		nodes[p] = d
	}
	s.ephMu.Unlock()
	var result *multierror.Error
	for p, d := range nodes {
		if err := s.write(p, d, zk.FlagEphemeral, nil); err != nil {
			result = multierror.Append(result, fmt.Errorf("re-create ephemeral node %s: %w", p, err))
		}
	}
	return errlist.Err(result)
}

// abs maps a path relative to the root onto the ZooKeeper path.
func (s *zkState) abs(path string) (string, error) {
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("path %q is not absolute (paths start with /)", path)
	}
	if path != "/" && strings.HasSuffix(path, "/") {
		return "", fmt.Errorf("path %q ends with /", path)
	}
	if strings.Contains(path, "//") {
		return "", fmt.Errorf("path %q has an empty segment", path)
	}
	if path == "/" {
		if s.root == "" {
			return "/", nil
		}
		return s.root, nil
	}
	return s.root + path, nil
}

// relative strips the root from a ZooKeeper path.
func (s *zkState) relative(abs string) (string, bool) {
	switch {
	case s.root == "":
		return abs, strings.HasPrefix(abs, "/")
	case abs == s.root:
		return "/", true
	case strings.HasPrefix(abs, s.root+"/"):
		return abs[len(s.root):], true
	}
	return "", false
}

func parentOf(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return "/"
	}
	return path[:i]
}

// op resolves path and the live connection for one operation.
func (s *zkState) op(path string) (*zk.Conn, string, error) {
	conn, _, p, err := s.watchOp(path)
	return conn, p, err
}

// watchOp is op with the watch book of the connection.
func (s *zkState) watchOp(path string) (*zk.Conn, *watchBook, string, error) {
	p, err := s.abs(path)
	if err != nil {
		return nil, nil, "", err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, nil, "", ErrClosed
	}
	return s.conn, s.book, p, nil
}

func (s *zkState) setEphemeralNodeOnce(path string, data []byte) error {
	if err := s.write(path, data, zk.FlagEphemeral, nil); err != nil {
		return fmt.Errorf("set ephemeral node %s: %w", path, err)
	}
	s.ephMu.Lock()
	s.ephemerals[path] = slices.Clone(data)
	s.ephMu.Unlock()
	return nil
}

func (s *zkState) setDataOnce(path string, data []byte, acl []ACL) error {
	if err := s.write(path, data, 0, acl); err != nil {
		return fmt.Errorf("set data %s: %w", path, err)
	}
	return nil
}

// write sets data at path, creating it with flags (and its parents) when
// missing, with acl (none: the state's default ACL). A node that vanishes between the set and the create, or appears
// between a failed set and the create, is retried: other clients (and an
// expiring session) race with us.
//
// An ephemeral write that finds an ephemeral node of another session
// replaces it with one of this session: that session (this process's own
// before a crash, which the restarted server restored) would take the node
// with it when it expires, and with it the supervisor it announces.
func (s *zkState) write(path string, data []byte, flags int32, acl []ACL) error {
	acl = s.aclOr(acl)
	conn, p, err := s.op(path)
	if err != nil {
		return err
	}
	for range maxRaceRetries {
		st, err := conn.Set(p, data, -1)
		if err == nil {
			if flags&zk.FlagEphemeral == 0 || st.EphemeralOwner == 0 || st.EphemeralOwner == conn.SessionID() {
				return nil
			}
			err = s.takeOver(conn, p, data, flags, acl, st)
			if err == nil || !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrBadVersion) {
				return err
			}
			continue // changed or gone meanwhile: look again
		}
		if !errors.Is(err, zk.ErrNoNode) {
			return err
		}
		if parent := parentOf(p); parent != "/" {
			if err := s.mkdirsAbs(conn, parent, acl); err != nil {
				return err
			}
		}
		_, err = conn.Create(p, data, flags, acl)
		if err == nil {
			return nil
		}
		if !errors.Is(err, zk.ErrNodeExists) && !errors.Is(err, zk.ErrNoNode) {
			return err
		}
	}
	return fmt.Errorf("node kept appearing and vanishing across %d attempts", maxRaceRetries)
}

// takeOver replaces the ephemeral node p of another session, as the set
// left it (st), with one of this session, in one multi: no reader sees the
// node missing in between.
func (s *zkState) takeOver(conn *zk.Conn, p string, data []byte, flags int32, acl []ACL, st *zk.Stat) error {
	s.log.Info("taking over an ephemeral node of another session", "path", p,
		"owner", fmt.Sprintf("0x%x", st.EphemeralOwner), "session", fmt.Sprintf("0x%x", conn.SessionID()))
	_, err := conn.Multi(
		&zk.DeleteRequest{Path: p, Version: st.Version},
		&zk.CreateRequest{Path: p, Data: data, Acl: acl, Flags: flags},
	)
	return err
}

func (s *zkState) mkdirsOnce(path string, acl []ACL) error {
	conn, p, err := s.op(path)
	if err != nil {
		return fmt.Errorf("mkdirs %s: %w", path, err)
	}
	if err := s.mkdirsAbs(conn, p, s.aclOr(acl)); err != nil {
		return fmt.Errorf("mkdirs %s: %w", path, err)
	}
	return nil
}

// mkdirsAbs creates the absolute path p and its missing parents with acl,
// as Storm's mkdirs gives every node it creates the same ACL. Only missing
// nodes are created: ZooKeeper checks the parent's CREATE right before it
// finds that a node exists, so a create of an existing node under a parent
// of another identity would fail with NoAuth (Curator's mkdirs also looks
// before it creates).
func (s *zkState) mkdirsAbs(conn *zk.Conn, p string, acl []ACL) error {
	var missing []string
	for q := p; q != "/"; q = parentOf(q) {
		ok, _, err := conn.Exists(q)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		missing = append(missing, q)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		_, err := conn.Create(missing[i], []byte{}, 0, acl)
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("create %s: %w", missing[i], err)
		}
	}
	return nil
}

func (s *zkState) deleteNodeOnce(path string) error {
	conn, p, err := s.op(path)
	if err != nil {
		return fmt.Errorf("delete node %s: %w", path, err)
	}
	// Forget our own ephemerals at or below path: a deleted node must not be
	// brought back by a session renewal.
	s.ephMu.Lock()
	for e := range s.ephemerals {
		if e == path || path == "/" || strings.HasPrefix(e, path+"/") {
			delete(s.ephemerals, e)
		}
	}
	s.ephMu.Unlock()
	if err := deleteRecursive(conn, p); err != nil {
		return fmt.Errorf("delete node %s: %w", path, err)
	}
	return nil
}

// deleteRecursive deletes p depth first; children created meanwhile by other
// clients make the delete fail with NotEmpty, and the listing is retried.
func deleteRecursive(conn *zk.Conn, p string) error {
	for range maxRaceRetries {
		children, _, err := conn.Children(p)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, c := range children {
			child := p + "/" + c
			if p == "/" {
				child = "/" + c
			}
			if err := deleteRecursive(conn, child); err != nil {
				return err
			}
		}
		err = conn.Delete(p, -1)
		if err == nil || errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if !errors.Is(err, zk.ErrNotEmpty) {
			return err
		}
	}
	return fmt.Errorf("children kept appearing under %s across %d attempts", p, maxRaceRetries)
}

func (s *zkState) createSequentialOnce(path string, data []byte) (string, error) {
	conn, p, err := s.op(path)
	if err != nil {
		return "", fmt.Errorf("create sequential %s: %w", path, err)
	}
	created, err := conn.Create(p, data, zk.FlagSequence, s.aclOr(nil))
	if err != nil {
		return "", fmt.Errorf("create sequential %s: %w", path, err)
	}
	rel, ok := s.relative(created)
	if !ok {
		return "", fmt.Errorf("create sequential %s: server returned %s outside the root %s", path, created, s.root)
	}
	return rel, nil
}

func (s *zkState) GetData(path string, watch bool) ([]byte, error) {
	data, _, err := s.GetDataWithVersion(path, watch)
	if err != nil {
		return nil, fmt.Errorf("get data: %w", err)
	}
	return data, nil
}

// GetDataWithVersion with a watch sets a data watch on an existing node and an
// exists watch on a missing one (as Storm's get-data does), so the caller
// hears of the node's creation too.
func (s *zkState) getDataWithVersionOnce(path string, watch bool) ([]byte, int32, error) {
	conn, book, p, err := s.watchOp(path)
	if err != nil {
		return nil, -1, fmt.Errorf("get data with version %s: %w", path, err)
	}
	for range maxRaceRetries {
		var data []byte
		var stat *zk.Stat
		plain := func() (err error) { data, stat, err = conn.Get(p); return err }
		if watch {
			err = book.read(p, dataWatch, plain, func() (err error) { data, stat, _, err = conn.GetW(p); return err })
		} else {
			err = plain()
		}
		if err == nil {
			return data, stat.Version, nil
		}
		if !errors.Is(err, zk.ErrNoNode) {
			return nil, -1, fmt.Errorf("get data with version %s: %w", path, err)
		}
		if !watch {
			return nil, -1, nil
		}
		exists, _, err := book.exists(conn, p)
		if err != nil {
			return nil, -1, fmt.Errorf("get data with version %s: watch for creation: %w", path, err)
		}
		if !exists {
			return nil, -1, nil
		}
		// Created between the two calls: read it again.
	}
	return nil, -1, fmt.Errorf("get data with version %s: node kept appearing and vanishing", path)
}

func (s *zkState) getVersionOnce(path string, watch bool) (int32, error) {
	stamp, err := s.nodeStampOnce(path, watch)
	if err != nil {
		return -1, fmt.Errorf("get version %s: %w", path, err)
	}
	return stamp.Version, nil
}

// nodeStampOnce reads the node's stat, with GetVersion's watch.
func (s *zkState) nodeStampOnce(path string, watch bool) (Stamp, error) {
	conn, book, p, err := s.watchOp(path)
	if err != nil {
		return Stamp{Version: -1}, err
	}
	var exists bool
	var stat *zk.Stat
	if watch {
		exists, stat, err = book.exists(conn, p)
	} else {
		exists, stat, err = conn.Exists(p)
	}
	if err != nil || !exists {
		return Stamp{Version: -1}, err
	}
	return Stamp{Version: stat.Version, Mzxid: stat.Mzxid}, nil
}

// GetChildren with a watch on a missing node sets an exists watch, so the
// caller hears of the node's creation.
func (s *zkState) getChildrenOnce(path string, watch bool) ([]string, error) {
	conn, book, p, err := s.watchOp(path)
	if err != nil {
		return nil, fmt.Errorf("get children %s: %w", path, err)
	}
	for range maxRaceRetries {
		var children []string
		plain := func() (err error) { children, _, err = conn.Children(p); return err }
		if watch {
			err = book.read(p, childWatch, plain, func() (err error) { children, _, _, err = conn.ChildrenW(p); return err })
		} else {
			err = plain()
		}
		if err == nil {
			return children, nil
		}
		if !errors.Is(err, zk.ErrNoNode) {
			return nil, fmt.Errorf("get children %s: %w", path, err)
		}
		if !watch {
			return nil, nil
		}
		exists, _, err := book.exists(conn, p)
		if err != nil {
			return nil, fmt.Errorf("get children %s: watch for creation: %w", path, err)
		}
		if !exists {
			return nil, nil
		}
	}
	return nil, fmt.Errorf("get children %s: node kept appearing and vanishing", path)
}

func (s *zkState) Register(fn func(Event)) string {
	s.cbMu.Lock()
	defer s.cbMu.Unlock()
	s.nextCB++
	// Zero-padded so that sorting ids gives registration order.
	id := "cb-" + fmt.Sprintf("%016d", s.nextCB)
	s.callbacks[id] = fn
	return id
}

func (s *zkState) Unregister(id string) {
	s.cbMu.Lock()
	defer s.cbMu.Unlock()
	delete(s.callbacks, id)
}

// Close stops the dispatcher and closes the connection; callbacks get no more
// events. It is idempotent. Called from a callback (on the dispatcher), it
// does not wait for the dispatcher, which exits when that callback returns.
func (s *zkState) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	conn := s.conn
	close(s.done)
	s.mu.Unlock()
	if !s.inCallback.Load() {
		s.wg.Wait()
	}
	conn.Close()
	return nil
}

// urlEncode encodes s as Java's URLEncoder.encode(s, "UTF-8") does, which is
// how Storm names a component's error node.
func urlEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '-', c == '*', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// The public operations below are retried across a lost connection and a
// lost session, as Storm's are by Curator's retry policy: a caller sees a
// short delay, not an error, while the server restarts or a new session
// replaces an expired one (renewSession closes the old connection meanwhile).

func (s *zkState) SetEphemeralNode(path string, data []byte) error {
	_, err := retrying(s, func() (struct{}, error) { return struct{}{}, s.setEphemeralNodeOnce(path, data) })
	return err
}

func (s *zkState) SetData(path string, data []byte, acl ...ACL) error {
	_, err := retrying(s, func() (struct{}, error) { return struct{}{}, s.setDataOnce(path, data, acl) })
	return err
}

func (s *zkState) Mkdirs(path string, acl ...ACL) error {
	_, err := retrying(s, func() (struct{}, error) { return struct{}{}, s.mkdirsOnce(path, acl) })
	return err
}

// aclOr returns acl, or the state's default ACL (Options.ACL, else open to
// all) when acl is empty.
func (s *zkState) aclOr(acl []ACL) []ACL {
	switch {
	case len(acl) > 0:
		return acl
	case len(s.opts.ACL) > 0:
		return s.opts.ACL
	}
	return openACL
}

func (s *zkState) DeleteNode(path string) error {
	_, err := retrying(s, func() (struct{}, error) { return struct{}{}, s.deleteNodeOnce(path) })
	return err
}

func (s *zkState) CreateSequential(path string, data []byte) (string, error) {
	return retrying(s, func() (string, error) { return s.createSequentialOnce(path, data) })
}

func (s *zkState) GetDataWithVersion(path string, watch bool) ([]byte, int32, error) {
	type result struct {
		data    []byte
		version int32
	}
	r, err := retrying(s, func() (result, error) {
		d, v, err := s.getDataWithVersionOnce(path, watch)
		return result{d, v}, err
	})
	if err != nil {
		return nil, -1, err
	}
	return r.data, r.version, nil
}

func (s *zkState) GetVersion(path string, watch bool) (int32, error) {
	return retrying(s, func() (int32, error) { return s.getVersionOnce(path, watch) })
}

func (s *zkState) nodeStamp(path string, watch bool) (Stamp, error) {
	return retrying(s, func() (Stamp, error) { return s.nodeStampOnce(path, watch) })
}

func (s *zkState) GetChildren(path string, watch bool) ([]string, error) {
	return retrying(s, func() ([]string, error) { return s.getChildrenOnce(path, watch) })
}

// retrying runs op; while it fails because its connection or its session
// was lost, it waits until a connection has the session again or a new
// session replaced it, and runs op again. The waits end twice the session
// timeout after the first loss: by then a server that came back has either
// taken the session again or told that it expired (and a new session is
// open), so a loss that outlasts them is one no retry can cure.
func retrying[T any](s *zkState, op func() (T, error)) (T, error) {
	var deadline time.Time
	for {
		mark := s.sessionMark()
		v, err := op()
		if err == nil || !sessionLost(err) {
			return v, err
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(2 * s.opts.SessionTimeout)
		}
		if time.Now().After(deadline) || !s.awaitSession(mark, deadline) {
			return v, err
		}
	}
}

// sessionLost tells the errors after which the operation may succeed on the
// session's next connection, or on the session that replaces it:
//   - ErrNoServer: go-zookeeper gave up on a request it had not sent yet,
//     because no server took a connection in a whole round of the servers
//     (a server restarting, and the session with it still alive);
//   - ErrConnectionClosed: the connection broke with the request in flight;
//   - ErrSessionExpired, ErrClosing: the session expired and renewSession
//     closed its connection (a closed state is told apart by awaitSession).
func sessionLost(err error) bool {
	return errors.Is(err, zk.ErrNoServer) || errors.Is(err, zk.ErrConnectionClosed) ||
		errors.Is(err, zk.ErrSessionExpired) || errors.Is(err, zk.ErrClosing)
}

// sessionMark is where a state's sessions were when an operation began.
type sessionMark struct {
	gen         uint64
	established int64 // connections of the session that got it so far
}

func (s *zkState) sessionMark() sessionMark {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return sessionMark{gen: s.gen, established: s.guard.Established()}
}

// wakeSessionWaiters wakes awaitSession: a connection got its session, or
// a new session replaced the old.
func (s *zkState) wakeSessionWaiters() {
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	if s.wake != nil {
		close(s.wake)
	}
	s.wake = make(chan struct{})
}

func (s *zkState) sessionWake() <-chan struct{} {
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	if s.wake == nil {
		s.wake = make(chan struct{})
	}
	return s.wake
}

// awaitSession waits until, since mark, a connection got the session again
// or a new session replaced it; false when the state closed or neither
// happened by deadline.
func (s *zkState) awaitSession(mark sessionMark, deadline time.Time) bool {
	timeout := time.NewTimer(time.Until(deadline))
	defer timeout.Stop()
	for {
		wake := s.sessionWake() // before the check, so that no wake-up is missed
		s.mu.RLock()
		closed, gen, guard := s.closed, s.gen, s.guard
		s.mu.RUnlock()
		switch {
		case closed:
			return false
		case gen != mark.gen || guard.Established() > mark.established:
			return true
		}
		select {
		case <-wake:
		case <-s.done:
			return false
		case <-timeout.C:
			return false
		}
	}
}
