package zookeeper

import (
	"errors"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/internal/testutil"
)

func TestWatchEvents(t *testing.T) {
	s := startServer(t, Options{})
	c := connect(t, s.Addr())
	acl := zk.WorldACL(zk.PermAll)
	mk := func(p string) {
		t.Helper()
		if _, err := c.Create(p, nil, 0, acl); err != nil {
			t.Fatal(err)
		}
	}
	mk("/w")
	mk("/w/x")

	cases := []struct {
		name  string
		watch func() <-chan zk.Event
		act   func() error
		typ   zk.EventType
		path  string
	}{
		{"exists on missing fires created", func() <-chan zk.Event {
			_, _, ch, err := c.ExistsW("/w/new")
			if err != nil {
				t.Fatal(err)
			}
			return ch
		}, func() error { _, err := c.Create("/w/new", nil, 0, acl); return err }, zk.EventNodeCreated, "/w/new"},
		{"get fires data changed", func() <-chan zk.Event {
			_, _, ch, err := c.GetW("/w/x")
			if err != nil {
				t.Fatal(err)
			}
			return ch
		}, func() error { _, err := c.Set("/w/x", []byte("1"), -1); return err }, zk.EventNodeDataChanged, "/w/x"},
		{"children fires children changed", func() <-chan zk.Event {
			_, _, ch, err := c.ChildrenW("/w")
			if err != nil {
				t.Fatal(err)
			}
			return ch
		}, func() error { _, err := c.Create("/w/y", nil, 0, acl); return err }, zk.EventNodeChildrenChanged, "/w"},
		{"get fires deleted", func() <-chan zk.Event {
			_, _, ch, err := c.GetW("/w/y")
			if err != nil {
				t.Fatal(err)
			}
			return ch
		}, func() error { return c.Delete("/w/y", -1) }, zk.EventNodeDeleted, "/w/y"},
		{"children of root", func() <-chan zk.Event {
			_, _, ch, err := c.ChildrenW("/")
			if err != nil {
				t.Fatal(err)
			}
			return ch
		}, func() error { _, err := c.Create("/top", nil, 0, acl); return err }, zk.EventNodeChildrenChanged, "/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch := tc.watch()
			if err := tc.act(); err != nil {
				t.Fatal(err)
			}
			e := waitEvent(t, ch)
			if e.Type != tc.typ || e.Path != tc.path {
				t.Fatalf("event %+v, want %v on %s", e, tc.typ, tc.path)
			}
		})
	}
	// setACL fires nothing; a watch is one-shot.
	_, _, ch, err := c.GetW("/w/x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetACL("/w/x", acl, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Set("/w/x", []byte("2"), -1); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ch)
	_, _, total := s.watches.watchCounts()
	if total != 0 {
		t.Fatalf("%d watches left after every one-shot watch fired", total)
	}
}

// TestEventBeforeReply: a client that sets data on one connection and reads
// on another sees the watch event on the reading connection before the reply
// that shows the new data.
func TestEventBeforeReply(t *testing.T) {
	s := startServer(t, Options{})
	w := dialRaw(t, s.Addr())
	w.mustConnect()
	w.call(opCreate, createBody("/o", nil, 0))
	w.call(opGetData, enc(func(e *encoder) { e.string("/o"); e.bool(true) }))
	other := connect(t, s.Addr())
	if _, err := other.Set("/o", []byte("new"), -1); err != nil {
		t.Fatal(err)
	}
	w.xid++
	w.send(append(enc(func(e *encoder) { e.int32(w.xid); e.int32(opGetData) }), enc(func(e *encoder) { e.string("/o"); e.bool(false) })...))
	first, err := w.next()
	if err != nil {
		t.Fatal(err)
	}
	if first.hdr.Xid != xidNotification || first.hdr.Zxid != -1 {
		t.Fatalf("first frame after the change is %+v, want the watch event", first.hdr)
	}
	d := decoder{buf: first.body}
	if typ, state, path := d.int32(), d.int32(), d.string(); typ != eventNodeDataChanged || state != stateSyncConnected || path != "/o" {
		t.Fatalf("event %d %d %s", typ, state, path)
	}
}

