package zookeeper

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/internal/testutil"
)

func TestConnectHandshake(t *testing.T) {
	s := startServer(t, Options{})
	c := dialRaw(t, s.Addr())
	resp := c.mustConnect()
	if resp.HasReadOnly || resp.Timeout != 4000 || len(resp.Passwd) != 16 {
		t.Fatalf("connect response %+v", resp)
	}
	if resp.SessionID>>56 != 1 {
		t.Fatalf("session id %#x lacks server id 1 in its top byte", resp.SessionID)
	}

	t.Run("read-only byte echoed", func(t *testing.T) {
		c := dialRaw(t, s.Addr())
		resp, ok := c.connect(connectRequest{Timeout: 4000, HasReadOnly: true})
		if !ok || !resp.HasReadOnly || resp.ReadOnly {
			t.Fatalf("response %+v ok=%v", resp, ok)
		}
	})
	t.Run("reconnect keeps session", func(t *testing.T) {
		c2 := dialRaw(t, s.Addr())
		resp2, ok := c2.connect(connectRequest{Timeout: 4000, SessionID: resp.SessionID, Passwd: resp.Passwd})
		if !ok || resp2.SessionID != resp.SessionID {
			t.Fatalf("reconnect response %+v", resp2)
		}
		if !c.closed() {
			t.Fatalf("the session's old connection stayed open")
		}
	})
	t.Run("bad password", func(t *testing.T) {
		c3 := dialRaw(t, s.Addr())
		resp3, ok := c3.connect(connectRequest{Timeout: 4000, SessionID: resp.SessionID, Passwd: make([]byte, 16)})
		if !ok || resp3.SessionID != 0 || resp3.Timeout != 0 || !slices.Equal(resp3.Passwd, make([]byte, 16)) {
			t.Fatalf("bad password answered %+v", resp3)
		}
		if !c3.closed() {
			t.Fatalf("connection stayed open after a refused reconnect")
		}
	})
	t.Run("client ahead of server", func(t *testing.T) {
		c4 := dialRaw(t, s.Addr())
		if resp4, ok := c4.connect(connectRequest{Timeout: 4000, LastZxidSeen: 1 << 40}); ok {
			t.Fatalf("answered %+v, want the connection closed", resp4)
		}
	})
	t.Run("timeout negotiated", func(t *testing.T) {
		for _, tc := range []struct{ ask, want int32 }{{10, 400}, {1000, 1000}, {100000, 4000}} {
			c5 := dialRaw(t, s.Addr())
			if r, _ := c5.connect(connectRequest{Timeout: tc.ask}); r.Timeout != tc.want {
				t.Errorf("asked %d got %d, want %d", tc.ask, r.Timeout, tc.want)
			}
		}
	})
}

