package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/daemons/zookeeper"
	"github.com/localstorm/localstorm/internal/testutil"
)

// holdingProxy forwards TCP connections to a server; while holding, it
// keeps what clients send and tells held of it, so that a test can cut a
// connection while a request is in flight; while refusing, it closes every
// new connection at once.
type holdingProxy struct {
	ln       net.Listener
	target   string
	mu       sync.Mutex
	holding  bool
	refusing bool
	conns    []net.Conn
	held     chan struct{}
}

func startHoldingProxy(t *testing.T, target string) *holdingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holdingProxy{ln: ln, target: target, held: make(chan struct{}, 1)}
	t.Cleanup(func() { ln.Close(); p.cut(false) })
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			refusing := p.refusing
			p.mu.Unlock()
			if refusing {
				client.Close()
				continue
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, client, server)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(client, server) }()
			go p.forward(client, server)
		}
	}()
	return p
}

func (p *holdingProxy) forward(from, to net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := from.Read(buf)
		if err != nil {
			to.Close()
			return
		}
		p.mu.Lock()
		holding := p.holding
		p.mu.Unlock()
		if holding {
			select {
			case p.held <- struct{}{}:
			default:
			}
			continue
		}
		if _, err := to.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *holdingProxy) hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holding = true
}

// cut closes every connection and sets whether new ones are held.
func (p *holdingProxy) cut(holding bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns, p.holding = nil, holding
}

// refuse sets whether new connections are closed at once.
func (p *holdingProxy) refuse(refusing bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing = refusing
}

// proxiedState is a state connected to an embedded server through a
// holdingProxy; server is the server's own address.
func proxiedState(t *testing.T) (s *zkState, proxy *holdingProxy, server string, opts Options) {
	t.Helper()
	server = startEmbedded(t, "embedded", zookeeper.Options{}).addr
	proxy = startHoldingProxy(t, server)
	opts = target{name: "embedded", addr: proxy.ln.Addr().String()}.options(t)
	return connectState(t, opts), proxy, server, opts
}

// An operation in flight when its connection breaks is run again once the
// session is back on a new connection: the caller sees it succeed. (It used
// to wait for a new session that never came, and fail after twice the
// session timeout.)
func TestOperationSurvivesALostConnection(t *testing.T) {
	s, proxy, _, _ := proxiedState(t)
	if err := s.SetData("/x", []byte("x")); err != nil {
		t.Fatal(err)
	}
	session := s.SessionID()
	proxy.hold()
	got := make(chan error, 1)
	go func() {
		data, err := s.GetData("/x", false)
		if err == nil && string(data) != "x" {
			err = fmt.Errorf("read %q", data)
		}
		got <- err
	}()
	select {
	case <-proxy.held:
	case <-time.After(waitFor):
		t.Fatal("the read never reached the proxy")
	}
	proxy.cut(false)
	if err := receive(t, got, "read across a lost connection"); err != nil {
		t.Fatalf("read across a lost connection: %v", err)
	}
	if s.SessionID() != session {
		t.Fatalf("session changed from 0x%x to 0x%x; only the connection was lost", session, s.SessionID())
	}
}

// Watches survive a reconnection as ZooKeeper promises: go-zookeeper re-sends
// them (setWatches) with the zxid the session had seen, which zkguard writes
// in. A node changed while the client was away fires its watch; a node last
// changed before the client saw it does not fire.
func TestWatchesSurviveAReconnection(t *testing.T) {
	s, proxy, server, opts := proxiedState(t)
	for _, p := range []string{"/before", "/during"} {
		if err := s.SetData(p, []byte("1")); err != nil {
			t.Fatal(err)
		}
	}
	rec := newRecorder()
	s.Register(rec.record)
	for _, p := range []string{"/before", "/during"} {
		if _, err := s.GetData(p, true); err != nil {
			t.Fatal(err)
		}
	}
	session := s.SessionID()

	proxy.refuse(true)
	proxy.cut(false)
	if _, err := rawConn(t, server).Set(opts.Root+"/during", []byte("2"), -1); err != nil {
		t.Fatal(err)
	}
	proxy.refuse(false)
	if ev := rec.next(t); ev.Type != "changed" || ev.Path != "/during" {
		t.Fatalf("first event after the reconnection: %+v, want /during changed", ev)
	}
	// The next event must be of a change made now, not a late one of /before.
	if _, err := s.GetData("/during", true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetData("/during", []byte("3")); err != nil {
		t.Fatal(err)
	}
	if ev := rec.next(t); ev.Type != "changed" || ev.Path != "/during" {
		t.Fatalf("event %+v: /before fired, though it had not changed since the client saw it", ev)
	}
	if s.SessionID() != session {
		t.Fatalf("session changed from 0x%x to 0x%x; only the connection was lost", session, s.SessionID())
	}
}

// An operation issued while the server is down, and the session with it
// still alive, waits for the server to come back and succeeds, as Curator's
// retry policy lets Storm's operations do. go-zookeeper gives up on a request
// it could not send with ErrNoServer once every server refused a connection
// in a round (the rounds are a second apart): the operation used to fail
// with it, and nimbus's timer died of it while localcluster restarted its
// ZooKeeper.
func TestOperationSurvivesAServerRestart(t *testing.T) {
	zkOpts := zookeeper.Options{DataDir: t.TempDir(), Logger: testutil.Logger(t, slog.LevelDebug)}
	srv := startServerOn(t, zkOpts)
	zkOpts.Addr = srv.Addr()
	opts := target{name: "embedded", addr: srv.Addr()}.options(t)
	opts.SessionTimeout = 10 * time.Second // far beyond the outage below
	s := connectState(t, opts)
	if err := s.SetData("/x/a", []byte("a")); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	s.Register(rec.record)
	session := s.SessionID()

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the client sees the server go", func() (bool, error) {
		conn, err := s.current()
		return err == nil && conn.State() != zk.StateHasSession, err
	})
	type result struct {
		children []string
		err      error
	}
	read := make(chan result, 1)
	go func() {
		children, err := s.GetChildren("/x", true)
		read <- result{children, err}
	}()
	write := make(chan error, 1)
	go func() { write <- s.SetData("/x/b", []byte("b")) }()
	// Long enough for go-zookeeper to give up on both requests at least once.
	select {
	case r := <-read:
		t.Fatalf("get children returned while the server was down: %v, %v", r.children, r.err)
	case err := <-write:
		t.Fatalf("set data returned while the server was down: %v", err)
	case <-time.After(2500 * time.Millisecond):
	}
	startServerOn(t, zkOpts)

	if r := receive(t, read, "get children across a server restart"); r.err != nil {
		t.Fatalf("get children across a server restart: %v", r.err)
	} else if !slices.Contains(r.children, "a") {
		t.Fatalf("children of /x: %v, want a among them", r.children)
	}
	if err := receive(t, write, "set data across a server restart"); err != nil {
		t.Fatalf("set data across a server restart: %v", err)
	}
	if s.SessionID() != session {
		t.Fatalf("session changed from 0x%x to 0x%x; the server restarted within the session timeout", session, s.SessionID())
	}
	// The retried read left its watch: a new child fires it.
	if err := s.SetData("/x/c", []byte("c")); err != nil {
		t.Fatal(err)
	}
	for {
		ev := rec.next(t)
		if ev.Type == "children" && ev.Path == "/x" {
			break
		}
	}
}

