package zookeeper_test

// The conformance suite: every test body runs against the embedded server and
// against a real ZooKeeper 3.8 and asserts the same observable results. The
// expectations were taken from the real server; where the embedded one
// differs, the test fails.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/internal/zktest"
)

// targets is the servers the suite judges; conformance_embedded_test.go puts
// the embedded one first.
var targets = []zktest.Target{zktest.RealTarget()}

func TestMain(m *testing.M) {
	if os.Getenv(childServerEnv) != "" {
		os.Exit(runChildServer())
	}
	code := m.Run()
	zktest.StopShared()
	os.Exit(code)
}

// baseConfig keeps ticks short so expiry tests take well under a second or
// two: sessions are negotiated into [400ms, 4s].
var baseConfig = zktest.Config{TickTime: 200 * time.Millisecond}

// eachTarget runs body against every target with cfg.
func eachTarget(t *testing.T, cfg zktest.Config, body func(t *testing.T, in *zktest.Instance)) {
	t.Helper()
	zktest.ForEachTarget(t, targets, func(t *testing.T, target zktest.Target) {
		body(t, zktest.Start(t, target, cfg))
	})
}

// zxidDelta runs op and returns how far the server's zxid moved.
func zxidDelta(t *testing.T, in *zktest.Instance, op func()) int64 {
	t.Helper()
	before := in.Zxid(t)
	op()
	return in.Zxid(t) - before
}

// noEvent asserts that ch holds no event right now. Callers first make a
// round trip on the connection the watch belongs to: ZooKeeper sends an event
// before any later reply, so an event that was due is already there.
func noEvent(t *testing.T, ch <-chan zk.Event, what string) {
	t.Helper()
	select {
	case ev := <-ch:
		t.Fatalf("%s: unexpected event %+v", what, ev)
	default:
	}
}

// nextEvent waits up to 10s for a watch event.
func nextEvent(t *testing.T, ch <-chan zk.Event, what string) zk.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no event within 10s", what)
		return zk.Event{}
	}
}

var worldACL = zk.WorldACL(zk.PermAll)

func mustCreate(t *testing.T, c *zktest.Client, path string, data []byte, flags int32) string {
	t.Helper()
	p, err := c.Create(path, data, flags, worldACL)
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	return p
}

func mustStat(t *testing.T, c *zktest.Client, path string) *zk.Stat {
	t.Helper()
	ok, st, err := c.Exists(path)
	if err != nil || !ok {
		t.Fatalf("exists %s = %v, %v", path, ok, err)
	}
	return st
}