func TestZxidAccountingAndErrors(t *testing.T) {
	s := startServer(t, Options{})
	c := dialRaw(t, s.Addr())
	c.mustConnect()
	z0 := s.lastZxid()
	cases := []struct {
		name string
		op   int32
		body []byte
		err  int32
		uses int64 // zxids consumed
	}{
		{"create", opCreate, createBody("/z", nil, 0), 0, 1},
		{"create exists", opCreate, createBody("/z", nil, 0), errNodeExists, 1},
		{"create no parent", opCreate, createBody("/x/y", nil, 0), errNoNode, 1},
		{"getData", opGetData, enc(func(e *encoder) { e.string("/z"); e.bool(false) }), 0, 0},
		{"getData missing", opGetData, enc(func(e *encoder) { e.string("/q"); e.bool(false) }), errNoNode, 0},
		{"getData of empty path is the root", opGetData, enc(func(e *encoder) { e.string(""); e.bool(false) }), 0, 0},
		{"setData bad version", opSetData, enc(func(e *encoder) { e.string("/z"); e.buffer(nil); e.int32(7) }), errBadVersion, 1},
		{"setData bad path", opSetData, enc(func(e *encoder) { e.string("/z/"); e.buffer(nil); e.int32(-1) }), errBadArguments, 1},
		{"delete of bad path is NoNode", opDelete, enc(func(e *encoder) { e.string("/z/"); e.int32(-1) }), errNoNode, 1},
		{"delete special", opDelete, enc(func(e *encoder) { e.string("/zookeeper"); e.int32(-1) }), errBadArguments, 1},
		{"ttl without extended types", opCreateTTL, enc(func(e *encoder) {
			(&createRequest{Path: "/t", ACL: openACL, Flags: modePersistentTTL, TTL: 10}).encode(e, opCreateTTL)
		}), errUnimplemented, 1},
		{"empty ACL", opCreate, enc(func(e *encoder) { e.string("/a"); e.buffer(nil); e.int32(0); e.int32(0) }), errInvalidACL, 1},
		{"sync", opSync, pathBody("/z"), 0, 0},
		{"reconfig", opReconfig, enc(func(e *encoder) { e.string(""); e.string(""); e.string(""); e.int64(-1) }), errReconfigDisabled, 1},
		{"removeWatches none", opRemoveWatches, enc(func(e *encoder) { e.string("/z"); e.int32(watcherAny) }), errNoWatcher, 0},
		{"getAllChildrenNumber", opGetAllChildrenNumber, pathBody("/"), 0, 0},
	}
	for _, tc := range cases {
		before := s.lastZxid()
		r := c.call(tc.op, tc.body)
		if r.hdr.Err != tc.err {
			t.Errorf("%s: err %d, want %d", tc.name, r.hdr.Err, tc.err)
		}
		if got := s.lastZxid() - before; got != tc.uses {
			t.Errorf("%s: used %d zxids, want %d", tc.name, got, tc.uses)
		}
		if r.hdr.Zxid != s.lastZxid() {
			t.Errorf("%s: reply zxid %#x, want last zxid %#x", tc.name, r.hdr.Zxid, s.lastZxid())
		}
		if tc.err != 0 && len(r.body) != 0 {
			t.Errorf("%s: error reply carries a %d-byte body", tc.name, len(r.body))
		}
	}
	if s.lastZxid() <= z0 {
		t.Fatalf("zxid did not move")
	}
	r := c.call(opGetAllChildrenNumber, pathBody("/"))
	d := decoder{buf: r.body}
	if n := d.int32(); n != 4 { // /zookeeper, quota, config, /z
		t.Errorf("getAllChildrenNumber / = %d, want 4", n)
	}
	// An unknown opcode: Unimplemented with zxid -1, then the connection closes.
	r = c.call(999, nil)
	if r.hdr.Err != errUnimplemented || r.hdr.Zxid != -1 {
		t.Errorf("unknown opcode reply %+v", r.hdr)
	}
	if !c.closed() {
		t.Errorf("connection open after an unknown opcode")
	}
	// Other clients are unaffected.
	c2 := dialRaw(t, s.Addr())
	c2.mustConnect()
	if r := c2.call(opExists, enc(func(e *encoder) { e.string("/z"); e.bool(false) })); r.hdr.Err != 0 {
		t.Errorf("exists after another client's bad opcode: %d", r.hdr.Err)
	}
}

func TestOversizedFrameClosesConnection(t *testing.T) {
	s := startServer(t, Options{MaxPacketSize: 1024})
	c := dialRaw(t, s.Addr())
	c.mustConnect()
	c.xid++
	body := append(enc(func(e *encoder) { e.int32(1); e.int32(opCreate) }), createBody("/big", make([]byte, 2048), 0)...)
	c.send(body)
	if !c.closed() {
		t.Fatalf("connection open after a frame over MaxPacketSize")
	}
	ok := dialRaw(t, s.Addr())
	ok.mustConnect()
}