// startServerOn starts the embedded server with opts, closed when t ends; a
// fixed address whose previous listener has just closed may take a moment
// to bind again.
func startServerOn(t *testing.T, opts zookeeper.Options) *zookeeper.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	for {
		srv, err := zookeeper.Start(ctx, opts)
		if err == nil {
			t.Cleanup(func() { _ = srv.Close() })
			return srv
		}
		select {
		case <-ctx.Done():
			t.Fatalf("start the embedded ZooKeeper on %q: %v", opts.Addr, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// A process that crashed and restarted with its ZooKeeper (up --dir) finds
// its ephemeral nodes still there, owned by its old session, which the
// server restored and expires a session timeout later. Setting such a node
// again must make it this session's: it used to keep the old owner, and
// every supervisor vanished (and its workers were unscheduled) when the old
// session expired.
func TestEphemeralOfAnotherSessionIsTakenOver(t *testing.T) {
	zkOpts := zookeeper.Options{DataDir: t.TempDir(), TickTime: 100 * time.Millisecond, Logger: testutil.Logger(t, slog.LevelDebug)}
	srv := startServerOn(t, zkOpts)
	zkOpts.Addr = srv.Addr()
	opts := target{name: "embedded", addr: srv.Addr()}.options(t)
	opts.SessionTimeout = 2 * time.Second // the server's maximum: 20 ticks
	old := connectState(t, opts)
	if err := old.SetEphemeralNode("/supervisors/s1", []byte("old")); err != nil {
		t.Fatal(err)
	}
	oldSession := old.SessionID()
	// The crash: the server goes down with the session, and the process
	// that owned it never comes back to close it.
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	_ = old.Close()
	srv = startServerOn(t, zkOpts)

	cur := connectState(t, opts)
	if err := cur.SetEphemeralNode("/supervisors/s1", []byte("new")); err != nil {
		t.Fatal(err)
	}
	raw := rawConn(t, srv.Addr())
	node := opts.Root + "/supervisors/s1"
	check := func(when string) {
		t.Helper()
		data, st, err := raw.Get(node)
		if err != nil {
			t.Fatalf("%s: %s: %v", when, node, err)
		}
		if st.EphemeralOwner != cur.SessionID() || string(data) != "new" {
			t.Fatalf("%s: %s = %q owned by 0x%x, want %q owned by 0x%x (the old session is 0x%x)",
				when, node, data, st.EphemeralOwner, "new", cur.SessionID(), oldSession)
		}
	}
	check("after the set")
	testutil.Eventually(t, 30*time.Second, "the old session to expire", func() (bool, error) {
		for _, info := range srv.Sessions() {
			if info.ID == oldSession {
				return false, nil
			}
		}
		return true, nil
	})
	check("after the old session expired")
	// Setting it again keeps it as it is: no take-over of its own node.
	_, before, _ := raw.Get(node)
	if err := cur.SetEphemeralNode("/supervisors/s1", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if _, after, _ := raw.Get(node); after.Czxid != before.Czxid {
		t.Fatalf("the node was re-created (czxid %#x → %#x) though this session owned it", before.Czxid, after.Czxid)
	}
}
