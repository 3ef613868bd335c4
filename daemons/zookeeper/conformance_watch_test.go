package zookeeper_test

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/internal/zktest"
)

// TestConformanceWatchTriggers: which operation fires which one-shot watch. Watch and
// operation share one connection, so after the operation's reply any event
// that was due is already delivered.
func TestConformanceWatchTriggers(t *testing.T) {
	type watchKind int
	const (
		dataWatch watchKind = iota
		existWatch
		childWatch
	)
	cases := []struct {
		name  string
		watch watchKind
		setup func(c *zktest.Client, p string) // p exists unless setup removes it
		op    func(c *zktest.Client, p string) error
		want  zk.EventType // 0: no event
	}{
		{"setData fires data watch", dataWatch, nil, func(c *zktest.Client, p string) error { _, err := c.Set(p, []byte("x"), -1); return err }, zk.EventNodeDataChanged},
		{"delete fires data watch", dataWatch, nil, func(c *zktest.Client, p string) error { return c.Delete(p, -1) }, zk.EventNodeDeleted},
		{"setACL fires nothing", dataWatch, nil, func(c *zktest.Client, p string) error { _, err := c.SetACL(p, worldACL, -1); return err }, 0},
		{"child create does not fire data watch", dataWatch, nil, func(c *zktest.Client, p string) error { _, err := c.Create(p+"/k", nil, 0, worldACL); return err }, 0},
		{"create fires exist watch", existWatch, func(c *zktest.Client, p string) { _ = c.Delete(p, -1) }, func(c *zktest.Client, p string) error { _, err := c.Create(p, nil, 0, worldACL); return err }, zk.EventNodeCreated},
		{"setData fires exist watch on a node", existWatch, nil, func(c *zktest.Client, p string) error { _, err := c.Set(p, nil, -1); return err }, zk.EventNodeDataChanged},
		{"child create fires child watch", childWatch, nil, func(c *zktest.Client, p string) error { _, err := c.Create(p+"/k", nil, 0, worldACL); return err }, zk.EventNodeChildrenChanged},
		{"child delete fires child watch", childWatch, func(c *zktest.Client, p string) { _, _ = c.Create(p+"/k", nil, 0, worldACL) }, func(c *zktest.Client, p string) error { return c.Delete(p+"/k", -1) }, zk.EventNodeChildrenChanged},
		{"delete fires child watch", childWatch, nil, func(c *zktest.Client, p string) error { return c.Delete(p, -1) }, zk.EventNodeDeleted},
		{"setData does not fire child watch", childWatch, nil, func(c *zktest.Client, p string) error { _, err := c.Set(p, nil, -1); return err }, 0},
		{"failed setData fires nothing", dataWatch, nil, func(c *zktest.Client, p string) error { return expectErr(c.Set(p, nil, 9))(zk.ErrBadVersion) }, 0},
	}
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		c := in.Connect(t)
		for i, tc := range cases {
			p := in.Path(fmt.Sprintf("w%d", i))
			mustCreate(t, c, p, nil, 0)
			if tc.setup != nil {
				tc.setup(c, p)
			}
			var ch <-chan zk.Event
			var err error
			switch tc.watch {
			case dataWatch:
				_, _, ch, err = c.GetW(p)
			case existWatch:
				_, _, ch, err = c.ExistsW(p)
			case childWatch:
				_, _, ch, err = c.ChildrenW(p)
			}
			if err != nil {
				t.Fatalf("%s: set watch: %v", tc.name, err)
			}
			if err := tc.op(c, p); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if tc.want == 0 {
				noEvent(t, ch, tc.name)
				continue
			}
			select {
			case ev := <-ch:
				if ev.Type != tc.want || ev.Path != p || ev.State != zk.StateSyncConnected {
					t.Errorf("%s: event %+v, want %v on %s", tc.name, ev, tc.want, p)
				}
			default:
				t.Errorf("%s: no event by the time the operation's reply arrived", tc.name)
			}
		}
	})
}