func TestMultiResults(t *testing.T) {
	s := startServer(t, Options{})
	c := connect(t, s.Addr())
	acl := zk.WorldACL(zk.PermAll)
	before := s.lastZxid()
	res, err := c.Multi(
		&zk.CreateRequest{Path: "/m", Acl: acl},
		&zk.CreateRequest{Path: "/m/a", Data: []byte("x"), Acl: acl},
		&zk.SetDataRequest{Path: "/m/a", Data: []byte("y"), Version: 0},
		&zk.CheckVersionRequest{Path: "/m/a", Version: 1},
	)
	if err != nil || len(res) != 4 || res[1].String != "/m/a" || res[2].Stat == nil || res[2].Stat.Version != 1 {
		t.Fatalf("multi = %+v, %v", res, err)
	}
	if got := s.lastZxid() - before; got != 1 {
		t.Fatalf("multi used %d zxids, want 1", got)
	}
	_, st, _ := c.Get("/m/a")
	if st.Czxid != st.Mzxid {
		t.Fatalf("ops of one multi got different zxids: %+v", st)
	}
	before = s.lastZxid()
	_, parentBefore, _ := c.Get("/m")
	_, childBefore, _ := c.Get("/m/a")
	res, err = c.Multi(
		&zk.CreateRequest{Path: "/m/b", Acl: acl},
		&zk.SetDataRequest{Path: "/m/a", Data: []byte("half"), Version: -1},
		&zk.DeleteRequest{Path: "/m/nope", Version: -1},
		&zk.SetDataRequest{Path: "/m/a", Data: []byte("z"), Version: -1},
	)
	if !errors.Is(err, zk.ErrNoNode) {
		t.Fatalf("failed multi err = %v", err)
	}
	// go-zookeeper reports -2 (RuntimeInconsistency) as an unknown error code.
	if len(res) != 4 || res[0].Error != nil || res[1].Error != nil || !errors.Is(res[2].Error, zk.ErrNoNode) ||
		res[3].Error == nil || !strings.Contains(res[3].Error.Error(), "-2") {
		t.Errorf("failed multi results = %+v", res)
	}
	if ok, _, _ := c.Exists("/m/b"); ok {
		t.Fatalf("failed multi applied its first op")
	}
	if got := s.lastZxid() - before; got != 1 {
		t.Fatalf("failed multi used %d zxids, want 1", got)
	}
	if d, _, _ := c.Get("/m/a"); string(d) != "y" {
		t.Fatalf("failed multi changed data: %q", d)
	}
	_, parentAfter, _ := c.Get("/m")
	_, childAfter, _ := c.Get("/m/a")
	if *parentAfter != *parentBefore || *childAfter != *childBefore {
		t.Fatalf("failed multi left stats changed:\n%+v -> %+v\n%+v -> %+v", parentBefore, parentAfter, childBefore, childAfter)
	}
}

