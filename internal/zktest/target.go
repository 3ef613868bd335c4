package zktest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/internal/zkguard"
)

// Config is what a conformance test asks of a server, whichever kind runs it.
// The zero value is a server with tickTime 2s, default session bounds, every
// four-letter word allowed and no extended types.
type Config struct {
	TickTime          time.Duration // default 2s
	MinSessionTimeout time.Duration // default 2×TickTime
	MaxSessionTimeout time.Duration // default 20×TickTime
	// FourLetterWords is the whitelist; nil allows every word ("*") so the
	// suite can read srvr, dump and the others.
	FourLetterWords []string
	ExtendedTypes   bool   // zookeeper.extendedTypesEnabled
	SuperDigest     string // zookeeper.DigestAuthenticationProvider.superDigest
	// FsyncOff leaves flushing the transaction log to the OS
	// (real: zookeeper.forceSync=no).
	FsyncOff bool
	// Dedicated asks for a server of the test's own even where a shared one
	// would do; Restart needs it.
	Dedicated bool
}

// Backend is one running server of some kind, as a Target starts it.
type Backend interface {
	// Addr is the client address, "127.0.0.1:PORT".
	Addr() string
	// ExpireSession ends a session as if its timeout had passed. A backend that
	// cannot do that on demand returns errors.ErrUnsupported and the Instance
	// makes it happen for real by cutting the client off until the server
	// expires it.
	ExpireSession(id int64) error
	// DropConnections closes every client connection while sessions stay alive;
	// false means unsupported, and the Instance closes the clients' side.
	DropConnections() bool
	// Restart stops the server and starts it again on the same address and data
	// directory.
	Restart() error
	// Close stops the server; the Target registers it with t.Cleanup.
	Close()
}

// Target is one kind of server the conformance suite runs against.
type Target struct {
	Name string // "embedded" or "real"
	// Start starts (or, for a shared server, reuses) a server for cfg.
	Start func(t testing.TB, cfg Config) Backend
}

// ForEachTarget runs body as a subtest per target.
func ForEachTarget(t *testing.T, targets []Target, body func(t *testing.T, target Target)) {
	t.Helper()
	for _, target := range targets {
		t.Run(target.Name, func(t *testing.T) { body(t, target) })
	}
}

// Instance is a server under test together with the helpers the suite needs:
// clients whose connections it can cut, a unique root path per test, the
// server's zxid.
type Instance struct {
	Target  string
	Config  Config
	Backend Backend
	// Root is a fresh persistent znode ("/zkt-<test>-<n>") the test works under,
	// so tests sharing one real server do not see each other's nodes.
	Root string

	t       testing.TB
	mu      sync.Mutex
	clients []*Client
}

var rootSeq atomic.Int64

// Start starts target for cfg, creates the test's root znode and returns the
// instance. Everything is cleaned up when the test ends.
func Start(t testing.TB, target Target, cfg Config) *Instance {
	t.Helper()
	b := target.Start(t, cfg)
	in := &Instance{Target: target.Name, Config: cfg, Backend: b, t: t}
	name := regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(t.Name(), "_")
	in.Root = fmt.Sprintf("/zkt-%s-%d-%d", name, time.Now().UnixNano()%1e9, rootSeq.Add(1))
	c := in.Connect(t)
	if _, err := c.Create(in.Root, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create test root %s on %s: %v", in.Root, target.Name, err)
	}
	c.Close()
	return in
}

// Path joins p (relative, without leading slash) to the test's root.
func (in *Instance) Path(p string) string {
	if p == "" {
		return in.Root
	}
	return in.Root + "/" + p
}

// Addr is the server's client address.
func (in *Instance) Addr() string { return in.Backend.Addr() }

// Client is a go-zookeeper connection whose TCP connections the Instance can
// cut and whose redial it can hold off.
type Client struct {
	*zk.Conn
	Events <-chan zk.Event

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	blocked bool
}

// dial is the zk.Dialer of a Client: it tracks connections so they can be cut.
func (c *Client) dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	c.mu.Lock()
	blocked := c.blocked
	c.mu.Unlock()
	if blocked {
		return nil, errors.New("zktest: client held off the server")
	}
	nc, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conns == nil {
		c.conns = map[net.Conn]struct{}{}
	}
	c.conns[nc] = struct{}{}
	return nc, nil
}