// TestConformanceWatchOneShotAndOrdering: a watch fires once; an event reaches a client
// before any reply that shows it the new data.
func TestConformanceWatchOneShotAndOrdering(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		watcher, writer := mustConnect(t, in.Addr()), in.Connect(t)
		p := in.Path("n")
		mustCreate(t, writer, p, []byte("0"), 0)
		if code, _ := watcher.mustCall(opGetData, pathWatchReq(p, true)); code != errOK {
			t.Fatalf("getData with watch = %d", code)
		}
		for i := 1; i <= 3; i++ {
			if _, err := writer.Set(p, []byte(fmt.Sprint(i)), -1); err != nil {
				t.Fatal(err)
			}
		}
		// Read until the watcher sees the last write; the one event must come first.
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, d := watcher.mustCall(opGetData, pathWatchReq(p, false))
			data := string(d.buf())
			if code != errOK || time.Now().After(deadline) {
				t.Fatalf("getData = %d %q", code, data)
			}
			if data == "0" {
				continue
			}
			if len(watcher.events) != 1 || watcher.events[0] != (event{typ: evNodeDataChanged, state: 3, path: p}) {
				t.Fatalf("reply showed %q after events %+v, want exactly one NodeDataChanged first", data, watcher.events)
			}
			if data == "3" {
				break
			}
		}
	})
}

// TestConformanceSetWatchesReplyXid: the setWatches reply carries the xid
// the request came with. The Java client sends -8; go-zookeeper sends an
// ordinary xid and waits for its reply, which never came while the embedded
// server answered every setWatches with -8.
func TestConformanceSetWatchesReplyXid(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		c := mustConnect(t, in.Addr())
		for _, op := range []int32{opSetWatches, opSetWatches2} {
			req := (&enc{}).i64(c.lastZxid).strs([]string{in.Path("a")}).strs(nil).strs(nil)
			if op == opSetWatches2 {
				req.strs(nil).strs(nil) // persistent and persistent-recursive
			}
			h, _, err := c.call(op, req.b) // call waits for a reply with its own xid
			if err != nil || h.err != errOK {
				t.Fatalf("op %d: reply %+v, %v", op, h, err)
			}
		}
	})
}

// TestConformanceSetWatchesAfterReconnect: a client reconnecting with the
// same session re-sends its watches (setWatches, xid -8) with the last zxid it
// saw; the server fires the ones whose nodes changed after it and
// re-registers the others. Raw frames: go-zookeeper 1.0.4 races on its
// lastZxid while resending watches, which -race reports.
func TestConformanceSetWatchesAfterReconnect(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		writer := in.Connect(t)
		for _, n := range []string{"changed", "deleted", "kids", "same", "samekids"} {
			mustCreate(t, writer, in.Path(n), nil, 0)
		}
		first := mustConnect(t, in.Addr())
		for _, w := range []struct {
			op   int32
			node string
		}{
			{opGetData, "changed"}, {opGetData, "deleted"}, {opExists, "born"},
			{opGetChildren, "kids"}, {opGetData, "same"}, {opGetChildren, "samekids"},
		} {
			if code, _ := first.mustCall(w.op, pathWatchReq(in.Path(w.node), true)); code != errOK && code != errNoNode {
				t.Fatalf("watch %s: %d", w.node, code)
			}
		}
		first.c.Close()
		if _, err := writer.Set(in.Path("changed"), []byte("x"), -1); err != nil {
			t.Fatal(err)
		}
		if err := writer.Delete(in.Path("deleted"), -1); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, writer, in.Path("born"), nil, 0)
		mustCreate(t, writer, in.Path("kids/k"), nil, 0)

		again := dialRaw(t, in.Addr())
		resp, err := again.connect(connectReq{lastZxid: first.lastZxid, timeoutMs: 10000, sessionID: first.session.sessionID, passwd: first.session.passwd})
		if err != nil || resp.sessionID != first.session.sessionID {
			t.Fatalf("reconnect: %+v, %v", resp, err)
		}
		req := (&enc{}).i64(first.lastZxid).
			strs([]string{in.Path("changed"), in.Path("deleted"), in.Path("same")}).
			strs([]string{in.Path("born")}).
			strs([]string{in.Path("kids"), in.Path("samekids")}).b
		if err := again.writeFrame(append((&enc{}).i32(xidSetWatches).i32(opSetWatches).b, req...)); err != nil {
			t.Fatal(err)
		}
		for {
			h, _, err := again.readReply()
			if err != nil {
				t.Fatalf("setWatches reply: %v", err)
			}
			if h.xid == xidSetWatches {
				if h.err != errOK {
					t.Fatalf("setWatches = %d", h.err)
				}
				break
			}
		}
		again.mustCall(opExists, pathWatchReq("/", false))
		want := []event{
			{evNodeCreated, 3, in.Path("born")},
			{evNodeDeleted, 3, in.Path("deleted")},
			{evNodeDataChanged, 3, in.Path("changed")},
			{evNodeChildrenChanged, 3, in.Path("kids")},
		}
		got := slices.Clone(again.events)
		byTypePath := func(a, b event) int { return cmp.Or(cmp.Compare(a.typ, b.typ), strings.Compare(a.path, b.path)) }
		slices.SortFunc(got, byTypePath)
		slices.SortFunc(want, byTypePath)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("events after setWatches:\n got %v\nwant %v", got, want)
		}
		// The re-registered watches still fire, once.
		again.events = nil
		if _, err := writer.Set(in.Path("same"), []byte("y"), -1); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, writer, in.Path("samekids/k"), nil, 0)
		if _, err := writer.Set(in.Path("same"), []byte("z"), -1); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for len(again.events) < 2 && time.Now().Before(deadline) {
			again.mustCall(opExists, pathWatchReq("/", false))
		}
		again.mustCall(opExists, pathWatchReq("/", false))
		want = []event{{evNodeDataChanged, 3, in.Path("same")}, {evNodeChildrenChanged, 3, in.Path("samekids")}}
		if fmt.Sprint(again.events) != fmt.Sprint(want) {
			t.Fatalf("re-registered watches: got %v, want %v", again.events, want)
		}
	})
}

