package zookeeper

import (
	"errors"
	"testing"

	"github.com/go-zookeeper/zk"
)

func TestCreateGetSetDelete(t *testing.T) {
	s := startServer(t, Options{})
	c := connect(t, s.Addr())
	acl := zk.WorldACL(zk.PermAll)

	p, err := c.Create("/a", []byte("hello"), 0, acl)
	if err != nil || p != "/a" {
		t.Fatalf("create /a = %q, %v", p, err)
	}
	data, st, err := c.Get("/a")
	if err != nil || string(data) != "hello" {
		t.Fatalf("get /a = %q, %v", data, err)
	}
	if st.Czxid != st.Mzxid || st.Czxid != st.Pzxid || st.Version != 0 || st.DataLength != 5 || st.EphemeralOwner != 0 {
		t.Fatalf("fresh stat wrong: %+v", st)
	}
	st2, err := c.Set("/a", []byte("x"), 0)
	if err != nil || st2.Version != 1 || st2.Mzxid <= st.Mzxid || st2.Czxid != st.Czxid {
		t.Fatalf("set /a = %+v, %v", st2, err)
	}
	if _, err := c.Set("/a", []byte("y"), 0); !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("set with stale version: %v, want ErrBadVersion", err)
	}
	if _, err := c.Create("/a", nil, 0, acl); !errors.Is(err, zk.ErrNodeExists) {
		t.Fatalf("second create: %v, want ErrNodeExists", err)
	}
	if _, err := c.Create("/a/b", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("/a", -1); !errors.Is(err, zk.ErrNotEmpty) {
		t.Fatalf("delete non-empty: %v, want ErrNotEmpty", err)
	}
	if err := c.Delete("/a/b", 5); !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("delete bad version: %v", err)
	}
	if err := c.Delete("/a/b", -1); err != nil {
		t.Fatal(err)
	}
	_, st3, err := c.Get("/a")
	if err != nil {
		t.Fatal(err)
	}
	// One child created and deleted: internal cversion 1, visible 2*1-0 = 2.
	if st3.Cversion != 2 || st3.NumChildren != 0 || st3.Pzxid <= st2.Mzxid {
		t.Fatalf("parent stat after child create+delete: %+v", st3)
	}
	if err := c.Delete("/nope", -1); !errors.Is(err, zk.ErrNoNode) {
		t.Fatalf("delete missing: %v", err)
	}
	ok, _, err := c.Exists("/a")
	if err != nil || !ok {
		t.Fatalf("exists /a = %v, %v", ok, err)
	}
}

func TestFreshTree(t *testing.T) {
	s := startServer(t, Options{})
	c := connect(t, s.Addr())
	kids, st, err := c.Children("/")
	if err != nil {
		t.Fatal(err)
	}
	if len(kids) != 1 || kids[0] != "zookeeper" || st.Cversion != -1 || st.NumChildren != 1 {
		t.Fatalf("root = %v %+v", kids, st)
	}
	kids, _, err = c.Children("/zookeeper")
	if err != nil || len(kids) != 2 {
		t.Fatalf("/zookeeper children = %v, %v", kids, err)
	}
	acl, st, err := c.GetACL("/zookeeper/config")
	if err != nil || len(acl) != 1 || acl[0].Perms != zk.PermRead || st.Aversion != -1 {
		t.Fatalf("/zookeeper/config acl = %v %+v %v", acl, st, err)
	}
}

func TestSequentialNames(t *testing.T) {
	s := startServer(t, Options{})
	c := connect(t, s.Addr())
	acl := zk.WorldACL(zk.PermAll)
	if _, err := c.Create("/q", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	want := []string{"/q/n0000000000", "/q/n0000000001", "/q/n0000000002"}
	for i, w := range want {
		p, err := c.Create("/q/n", nil, zk.FlagSequence, acl)
		if err != nil || p != w {
			t.Fatalf("create %d = %q, %v; want %q", i, p, err, w)
		}
		if i == 0 {
			// Deletes do not rewind the counter.
			if err := c.Delete(p, -1); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestEphemeralRules(t *testing.T) {
	s := startServer(t, Options{})
	c := connect(t, s.Addr())
	acl := zk.WorldACL(zk.PermAll)
	if _, err := c.Create("/e", nil, zk.FlagEphemeral, acl); err != nil {
		t.Fatal(err)
	}
	_, st, err := c.Get("/e")
	if err != nil || st.EphemeralOwner != c.SessionID() {
		t.Fatalf("ephemeral owner = %#x, want %#x (%v)", st.EphemeralOwner, c.SessionID(), err)
	}
	if _, err := c.Create("/e/child", nil, 0, acl); !errors.Is(err, zk.ErrNoChildrenForEphemerals) {
		t.Fatalf("child of ephemeral: %v", err)
	}
	infos := s.Sessions()
	if len(infos) != 1 || infos[0].Ephemerals != 1 || infos[0].Remote == "" {
		t.Fatalf("sessions = %+v", infos)
	}
	other := connect(t, s.Addr())
	_, _, ch, err := other.ExistsW("/e")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ExpireSession(c.SessionID()); err != nil {
		t.Fatal(err)
	}
	if e := waitEvent(t, ch); e.Type != zk.EventNodeDeleted || e.Path != "/e" {
		t.Fatalf("event = %+v", e)
	}
	if err := s.ExpireSession(c.SessionID()); err == nil {
		t.Fatalf("expiring an expired session succeeded")
	}
}