func TestContainersAndTTLAreReaped(t *testing.T) {
	s := startServer(t, Options{ExtendedTypes: true})
	s.reapOnce(time.Now()) // the loop's own tick is a minute; drive it directly
	c := connect(t, s.Addr())
	acl := zk.WorldACL(zk.PermAll)
	if _, err := c.CreateContainer("/c", nil, zk.FlagContainer, acl); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateContainer("/never", nil, zk.FlagContainer, acl); err != nil {
		t.Fatal(err)
	}
	_, st, _ := c.Get("/c")
	if st.EphemeralOwner != 0 {
		t.Fatalf("container shows ephemeralOwner %#x, want 0", st.EphemeralOwner)
	}
	if _, err := c.Create("/c/kid", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTTL("/ttl", nil, zk.FlagTTL, acl, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	s.reapOnce(time.Now())
	if ok, _, _ := c.Exists("/c"); !ok {
		t.Fatalf("container with a child was reaped")
	}
	if err := c.Delete("/c/kid", -1); err != nil {
		t.Fatal(err)
	}
	s.reapOnce(time.Now().Add(time.Second))
	for p, want := range map[string]bool{"/c": false, "/never": true, "/ttl": false} {
		if ok, _, _ := c.Exists(p); ok != want {
			t.Errorf("%s exists=%v after reaping, want %v", p, ok, want)
		}
	}
}

func TestCloseSessionRepliesThenCloses(t *testing.T) {
	s := startServer(t, Options{})
	c := dialRaw(t, s.Addr())
	c.mustConnect()
	c.call(opCreate, createBody("/e", nil, modeEphemeral))
	before := s.lastZxid()
	r := c.call(opCloseSession, nil)
	if r.hdr.Err != 0 || r.hdr.Zxid != before+1 {
		t.Fatalf("closeSession reply %+v, want zxid %#x", r.hdr, before+1)
	}
	if !c.closed() {
		t.Fatalf("connection open after closeSession")
	}
	if len(s.Sessions()) != 0 {
		t.Fatalf("sessions after close: %+v", s.Sessions())
	}
	c2 := connect(t, s.Addr())
	if ok, _, _ := c2.Exists("/e"); ok {
		t.Fatalf("ephemeral survived closeSession")
	}
}

func TestSessionExpiryByTimeout(t *testing.T) {
	s := startServer(t, Options{TickTime: 50 * time.Millisecond})
	c := dialRaw(t, s.Addr())
	resp, _ := c.connect(connectRequest{Timeout: 100})
	c.call(opCreate, createBody("/e", nil, modeEphemeral))
	start := time.Now()
	testutil.Eventually(t, 5*time.Second, "session expiry", func() bool { return len(s.Sessions()) == 0 })
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("session of 100ms expired after %v", d)
	}
	if !c.closed() {
		t.Fatalf("connection of an expired session stayed open")
	}
	c2 := dialRaw(t, s.Addr())
	if r, ok := c2.connect(connectRequest{Timeout: 100, SessionID: resp.SessionID, Passwd: resp.Passwd}); !ok || r.SessionID != 0 {
		t.Fatalf("reconnect to an expired session answered %+v", r)
	}
}

func TestOptionsDefaultsAndValidation(t *testing.T) {
	s := startServer(t, Options{TickTime: 100 * time.Millisecond})
	o := s.Options()
	if o.Addr != s.Addr() || o.MinSessionTimeout != 200*time.Millisecond || o.MaxSessionTimeout != 2*time.Second ||
		o.MaxPacketSize != 0xfffff || !slices.Equal(o.FourLetterWords, []string{"srvr"}) || o.SnapCount != 100000 {
		t.Fatalf("effective options %+v", o)
	}
	for _, bad := range []Options{
		{MinSessionTimeout: 5 * time.Second, MaxSessionTimeout: time.Second},
		{Fsync: FsyncPolicy(7)},
		{Addr: "127.0.0.1:-5"},
	} {
		if s, err := Start(t.Context(), bad); err == nil {
			_ = s.Close()
			t.Errorf("Start(%+v) succeeded", bad)
		}
	}
}

func TestMalformedRecords(t *testing.T) {
	s := startServer(t, Options{})
	c := dialRaw(t, s.Addr())
	c.mustConnect()
	before := s.lastZxid()
	// A create whose path length runs past the frame: MarshallingError, and as
	// a write it still consumes a zxid.
	if r := c.call(opCreate, []byte{0x7f, 0, 0, 0}); r.hdr.Err != errMarshallingError {
		t.Fatalf("truncated create: err %d", r.hdr.Err)
	}
	if got := s.lastZxid() - before; got != 1 {
		t.Fatalf("truncated create used %d zxids, want 1", got)
	}
	if r := c.call(opGetData, []byte{0, 0}); r.hdr.Err != errMarshallingError {
		t.Fatalf("truncated getData: err %d", r.hdr.Err)
	}
	// The connection still serves.
	if r := c.call(opExists, enc(func(e *encoder) { e.string("/"); e.bool(false) })); r.hdr.Err != 0 {
		t.Fatalf("exists after malformed records: %d", r.hdr.Err)
	}
}

func TestFourLetterWhitelistAndAnswers(t *testing.T) {
	s := startServer(t, Options{})
	if got := s.fourLetter("ruok"); got != "ruok is not executed because it is not in the whitelist.\n" {
		t.Fatalf("ruok outside the whitelist = %q", got)
	}
	if got := s.fourLetter("srvr"); !strings.Contains(got, "Mode: standalone\nNode count: 5\n") {
		t.Fatalf("srvr = %q", got)
	}
	all := startServer(t, Options{FourLetterWords: []string{"*"}})
	for word, want := range map[string]string{"ruok": "imok", "isro": "rw"} {
		if got := all.fourLetter(word); got != want {
			t.Errorf("%s = %q, want %q", word, got, want)
		}
	}
	c := dialRaw(t, all.Addr())
	if _, err := c.nc.Write([]byte("ruok")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, _ := c.r.Read(buf)
	if string(buf[:n]) != "imok" || !c.closed() {
		t.Fatalf("ruok on the wire = %q", buf[:n])
	}
}