// TestConformanceDropConnectionsKeepsSessions: cut connections (the embedded
// server's DropConnections; the client's socket on the real one) and a client
// reconnects to the same session with its ephemerals. (Without watches:
// go-zookeeper 1.0.4 races when it resends them; the raw test above covers
// watches across a reconnect.)
func TestConformanceDropConnectionsKeepsSessions(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		c := in.Connect(t)
		id := c.SessionID()
		mustCreate(t, c, in.Path("eph"), nil, zk.FlagEphemeral)
		in.DropConnections()
		// Requests in flight when the connection dropped fail (connection
		// closed, no server while it redials, a write on the closed socket);
		// the client then reconnects.
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, err := c.Set(in.Path("eph"), []byte("z"), -1)
			if err == nil {
				if st.EphemeralOwner != id {
					t.Fatalf("ephemeralOwner 0x%x, want 0x%x", st.EphemeralOwner, id)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("set after dropped connections: %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if c.SessionID() != id {
			t.Fatalf("session 0x%x after reconnect, want 0x%x", c.SessionID(), id)
		}
	})
}

// TestConformancePersistentWatches: addWatch persistent (0) and persistent-recursive (1)
// are not one-shot; recursive ones see descendants but no NodeChildrenChanged.
func TestConformancePersistentWatches(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		c := in.Connect(t)
		mustCreate(t, c, in.Path("p"), nil, 0)
		mustCreate(t, c, in.Path("r"), nil, 0)
		w := mustConnect(t, in.Addr())
		for path, mode := range map[string]int32{in.Path("p"): 0, in.Path("r"): 1} {
			if code, _ := w.mustCall(opAddWatch, (&enc{}).str(path).i32(mode).b); code != errOK {
				t.Fatalf("addWatch %s mode %d = %d", path, mode, code)
			}
		}
		ops := []func() error{
			func() error { _, err := c.Set(in.Path("p"), []byte("1"), -1); return err },
			func() error { _, err := c.Set(in.Path("p"), []byte("2"), -1); return err },
			func() error { _, err := c.Create(in.Path("p/k"), nil, 0, worldACL); return err },
			func() error { _, err := c.Set(in.Path("p/k"), nil, -1); return err },
			func() error { _, err := c.Create(in.Path("r/k"), nil, 0, worldACL); return err },
			func() error { _, err := c.Create(in.Path("r/k/g"), nil, 0, worldACL); return err },
			func() error { _, err := c.Set(in.Path("r/k/g"), nil, -1); return err },
			func() error { return c.Delete(in.Path("r/k/g"), -1) },
			func() error { _, err := c.Set(in.Path("r"), nil, -1); return err },
		}
		for i, op := range ops {
			if err := op(); err != nil {
				t.Fatalf("op %d: %v", i, err)
			}
		}
		want := []event{
			{evNodeDataChanged, 3, in.Path("p")},
			{evNodeDataChanged, 3, in.Path("p")},
			{evNodeChildrenChanged, 3, in.Path("p")},
			{evNodeCreated, 3, in.Path("r/k")},
			{evNodeCreated, 3, in.Path("r/k/g")},
			{evNodeDataChanged, 3, in.Path("r/k/g")},
			{evNodeDeleted, 3, in.Path("r/k/g")},
			{evNodeDataChanged, 3, in.Path("r")},
		}
		// A round trip after the last write: the events precede its reply.
		deadline := time.Now().Add(10 * time.Second)
		for len(w.events) < len(want) && time.Now().Before(deadline) {
			w.mustCall(opExists, pathWatchReq("/", false))
		}
		if fmt.Sprint(w.events) != fmt.Sprint(want) {
			t.Fatalf("persistent watch events:\n got %v\nwant %v", w.events, want)
		}
	})
}