// Cut closes the client's TCP connections; when hold is true it also refuses
// to redial until Release.
func (c *Client) Cut(hold bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hold {
		c.blocked = true
	}
	for nc := range c.conns {
		_ = nc.Close()
		delete(c.conns, nc)
	}
}

// Release lets a held client redial.
func (c *Client) Release() {
	c.mu.Lock()
	c.blocked = false
	c.mu.Unlock()
}

// Connect opens a go-zookeeper client with a 10s session timeout (negotiated
// into the server's bounds) and waits until it has a session.
func (in *Instance) Connect(t testing.TB) *Client {
	t.Helper()
	return in.ConnectTimeout(t, 10*time.Second)
}

// ConnectTimeout is Connect asking for the given session timeout. The
// session is opened through package zkguard, as localstorm's daemons open
// theirs, so that go-zookeeper's lastZxid race cannot fail a -race run. Its
// log lines are dropped; session events after the session is up reach Events.
func (in *Instance) ConnectTimeout(t testing.TB, timeout time.Duration) *Client {
	t.Helper()
	c := &Client{}
	events := make(chan zk.Event, 64)
	c.Events = events
	var up atomic.Bool
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, _, err := zkguard.Connect(ctx, []string{in.Addr()}, timeout, zkguard.Options{
		Dialer: c.dial,
		OnEvent: func(ev zk.Event) {
			if !up.Load() {
				return // the session's start
			}
			select {
			case events <- ev:
			default: // a test that ignores events must not block the client
			}
		},
	})
	if err != nil {
		t.Fatalf("connect to %s server: %v", in.Target, err)
	}
	up.Store(true)
	c.Conn = conn
	t.Cleanup(conn.Close)
	in.mu.Lock()
	in.clients = append(in.clients, c)
	in.mu.Unlock()
	return c
}

// DropConnections closes every client's connection; sessions stay alive and
// the clients reconnect.
func (in *Instance) DropConnections() {
	if in.Backend.DropConnections() {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, c := range in.clients {
		c.Cut(false)
	}
}

// ExpireSession makes c's session expire: on demand where the backend allows
// it, otherwise by holding the client off the server until the server expires
// the session by its timeout. It returns once the server has dropped the session.
func (in *Instance) ExpireSession(t testing.TB, c *Client) {
	t.Helper()
	id := c.SessionID()
	err := in.Backend.ExpireSession(id)
	if err == nil {
		return
	}
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("expire session 0x%x on %s: %v", id, in.Target, err)
	}
	c.Cut(true)
	defer c.Release()
	hex := fmt.Sprintf("0x%x", id)
	testutil.Eventually(t, in.Config.maxSession()+10*time.Second, fmt.Sprintf("session %s to expire on %s server", hex, in.Target), func() bool {
		out, err := FourLetter(in.Addr(), "dump", 2*time.Second)
		return err == nil && !strings.Contains(out, hex)
	})
}

// Restart restarts the server on the same address and data directory.
func (in *Instance) Restart(t testing.TB) {
	t.Helper()
	if err := in.Backend.Restart(); err != nil {
		t.Fatalf("restart %s server: %v", in.Target, err)
	}
}

// Zxid reads the server's last processed zxid from `srvr`.
func (in *Instance) Zxid(t testing.TB) int64 {
	t.Helper()
	z, err := SrvrZxid(in.Addr())
	if err != nil {
		t.Fatalf("zxid of %s server: %v", in.Target, err)
	}
	return z
}

// SrvrZxid asks addr for `srvr` and parses its "Zxid: 0x..." line.
func SrvrZxid(addr string) (int64, error) {
	out, err := FourLetter(addr, "srvr", 5*time.Second)
	if err != nil {
		return 0, fmt.Errorf("srvr: %w", err)
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Zxid: 0x"); ok {
			z, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("srvr Zxid line %q: %w", line, err)
			}
			return int64(z), nil
		}
	}
	return 0, fmt.Errorf("srvr answer has no Zxid line: %q", out)
}

func (c Config) tick() time.Duration {
	if c.TickTime == 0 {
		return 2 * time.Second
	}
	return c.TickTime
}

func (c Config) maxSession() time.Duration {
	if c.MaxSessionTimeout == 0 {
		return 20 * c.tick()
	}
	return c.MaxSessionTimeout
}

// ServerLog returns the server's log where the backend keeps one (the real
// server's does), for failure messages; "" otherwise.
func (in *Instance) ServerLog() string {
	if l, ok := in.Backend.(interface{ Log() string }); ok {
		return l.Log()
	}
	return ""
}