func TestPersistentAndRecursiveWatches(t *testing.T) {
	s := startServer(t, Options{})
	c := connect(t, s.Addr())
	acl := zk.WorldACL(zk.PermAll)
	for _, p := range []string{"/p", "/r"} {
		if _, err := c.Create(p, nil, 0, acl); err != nil {
			t.Fatal(err)
		}
	}
	w := dialRaw(t, s.Addr())
	w.mustConnect()
	for p, mode := range map[string]int32{"/p": addWatchPersistent, "/r": addWatchPersistentRecursive} {
		if r := w.call(opAddWatch, enc(func(e *encoder) { e.string(p); e.int32(mode) })); r.hdr.Err != 0 || len(r.body) != 4 {
			t.Fatalf("addWatch %s: %+v %d bytes", p, r.hdr, len(r.body))
		}
	}
	steps := []func() error{
		func() error { _, err := c.Set("/p", []byte("1"), -1); return err },
		func() error { _, err := c.Set("/p", []byte("2"), -1); return err },
		func() error { _, err := c.Create("/p/k", nil, 0, acl); return err },
		func() error { _, err := c.Create("/r/k", nil, 0, acl); return err },
		func() error { _, err := c.Set("/r/k", []byte("1"), -1); return err },
		func() error { return c.Delete("/r/k", -1) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	want := []watchEvent{
		{eventNodeDataChanged, "/p"}, {eventNodeDataChanged, "/p"}, {eventNodeChildrenChanged, "/p"},
		{eventNodeCreated, "/r/k"}, {eventNodeDataChanged, "/r/k"}, {eventNodeDeleted, "/r/k"},
	}
	for i, we := range want {
		r, err := w.next()
		if err != nil {
			t.Fatal(err)
		}
		d := decoder{buf: r.body}
		typ, _, path := d.int32(), d.int32(), d.string()
		if r.hdr.Xid != xidNotification || typ != we.Type || path != we.Path {
			t.Fatalf("event %d = %d %s, want %d %s", i, typ, path, we.Type, we.Path)
		}
	}
	if r := w.call(opCheckWatches, enc(func(e *encoder) { e.string("/r"); e.int32(watcherData) })); r.hdr.Err != 0 {
		t.Fatalf("checkWatches of a persistent watch: %d", r.hdr.Err)
	}
	if r := w.call(opRemoveWatches, enc(func(e *encoder) { e.string("/r"); e.int32(watcherAny) })); r.hdr.Err != 0 {
		t.Fatalf("removeWatches: %d", r.hdr.Err)
	}
	if r := w.call(opCheckWatches, enc(func(e *encoder) { e.string("/r"); e.int32(watcherAny) })); r.hdr.Err != errNoWatcher {
		t.Fatalf("checkWatches after remove: %d, want NoWatcher", r.hdr.Err)
	}
}

func TestSetWatchesAfterReconnect(t *testing.T) {
	s := startServer(t, Options{})
	c := connect(t, s.Addr())
	acl := zk.WorldACL(zk.PermAll)
	for _, p := range []string{"/same", "/changed", "/kids", "/deleted", "/appears"} {
		if _, err := c.Create(p, nil, 0, acl); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Delete("/appears", -1); err != nil {
		t.Fatal(err)
	}
	rel := s.lastZxid()
	if _, err := c.Set("/changed", []byte("x"), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/kids/k", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("/deleted", -1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/appears", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	w := dialRaw(t, s.Addr())
	w.mustConnect()
	r := w.call(opSetWatches, enc(func(e *encoder) {
		e.int64(rel)
		e.strings([]string{"/same", "/changed", "/deleted"})
		e.strings([]string{"/appears", "/missing"})
		e.strings([]string{"/kids", "/same"})
	}))
	if r.hdr.Xid != w.xid || r.hdr.Err != 0 { // the request's own xid, as real 3.8 answers
		t.Fatalf("setWatches reply %+v", r.hdr)
	}
	_, _, total := s.watches.watchCounts()
	if total != 3 { // data /same, exist /missing, child /same
		t.Fatalf("%d watches re-registered, want 3", total)
	}
	if _, err := c.Set("/same", []byte("y"), -1); err != nil {
		t.Fatal(err)
	}
	got := map[watchEvent]bool{}
	if len(w.events) != 4 {
		t.Fatalf("%d events before the setWatches reply, want 4", len(w.events))
	}
	for range 5 {
		e, err := w.nextEvent()
		if err != nil {
			t.Fatal(err)
		}
		got[e] = true
	}
	for _, want := range []watchEvent{
		{eventNodeDataChanged, "/changed"}, {eventNodeDeleted, "/deleted"}, {eventNodeCreated, "/appears"},
		{eventNodeChildrenChanged, "/kids"}, {eventNodeDataChanged, "/same"},
	} {
		if !got[want] {
			t.Errorf("missing event %+v (got %v)", want, got)
		}
	}
}

func TestACLs(t *testing.T) {
	super := digestOf("super:secret")
	s := startServer(t, Options{SuperDigest: super})
	owner := connect(t, s.Addr())
	if err := owner.AddAuth("digest", []byte("alice:pw")); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Create("/secret", []byte("s"), 0, zk.DigestACL(zk.PermAll, "alice", "pw")); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Create("/authed", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "auth"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Create("/readonly", nil, 0, []zk.ACL{{Perms: zk.PermRead, Scheme: "world", ID: "anyone"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Create("/local", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: "127.0.0.0/8"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Create("/remote", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: "10.1.2.3"}}); err != nil {
		t.Fatal(err)
	}
	acl, _, err := owner.GetACL("/authed")
	if err != nil || len(acl) != 1 || acl[0].Scheme != "digest" || acl[0].ID != digestOf("alice:pw") {
		t.Fatalf("auth ACL expanded to %+v, %v", acl, err)
	}

	stranger := connect(t, s.Addr())
	cases := []struct {
		name string
		op   func() error
		want error
	}{
		{"read digest node", func() error { _, _, err := stranger.Get("/secret"); return err }, zk.ErrNoAuth},
		{"create under digest node", func() error { _, err := stranger.Create("/secret/x", nil, 0, zk.WorldACL(zk.PermAll)); return err }, zk.ErrNoAuth},
		{"write read-only node", func() error { _, err := stranger.Set("/readonly", nil, -1); return err }, zk.ErrNoAuth},
		{"read read-only node", func() error { _, _, err := stranger.Get("/readonly"); return err }, nil},
		{"ip ACL matches loopback", func() error { _, err := stranger.Set("/local", []byte("x"), -1); return err }, nil},
		{"ip ACL of another host", func() error { _, _, err := stranger.Get("/remote"); return err }, zk.ErrNoAuth},
		{"exists needs no permission", func() error { _, _, err := stranger.Exists("/secret"); return err }, nil},
		{"auth scheme without auth", func() error {
			_, err := stranger.Create("/x", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "auth"}})
			return err
		}, zk.ErrInvalidACL},
		{"unknown scheme", func() error {
			_, err := stranger.Create("/x", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "nope", ID: "x"}})
			return err
		}, zk.ErrInvalidACL},
	}
	for _, tc := range cases {
		if err := tc.op(); !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// Without ADMIN, getACL masks digests; the owner sees them whole.
	if _, err := owner.Create("/masked", nil, 0, []zk.ACL{
		{Perms: zk.PermRead, Scheme: "world", ID: "anyone"},
		{Perms: zk.PermAll, Scheme: "digest", ID: digestOf("alice:pw")},
	}); err != nil {
		t.Fatal(err)
	}
	acl, _, err = stranger.GetACL("/masked")
	if err != nil || acl[1].ID != "alice:x" {
		t.Fatalf("masked ACL = %+v, %v", acl, err)
	}

	root := connect(t, s.Addr())
	if err := root.AddAuth("digest", []byte("super:secret")); err != nil {
		t.Fatal(err)
	}
	if d, _, err := root.Get("/secret"); err != nil || string(d) != "s" {
		t.Fatalf("super digest read: %q %v", d, err)
	}

	// whoAmI lists ip and digest identities.
	w := dialRaw(t, s.Addr())
	w.mustConnect()
	w.call(opAuth, enc(func(e *encoder) { e.int32(0); e.string("digest"); e.buffer([]byte("bob:pw")) }))
	r := w.call(opWhoAmI, nil)
	d := decoder{buf: r.body}
	n := d.int32()
	var ids []string
	for range n {
		ids = append(ids, d.string()+":"+d.string())
	}
	if len(ids) != 2 || ids[0] != "ip:127.0.0.1" || ids[1] != "digest:bob" {
		t.Fatalf("whoAmI = %v", ids)
	}
	// An unknown auth scheme fails and closes the connection.
	r = w.call(opAuth, enc(func(e *encoder) { e.int32(0); e.string("kerberos"); e.buffer([]byte("x")) }))
	if r.hdr.Err != errAuthFailed || !w.closed() {
		t.Fatalf("unknown auth scheme: %+v", r.hdr)
	}
}

func TestEphemeralsAndDropConnections(t *testing.T) {
	s := startServer(t, Options{})
	w := dialRaw(t, s.Addr())
	resp := w.mustConnect()
	for _, p := range []string{"/e1", "/e2"} {
		w.call(opCreate, createBody(p, nil, modeEphemeral))
	}
	w.call(opCreate, createBody("/dir", nil, 0))
	w.call(opCreate, createBody("/dir/e3", nil, modeEphemeral))
	r := w.call(opGetEphemerals, pathBody("/dir"))
	d := decoder{buf: r.body}
	if got := d.strings(); len(got) != 1 || got[0] != "/dir/e3" {
		t.Fatalf("getEphemerals /dir = %v", got)
	}
	s.DropConnections()
	if !w.closed() {
		t.Fatalf("connection open after DropConnections")
	}
	infos := s.Sessions()
	if len(infos) != 1 || infos[0].Remote != "" || infos[0].Ephemerals != 3 {
		t.Fatalf("sessions after drop = %+v", infos)
	}
	w2 := dialRaw(t, s.Addr())
	if r, ok := w2.connect(connectRequest{Timeout: 4000, SessionID: resp.SessionID, Passwd: resp.Passwd}); !ok || r.SessionID != resp.SessionID {
		t.Fatalf("reconnect after drop: %+v", r)
	}
	testutil.Eventually(t, 2*time.Second, "session reattached", func() bool { return s.Sessions()[0].Remote != "" })
}