// TestConformanceRemoveAndCheckWatches: checkWatches (17) and removeWatches (18) with
// watcher types children 1, data 2, any 3; no such watch is NoWatcher (-121).
func TestConformanceRemoveAndCheckWatches(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		c := in.Connect(t)
		mustCreate(t, c, in.Path("n"), nil, 0)
		w := mustConnect(t, in.Addr())
		p := in.Path("n")
		steps := []struct {
			name string
			op   int32
			req  []byte
			want int32
		}{
			{"check data before any watch", opCheckWatches, pathTypeReq(p, 2), errNoWatcher},
			{"set data watch", opGetData, pathWatchReq(p, true), errOK},
			{"check data", opCheckWatches, pathTypeReq(p, 2), errOK},
			{"check children", opCheckWatches, pathTypeReq(p, 1), errNoWatcher},
			{"check any", opCheckWatches, pathTypeReq(p, 3), errOK},
			{"remove children", opRemoveWatches, pathTypeReq(p, 1), errNoWatcher},
			{"remove data", opRemoveWatches, pathTypeReq(p, 2), errOK},
			{"check data after remove", opCheckWatches, pathTypeReq(p, 2), errNoWatcher},
			{"set child watch", opGetChildren, pathWatchReq(p, true), errOK},
			{"remove any", opRemoveWatches, pathTypeReq(p, 3), errOK},
			{"check any after remove", opCheckWatches, pathTypeReq(p, 3), errNoWatcher},
			{"remove on missing node", opRemoveWatches, pathTypeReq(in.Path("none"), 3), errNoWatcher},
		}
		for _, s := range steps {
			if code, _ := w.mustCall(s.op, s.req); code != s.want {
				t.Errorf("%s: %d, want %d", s.name, code, s.want)
			}
		}
		// Removed watches no longer fire.
		if _, err := c.Set(p, nil, -1); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, c, p+"/k", nil, 0)
		w.mustCall(opExists, pathWatchReq("/", false))
		if len(w.events) != 0 {
			t.Fatalf("removed watches fired: %+v", w.events)
		}
	})
}

// TestConformanceEphemeralsEndWithTheSession: close and expiry delete the session's
// ephemerals and fire their watches.
func TestConformanceEphemeralsEndWithTheSession(t *testing.T) {
	for _, end := range []string{"close", "expire"} {
		t.Run(end, func(t *testing.T) {
			eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
				owner := in.ConnectTimeout(t, time.Second)
				watcher := in.Connect(t)
				mustCreate(t, owner, in.Path("e"), nil, zk.FlagEphemeral)
				mustCreate(t, owner, in.Path("s-"), nil, zk.FlagEphemeralSequential)
				_, _, data, err := watcher.GetW(in.Path("e"))
				if err != nil {
					t.Fatal(err)
				}
				_, _, kids, err := watcher.ChildrenW(in.Root)
				if err != nil {
					t.Fatal(err)
				}
				if end == "close" {
					owner.Close()
				} else {
					in.ExpireSession(t, owner)
				}
				if ev := nextEvent(t, data, "data watch on the ephemeral"); ev.Type != zk.EventNodeDeleted {
					t.Errorf("data watch: %+v, want NodeDeleted", ev)
				}
				if ev := nextEvent(t, kids, "child watch on the parent"); ev.Type != zk.EventNodeChildrenChanged {
					t.Errorf("child watch: %+v, want NodeChildrenChanged", ev)
				}
				if names, _, err := watcher.Children(in.Root); err != nil || len(names) != 0 {
					t.Errorf("children after the session ended: %v, %v", names, err)
				}
			})
		})
	}
}