func TestConformanceConnectHandshake(t *testing.T) {
	yes := true
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		t.Run("old client gets no read-only byte", func(t *testing.T) {
			r := dialRaw(t, in.Addr())
			resp, err := r.connect(connectReq{timeoutMs: 3000})
			if err != nil {
				t.Fatal(err)
			}
			if resp.bodyLen != 36 || resp.sessionID == 0 || len(resp.passwd) != 16 || resp.timeoutMs != 3000 {
				t.Fatalf("connect response = %+v, want 36 bytes, a session, 16-byte password, timeout 3000", resp)
			}
		})
		t.Run("new client gets the read-only byte", func(t *testing.T) {
			r := dialRaw(t, in.Addr())
			resp, err := r.connect(connectReq{timeoutMs: 3000, readOnly: new(bool)})
			if err != nil {
				t.Fatal(err)
			}
			if resp.bodyLen != 37 || resp.sessionID == 0 {
				t.Fatalf("connect response = %+v, want 37 bytes with a session", resp)
			}
		})
		t.Run("reconnect keeps the session", func(t *testing.T) {
			first := mustConnect(t, in.Addr())
			first.c.Close()
			r := dialRaw(t, in.Addr())
			resp, err := r.connect(connectReq{timeoutMs: 3000, sessionID: first.session.sessionID, passwd: first.session.passwd, readOnly: &yes})
			if err != nil {
				t.Fatal(err)
			}
			if resp.sessionID != first.session.sessionID || !bytes.Equal(resp.passwd, first.session.passwd) || resp.bodyLen != 37 {
				t.Fatalf("reconnect response = %+v, want session 0x%x back with its password", resp, first.session.sessionID)
			}
			if code, _ := r.mustCall(opExists, pathWatchReq("/", false)); code != errOK {
				t.Fatalf("exists / on the reconnected session = %d", code)
			}
		})
		badSession := func(t *testing.T, req connectReq, wantLen int) {
			t.Helper()
			r := dialRaw(t, in.Addr())
			resp, err := r.connect(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.sessionID != 0 || resp.timeoutMs != 0 || !bytes.Equal(resp.passwd, make([]byte, 16)) || resp.bodyLen != wantLen {
				t.Fatalf("response = %+v, want the all-zero answer of %d bytes", resp, wantLen)
			}
			if err := r.waitClosed(); err != nil {
				t.Fatal(err)
			}
		}
		t.Run("wrong password gets the all-zero answer and a close", func(t *testing.T) {
			first := mustConnect(t, in.Addr())
			wrong := bytes.Repeat([]byte{7}, 16)
			badSession(t, connectReq{timeoutMs: 3000, sessionID: first.session.sessionID, passwd: wrong}, 36)
		})
		t.Run("unknown session gets the all-zero answer and a close", func(t *testing.T) {
			badSession(t, connectReq{timeoutMs: 3000, sessionID: 0x1234567, passwd: make([]byte, 16), readOnly: new(bool)}, 37)
		})
		t.Run("client ahead of the server is refused", func(t *testing.T) {
			r := dialRaw(t, in.Addr())
			ahead := in.Zxid(t) + 1000
			if err := r.writeFrame(connectReq{lastZxid: ahead, timeoutMs: 3000}.encode()); err != nil {
				t.Fatal(err)
			}
			if body, err := r.readFrame(); err == nil {
				t.Fatalf("server answered a client that has seen zxid 0x%x: % x", ahead, body)
			}
		})
		t.Run("close session replies then closes", func(t *testing.T) {
			r := mustConnect(t, in.Addr())
			h, _, err := r.call(opCloseSession, nil)
			if err != nil || h.err != 0 {
				t.Fatalf("closeSession = %+v, %v", h, err)
			}
			if err := r.waitClosed(); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func TestConformanceSessionTimeoutNegotiation(t *testing.T) {
	cases := []struct {
		name      string
		cfg       zktest.Config
		requested int32
		want      int32
	}{
		{"below 2 ticks", baseConfig, 100, 400},
		{"inside bounds", baseConfig, 1000, 1000},
		{"above 20 ticks", baseConfig, 60000, 4000},
		{"explicit min", zktest.Config{TickTime: 200 * time.Millisecond, MinSessionTimeout: 1500 * time.Millisecond, MaxSessionTimeout: 3 * time.Second}, 1000, 1500},
		{"explicit max", zktest.Config{TickTime: 200 * time.Millisecond, MinSessionTimeout: 1500 * time.Millisecond, MaxSessionTimeout: 3 * time.Second}, 9000, 3000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachTarget(t, tc.cfg, func(t *testing.T, in *zktest.Instance) {
				r := dialRaw(t, in.Addr())
				resp, err := r.connect(connectReq{timeoutMs: tc.requested})
				if err != nil {
					t.Fatal(err)
				}
				if resp.timeoutMs != tc.want {
					t.Fatalf("requested %d ms, negotiated %d, want %d", tc.requested, resp.timeoutMs, tc.want)
				}
			})
		})
	}
}

func TestConformanceZxidAccounting(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		c := in.Connect(t)
		mustCreate(t, c, in.Path("full"), nil, 0)
		mustCreate(t, c, in.Path("full/child"), nil, 0)
		mustCreate(t, c, in.Path("eph"), nil, zk.FlagEphemeral)
		cases := []struct {
			name string
			want int64
			op   func() error
		}{
			{"create", 1, func() error { _, err := c.Create(in.Path("a"), nil, 0, worldACL); return err }},
			{"create NodeExists", 1, func() error { return expectErr(c.Create(in.Path("a"), nil, 0, worldACL))(zk.ErrNodeExists) }},
			{"create NoNode", 1, func() error { return expectErr(c.Create(in.Path("x/y"), nil, 0, worldACL))(zk.ErrNoNode) }},
			{"create NoChildrenForEphemerals", 1, func() error {
				return expectErr(c.Create(in.Path("eph/c"), nil, 0, worldACL))(zk.ErrNoChildrenForEphemerals)
			}},
			{"setData", 1, func() error { _, err := c.Set(in.Path("a"), []byte("x"), -1); return err }},
			{"setData BadVersion", 1, func() error { return expectErr(c.Set(in.Path("a"), nil, 7))(zk.ErrBadVersion) }},
			{"delete NotEmpty", 1, func() error { return expectErr("", c.Delete(in.Path("full"), -1))(zk.ErrNotEmpty) }},
			{"delete NoNode", 1, func() error { return expectErr("", c.Delete(in.Path("none"), -1))(zk.ErrNoNode) }},
			{"setACL", 1, func() error { _, err := c.SetACL(in.Path("a"), worldACL, -1); return err }},
			{"multi of three", 1, func() error {
				_, err := c.Multi(&zk.CreateRequest{Path: in.Path("m1"), Acl: worldACL}, &zk.CreateRequest{Path: in.Path("m2"), Acl: worldACL}, &zk.SetDataRequest{Path: in.Path("m1"), Version: -1})
				return err
			}},
			{"failed multi", 1, func() error {
				_, err := c.Multi(&zk.CreateRequest{Path: in.Path("m3"), Acl: worldACL}, &zk.CreateRequest{Path: in.Path("m1"), Acl: worldACL})
				return expectErr("", err)(zk.ErrNodeExists)
			}},
			{"delete", 1, func() error { return c.Delete(in.Path("a"), -1) }},
			{"getData", 0, func() error { _, _, err := c.Get(in.Path("full")); return err }},
			{"exists", 0, func() error { _, _, err := c.Exists(in.Path("none")); return err }},
			{"getChildren", 0, func() error { _, _, err := c.Children(in.Path("full")); return err }},
			{"getACL", 0, func() error { _, _, err := c.GetACL(in.Path("full")); return err }},
			{"sync", 0, func() error { _, err := c.Sync(in.Path("full")); return err }},
			{"new session", 1, func() error { in.Connect(t); return nil }},
		}
		closing := in.Connect(t)
		cases = append(cases, struct {
			name string
			want int64
			op   func() error
		}{"close session", 1, func() error { closing.Close(); return nil }})
		for _, tc := range cases {
			var opErr error
			if d := zxidDelta(t, in, func() { opErr = tc.op() }); d != tc.want || opErr != nil {
				t.Errorf("%s: zxid moved by %d (err %v), want %d", tc.name, d, opErr, tc.want)
			}
		}
		t.Run("reply headers carry the last zxid", func(t *testing.T) {
			r := mustConnect(t, in.Addr())
			for _, op := range []struct {
				code int32
				req  []byte
			}{
				{opGetData, pathWatchReq(in.Path("full"), false)},
				{opCreate, createReq(in.Path("full"), nil, openACL, 0)},
				{opSetData, setDataReq(in.Path("full"), nil, -1)},
				{opExists, pathWatchReq(in.Path("nothing"), false)},
			} {
				h, _, err := r.call(op.code, op.req)
				if err != nil {
					t.Fatal(err)
				}
				if z := in.Zxid(t); h.zxid != z {
					t.Errorf("op %d: reply zxid 0x%x, server zxid 0x%x", op.code, h.zxid, z)
				}
			}
		})
	})
}

// expectErr turns (value, err) into a check that err is want.
func expectErr[V any](_ V, err error) func(want error) error {
	return func(want error) error {
		if !errors.Is(err, want) {
			return fmt.Errorf("got %v, want %v", err, want)
		}
		return nil
	}
}

func TestConformanceStatFields(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		c := in.Connect(t)
		p := in.Path("n")
		before := time.Now().UnixMilli()
		mustCreate(t, c, p, []byte("hello"), 0)
		st := mustStat(t, c, p)
		z := in.Zxid(t)
		if st.Czxid != z || st.Mzxid != z || st.Pzxid != z || st.Version != 0 || st.Cversion != 0 || st.Aversion != 0 ||
			st.EphemeralOwner != 0 || st.DataLength != 5 || st.NumChildren != 0 || st.Ctime != st.Mtime || st.Ctime < before-1000 {
			t.Fatalf("stat after create = %+v (zxid 0x%x)", st, z)
		}
		created := *st

		if _, err := c.Set(p, []byte("hi"), 0); err != nil {
			t.Fatal(err)
		}
		st = mustStat(t, c, p)
		if st.Version != 1 || st.Mzxid != in.Zxid(t) || st.Czxid != created.Czxid || st.Pzxid != created.Pzxid || st.DataLength != 2 || st.Mtime < st.Ctime {
			t.Fatalf("stat after setData = %+v, created %+v", st, created)
		}
		afterSet := *st

		mustCreate(t, c, p+"/a", nil, 0)
		childZxid := in.Zxid(t)
		st = mustStat(t, c, p)
		if st.Cversion != 1 || st.NumChildren != 1 || st.Pzxid != childZxid || st.Mzxid != afterSet.Mzxid || st.Version != 1 {
			t.Fatalf("parent stat after child create = %+v, want cversion 1, 1 child, pzxid 0x%x", st, childZxid)
		}
		mustCreate(t, c, p+"/b", nil, 0)
		if err := c.Delete(p+"/a", -1); err != nil {
			t.Fatal(err)
		}
		delZxid := in.Zxid(t)
		st = mustStat(t, c, p)
		// Client-visible cversion is 2×internal − numChildren: internal 2, one child.
		if st.Cversion != 3 || st.NumChildren != 1 || st.Pzxid != delZxid {
			t.Fatalf("parent stat after child delete = %+v, want cversion 3, 1 child, pzxid 0x%x", st, delZxid)
		}

		if _, err := c.SetACL(p, zk.WorldACL(zk.PermAll), -1); err != nil {
			t.Fatal(err)
		}
		if st = mustStat(t, c, p); st.Aversion != 1 {
			t.Fatalf("aversion after setACL = %d, want 1", st.Aversion)
		}

		mustCreate(t, c, in.Path("e"), nil, zk.FlagEphemeral)
		if st = mustStat(t, c, in.Path("e")); st.EphemeralOwner != c.SessionID() {
			t.Fatalf("ephemeralOwner = 0x%x, want session 0x%x", st.EphemeralOwner, c.SessionID())
		}
		if _, err := c.CreateContainer(in.Path("box"), nil, zk.FlagContainer, worldACL); err != nil {
			t.Fatal(err)
		}
		if st = mustStat(t, c, in.Path("box")); st.EphemeralOwner != 0 {
			t.Fatalf("container ephemeralOwner = 0x%x, want 0", st.EphemeralOwner)
		}

		t.Run("system nodes", func(t *testing.T) {
			for _, p := range []string{"/zookeeper", "/zookeeper/quota", "/zookeeper/config"} {
				if ok, _, err := c.Exists(p); err != nil || !ok {
					t.Errorf("exists %s = %v, %v", p, ok, err)
				}
			}
			kids, _, err := c.Children("/zookeeper")
			if err != nil || strings.Join(sorted(kids), ",") != "config,quota" {
				t.Errorf("children of /zookeeper = %v, %v", kids, err)
			}
		})
	})
}

// TestConformanceSessionIDs: a standalone server numbers sessions
// ((start ms << 24) >>> 8) | (1 << 56) and counts up from there.
func TestConformanceSessionIDs(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		a, b := mustConnect(t, in.Addr()), mustConnect(t, in.Addr())
		idA, idB := a.session.sessionID, b.session.sessionID
		if idA>>56 != 1 || idB != idA+1 {
			t.Fatalf("session ids 0x%x then 0x%x, want server id 1 in the top byte and consecutive ids", idA, idB)
		}
	})
}