// TestConformanceSessionExpiresByTimeout cuts a client off (no pings, no
// redial) and times how long its ephemeral outlives it: the server expires
// sessions in tick-sized buckets, so a 1000 ms session with 200 ms ticks ends
// between about 0.8 and 1.4 s after its last contact.
func TestConformanceSessionExpiresByTimeout(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		owner := in.ConnectTimeout(t, time.Second)
		watcher := in.Connect(t)
		mustCreate(t, owner, in.Path("e"), nil, zk.FlagEphemeral)
		_, _, ch, err := watcher.GetW(in.Path("e"))
		if err != nil {
			t.Fatal(err)
		}
		// The owner's last contact: a round trip just before the cut.
		if _, _, err := owner.Exists("/"); err != nil {
			t.Fatal(err)
		}
		cut := time.Now()
		owner.Cut(true)
		defer owner.Release()
		ev := nextEvent(t, ch, "ephemeral of the cut-off session")
		gone := time.Since(cut)
		if ev.Type != zk.EventNodeDeleted {
			t.Fatalf("event %+v, want NodeDeleted", ev)
		}
		if gone < 700*time.Millisecond || gone > 3*time.Second {
			t.Fatalf("session of 1000 ms expired %v after its last contact", gone)
		}
		t.Logf("expired after %v", gone)
	})
}

// TestConformanceWatchDeduplication: the server keeps one watch per
// connection, path and table, and an operation that triggers both tables of
// a connection notifies it once.
func TestConformanceWatchDeduplication(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		writer := in.Connect(t)
		mustCreate(t, writer, in.Path("n"), nil, 0)
		r := mustConnect(t, in.Addr())
		p := in.Path("n")
		for _, op := range []int32{opGetData, opGetData, opExists, opGetChildren} {
			if code, _ := r.mustCall(op, pathWatchReq(p, true)); code != errOK {
				t.Fatalf("watch op %d: %d", op, code)
			}
		}
		if _, err := writer.Set(p, []byte("1"), -1); err != nil {
			t.Fatal(err)
		}
		r.mustCall(opExists, pathWatchReq("/", false))
		if want := []event{{evNodeDataChanged, 3, p}}; fmt.Sprint(r.events) != fmt.Sprint(want) {
			t.Fatalf("after setData: %v, want %v", r.events, want)
		}
		// The child watch is still set; with a new data watch, a delete
		// triggers both tables and notifies once.
		r.events = nil
		r.mustCall(opGetData, pathWatchReq(p, true))
		if err := writer.Delete(p, -1); err != nil {
			t.Fatal(err)
		}
		r.mustCall(opExists, pathWatchReq("/", false))
		if want := []event{{evNodeDeleted, 3, p}}; fmt.Sprint(r.events) != fmt.Sprint(want) {
			t.Fatalf("after delete: %v, want %v", r.events, want)
		}
	})
}

// TestConformancePersistentWatchOnMissingNode: addWatch works on a node that
// does not exist yet and keeps firing through its deletion and re-creation;
// a persistent watch answers checkWatches as both a data and a child watch;
// see TestConformanceWatchRequestValidation for bad modes and types.
func TestConformancePersistentWatchOnMissingNode(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		c := in.Connect(t)
		w := mustConnect(t, in.Addr())
		m, mr := in.Path("m"), in.Path("mr")
		steps := []struct {
			name string
			op   int32
			req  []byte
			want int32
		}{
			{"persistent on a missing node", opAddWatch, (&enc{}).str(m).i32(0).b, errOK},
			{"recursive on a missing node", opAddWatch, (&enc{}).str(mr).i32(1).b, errOK},
		}
		for _, s := range steps {
			if code, _ := w.mustCall(s.op, s.req); code != s.want {
				t.Errorf("%s: %d, want %d", s.name, code, s.want)
			}
		}
		mustCreate(t, c, m, nil, 0)
		mustCreate(t, c, mr, nil, 0)
		mustCreate(t, c, m+"/k", nil, 0)
		if _, err := c.Set(m+"/k", nil, -1); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{m + "/k", m, mr} {
			if err := c.Delete(p, -1); err != nil {
				t.Fatal(err)
			}
		}
		mustCreate(t, c, mr, nil, 0)
		w.mustCall(opExists, pathWatchReq("/", false))
		want := []event{{evNodeCreated, 3, m}, {evNodeCreated, 3, mr}, {evNodeChildrenChanged, 3, m},
			{evNodeChildrenChanged, 3, m}, {evNodeDeleted, 3, m}, {evNodeDeleted, 3, mr}, {evNodeCreated, 3, mr}}
		if fmt.Sprint(w.events) != fmt.Sprint(want) {
			t.Errorf("events:\n got %v\nwant %v", w.events, want)
		}
		for typ, want := range map[int32]int32{1: errOK, 2: errOK, 3: errOK} {
			if code, _ := w.mustCall(opCheckWatches, pathTypeReq(m, typ)); code != want {
				t.Errorf("checkWatches type %d on a persistent watch: %d, want %d", typ, code, want)
			}
		}
		if code, _ := w.mustCall(opRemoveWatches, pathTypeReq(m, 3)); code != errOK {
			t.Errorf("removeWatches any: %d", code)
		}
		if code, _ := w.mustCall(opCheckWatches, pathTypeReq(m, 3)); code != errNoWatcher {
			t.Errorf("checkWatches after remove: %d, want NoWatcher", code)
		}
	})
}

// TestConformanceWatchRequestValidation: an unknown addWatch mode or
// checkWatches/removeWatches watcher type is a MarshallingError (-5), whether
// or not a watch is set.
func TestConformanceWatchRequestValidation(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		mustCreate(t, in.Connect(t), in.Path("n"), nil, 0)
		w := mustConnect(t, in.Addr())
		p := in.Path("n")
		w.mustCall(opGetData, pathWatchReq(p, true))
		steps := []struct {
			name string
			op   int32
			req  []byte
		}{
			{"addWatch mode 2", opAddWatch, (&enc{}).str(p).i32(2).b},
			{"addWatch mode -1", opAddWatch, (&enc{}).str(p).i32(-1).b},
			{"checkWatches type 4", opCheckWatches, pathTypeReq(p, 4)},
			{"checkWatches type 0", opCheckWatches, pathTypeReq(p, 0)},
			{"removeWatches type 5", opRemoveWatches, pathTypeReq(p, 5)},
		}
		for _, s := range steps {
			if code, _ := w.mustCall(s.op, s.req); code != errMarshalling {
				t.Errorf("%s: %d, want MarshallingError", s.name, code)
			}
		}
	})
}

// TestConformanceFailedWatchedReadRegistersNothing: getData and getChildren
// with a watch on a missing node fail with NoNode and leave no watch behind
// (only exists watches a missing node), so creating the node, a child of it
// or changing its data later notifies no one. Storm's daemons rely on it:
// a watched read of a vanished assignment must not fire when a new topology
// reuses the path.
func TestConformanceFailedWatchedReadRegistersNothing(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		c := in.Connect(t)
		w := mustConnect(t, in.Addr())
		p := in.Path("missing")
		for _, op := range []int32{opGetData, opGetChildren, opGetChildren2} {
			if code, _ := w.mustCall(op, pathWatchReq(p, true)); code != errNoNode {
				t.Fatalf("op %d with a watch on a missing node = %d, want NoNode (%d)", op, code, errNoNode)
			}
		}
		for typ := int32(1); typ <= 3; typ++ {
			if code, _ := w.mustCall(opCheckWatches, pathTypeReq(p, typ)); code != errNoWatcher {
				t.Errorf("checkWatches type %d after failed watched reads = %d, want NoWatcher", typ, code)
			}
		}
		mustCreate(t, c, p, nil, 0)
		mustCreate(t, c, p+"/k", nil, 0)
		if _, err := c.Set(p, []byte("x"), -1); err != nil {
			t.Fatal(err)
		}
		// A read on w after the writes: any notification for them would
		// reach w before this reply (ZooKeeper's ordering guarantee).
		w.mustCall(opExists, pathWatchReq(p, false))
		if len(w.events) != 0 {
			t.Errorf("events after failed watched reads: %v, want none", w.events)
		}
	})
}
