package zookeeper

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The tree's storage (slab, arena, child tables) checked against a model
// that is nothing but a map from path to node, under random operations.

type modelNode struct {
	data                              []byte
	version, aversion, cversion       int32
	czxid, mzxid, pzxid, ctime, mtime int64
	owner                             int64
	acl                               int
	kids                              map[string]bool
}

type model struct{ nodes map[string]*modelNode }

var modelACLs = [][]ACL{openACL, {{Perms: permRead, Scheme: "world", ID: "anyone"}}}

func newModel(tr *tree) *model {
	m := &model{nodes: map[string]*modelNode{}}
	for p, e := range dumpTree(tr) {
		m.nodes[p] = &modelNode{data: e.data, czxid: e.stat.Czxid, pzxid: e.stat.Pzxid, aversion: e.stat.Aversion,
			cversion: (e.stat.Cversion + e.stat.NumChildren) / 2, kids: map[string]bool{}}
		if e.acl[0].Perms == permRead {
			m.nodes[p].acl = 1
		}
	}
	for p := range m.nodes {
		if p != "/" {
			parent, name := parentOf(p)
			m.nodes[eventParent(parent)].kids[name] = true
		}
	}
	return m
}

// apply is what the tree must do with x; it returns the error code.
func (m *model) apply(x *txn) int32 {
	n := m.nodes[x.Path]
	switch x.Type {
	case opCreate:
		parentPath, name := parentOf(x.Path)
		parent := m.nodes[eventParent(parentPath)]
		switch {
		case parent == nil:
			return errNoNode
		case n != nil:
			return errNodeExists
		}
		acl := 0
		if x.ACL[0].Perms == permRead {
			acl = 1
		}
		m.nodes[x.Path] = &modelNode{data: x.Data, czxid: x.Zxid, mzxid: x.Zxid, pzxid: x.Zxid, ctime: x.Time, mtime: x.Time,
			owner: x.EphemeralOwner, acl: acl, kids: map[string]bool{}}
		parent.kids[name] = true
		parent.cversion, parent.pzxid = x.Cversion, x.Zxid
	case opDelete:
		switch {
		case n == nil:
			return errNoNode
		case len(n.kids) > 0:
			return errNotEmpty
		}
		parentPath, name := parentOf(x.Path)
		parent := m.nodes[eventParent(parentPath)]
		delete(parent.kids, name)
		parent.pzxid = max(parent.pzxid, x.Zxid)
		delete(m.nodes, x.Path)
	case opSetData:
		if n == nil {
			return errNoNode
		}
		n.data, n.version, n.mzxid, n.mtime = x.Data, x.Version, x.Zxid, x.Time
	case opSetACL:
		if n == nil {
			return errNoNode
		}
		n.acl, n.aversion = 0, x.Version
		if x.ACL[0].Perms == permRead {
			n.acl = 1
		}
	}
	return errOK
}

type dumpEntry struct {
	stat Stat
	data []byte
	acl  []ACL
	kids []string
}

// dumpTree is everything a client could read from the tree, by path.
func dumpTree(tr *tree) map[string]dumpEntry {
	out := map[string]dumpEntry{}
	tr.walk(tr.root, "/", func(id nodeID, path []byte) {
		n := tr.slab.at(id)
		out[string(path)] = dumpEntry{stat: tr.stat(n), data: tr.data(n), acl: tr.aclOf(n).acl, kids: tr.children(n)}
	})
	return out
}

func (m *model) check(t *testing.T, tr *tree) {
	t.Helper()
	got := dumpTree(tr)
	if len(got) != len(m.nodes) || tr.size() != len(m.nodes)+1 {
		t.Fatalf("tree holds %d nodes (size %d), model %d", len(got), tr.size(), len(m.nodes))
	}
	for p, want := range m.nodes {
		e, ok := got[p]
		if !ok {
			t.Fatalf("%s missing from the walk", p)
		}
		if id := tr.find(p); id == 0 || tr.stat(tr.slab.at(id)) != e.stat {
			t.Fatalf("find(%s) disagrees with the walk", p)
		}
		owner := want.owner
		if !isEphemeralOwner(owner) {
			owner = 0
		}
		ws := Stat{Czxid: want.czxid, Mzxid: want.mzxid, Ctime: want.ctime, Mtime: want.mtime, Version: want.version,
			Cversion: want.cversion*2 - int32(len(want.kids)), Aversion: want.aversion, EphemeralOwner: owner,
			DataLength: int32(len(want.data)), NumChildren: int32(len(want.kids)), Pzxid: want.pzxid}
		if e.stat != ws {
			t.Fatalf("%s: stat %+v, want %+v", p, e.stat, ws)
		}
		if !bytes.Equal(e.data, want.data) || (e.data == nil) != (want.data == nil) {
			t.Fatalf("%s: data %q (nil %v), want %q (nil %v)", p, e.data, e.data == nil, want.data, want.data == nil)
		}
		if !slices.Equal(e.acl, modelACLs[want.acl]) {
			t.Fatalf("%s: acl %v, want %v", p, e.acl, modelACLs[want.acl])
		}
		if kids := slices.Sorted(maps.Keys(want.kids)); !slices.Equal(e.kids, kids) {
			t.Fatalf("%s: children %v, want %v", p, e.kids, kids)
		}
	}
}

// randomTxn picks an operation on a small namespace, with one parent that
// gets many children so its table grows and shrinks.
func randomTxn(r *rand.Rand, m *model, zxid int64) txn {
	names := []string{"a", "b", "c", "longer-name", "é"}
	var path string
	if r.IntN(3) == 0 {
		path = fmt.Sprintf("/big/n%d", r.IntN(400))
	} else {
		for range 1 + r.IntN(3) {
			path += "/" + names[r.IntN(len(names))]
		}
	}
	var data []byte
	switch r.IntN(4) {
	case 0: // nil
	case 1:
		data = []byte{}
	case 2:
		data = bytes.Repeat([]byte{byte(zxid)}, 1+r.IntN(200))
	default:
		data = bytes.Repeat([]byte{byte(zxid)}, 1+r.IntN(100_000)) // a record of its own
	}
	x := txn{Zxid: zxid, Time: zxid * 10, Path: path, Data: data, ACL: modelACLs[r.IntN(2)]}
	switch r.IntN(10) {
	case 0, 1, 2, 3:
		x.Type = opCreate
		if parent := m.nodes[eventParent(func() string { p, _ := parentOf(path); return p }())]; parent != nil {
			x.Cversion = parent.cversion + 1
		}
		if r.IntN(5) == 0 {
			x.EphemeralOwner = 0x100 + int64(r.IntN(3))
		}
	case 4, 5, 6:
		x.Type = opDelete
	case 7, 8:
		x.Type, x.Version = opSetData, int32(zxid)
	default:
		x.Type, x.Version = opSetACL, int32(zxid)
	}
	return x
}

// modelTree returns a fresh tree and its model, both holding /big, the
// parent randomTxn gives many children, and a random source for seed.
func modelTree(t *testing.T, seed uint64) (*rand.Rand, *tree, *model) {
	tr := newTree()
	m := newModel(tr)
	m.check(t, tr)
	x := txn{Type: opCreate, Zxid: 1, Path: "/big", ACL: openACL, Cversion: 2}
	m.apply(&x)
	tr.apply(&x, nil)
	return rand.New(rand.NewPCG(seed, seed+1)), tr, m
}

func TestTreeMatchesModel(t *testing.T) {
	r, tr, m := modelTree(t, 1)
	for i := range 20_000 {
		x := randomTxn(r, m, int64(i+2))
		if x.Type == opCreate && x.EphemeralOwner != 0 {
			x.EphemeralOwner = 0 // the model does not refuse children of ephemerals; prep does
		}
		want := m.apply(&x)
		res, _ := tr.apply(&x, nil)
		if res.Err != want {
			t.Fatalf("txn %d %+v: error %d, want %d", i, x, res.Err, want)
		}
		if i%500 == 0 {
			m.check(t, tr)
		}
	}
	m.check(t, tr)
	if tr.arena.inUse <= 0 || tr.arena.used < tr.arena.inUse {
		t.Fatalf("arena accounting: used %d, in use %d", tr.arena.used, tr.arena.inUse)
	}
}

// A multi that fails takes back its ops: everything a client could read is
// as it was, and the arena counts the same bytes in use.
func TestUndoRestoresTree(t *testing.T) {
	r, tr, m := modelTree(t, 3)
	zxid := int64(2)
	for range 2000 {
		x := randomTxn(r, m, zxid)
		zxid++
		m.apply(&x)
		tr.apply(&x, nil)
	}
	for round := range 50 {
		before, inUse := dumpTree(tr), tr.arena.inUse
		tr.recordUndo = true
		var undos []func()
		scratch := newModel(tr) // tracks cversions for the ops' creates
		for range 1 + r.IntN(40) {
			x := randomTxn(r, scratch, zxid)
			zxid++
			if scratch.apply(&x) != errOK {
				continue // a multi's ops are prepped: they apply
			}
			if res, undo := tr.apply(&x, nil); res.Err != errOK {
				t.Fatalf("round %d: %+v failed in the tree (%d) but not in the model", round, x, res.Err)
			} else if undo != nil {
				undos = append(undos, undo)
			}
		}
		undoAll(undos)
		tr.recordUndo = false
		tr.settle()
		after := dumpTree(tr)
		if len(after) != len(before) {
			t.Fatalf("round %d: %d nodes after undo, %d before", round, len(after), len(before))
		}
		for p, e := range before {
			a := after[p]
			if a.stat != e.stat || !bytes.Equal(a.data, e.data) || !slices.Equal(a.kids, e.kids) || !slices.Equal(a.acl, e.acl) {
				t.Fatalf("round %d: %s is %+v after undo, was %+v", round, p, a, e)
			}
		}
		if tr.arena.inUse != inUse {
			t.Fatalf("round %d: arena has %d bytes in use after undo, %d before", round, tr.arena.inUse, inUse)
		}
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	r, tr, m := modelTree(t, 5)
	for i := range 3000 {
		x := randomTxn(r, m, int64(i+2))
		m.apply(&x)
		tr.apply(&x, nil)
	}
	back, err := decodeSnapshot(encodeSnapshot(tr))
	if err != nil {
		t.Fatal(err)
	}
	m.check(t, back)
	if !maps.EqualFunc(tr.ephemerals, back.ephemerals, func(a, b map[string]struct{}) bool { return maps.Equal(a, b) }) {
		t.Fatalf("ephemerals %v, after the round trip %v", tr.ephemerals, back.ephemerals)
	}
}

// Data handed to a reader stays as it was while the node is overwritten,
// the arena is compacted and chunks are dropped; the arena gives its
// garbage back.
func TestArenaRecordsOutliveChangesAndGarbageIsReclaimed(t *testing.T) {
	tr := newTree()
	zxid := int64(1)
	apply := func(x txn) {
		x.Zxid, x.ACL = zxid, openACL
		zxid++
		used := tr.arena.used
		if res, _ := tr.apply(&x, nil); res.Err != errOK {
			t.Fatalf("%+v: error %d", x, res.Err)
		}
		if tr.arena.used < used-arenaChunk {
			t.Logf("compacted at zxid %d: %d bytes → %d", zxid, used, tr.arena.used)
		}
		if garbage := tr.arena.used - tr.arena.inUse; garbage > max(compactMin, tr.arena.inUse) {
			t.Fatalf("zxid %d: %d bytes of garbage for %d in use", zxid, garbage, tr.arena.inUse)
		}
	}
	apply(txn{Type: opCreate, Path: "/keep", Data: []byte("kept")})
	apply(txn{Type: opCreate, Path: "/hot", Data: []byte("first")})
	held := tr.data(tr.lookup("/hot"))
	payload := bytes.Repeat([]byte("x"), 1000)
	for i := range 10_000 { // 10 MB, then 9 MB of it deleted
		apply(txn{Type: opCreate, Path: fmt.Sprintf("/keep/n%d", i), Data: payload})
		apply(txn{Type: opSetData, Path: "/hot", Data: payload[:i%1000]})
	}
	peak := tr.arena.used
	for i := range 10_000 {
		if i%10 != 0 {
			apply(txn{Type: opDelete, Path: fmt.Sprintf("/keep/n%d", i)})
		}
	}
	if string(held) != "first" {
		t.Fatalf("a reader's data changed under it: %q", held)
	}
	if tr.arena.used > peak/4 {
		t.Fatalf("arena holds %d bytes after 90 %% of %d were deleted", tr.arena.used, peak)
	}
	for i := 0; i < 10_000; i += 10 {
		if got := tr.data(tr.lookup(fmt.Sprintf("/keep/n%d", i))); !bytes.Equal(got, payload) {
			t.Fatalf("/keep/n%d lost its data in compaction", i)
		}
	}
	if got := tr.data(tr.lookup("/hot")); len(got) != 999 {
		t.Fatalf("/hot holds %d bytes, want the last write's 999", len(got))
	}
	for i := 0; i < 10_000; i += 10 {
		apply(txn{Type: opDelete, Path: fmt.Sprintf("/keep/n%d", i)})
	}
	// The chunks that held only deleted records are gone: what is left is
	// at most the chunks of /keep and /hot and the one being filled.
	chunks := 0
	for _, c := range tr.arena.chunks {
		if c != nil {
			chunks++
		}
	}
	if chunks > 3 || tr.slab.live != 6 {
		t.Fatalf("after deleting what was created: arena holds %d chunks, slab %d nodes", chunks, tr.slab.live)
	}
	if ext := tr.ext(tr.lookup("/keep")); len(ext.kids.slots) != 0 {
		t.Fatalf("an emptied child table keeps %d slots", len(ext.kids.slots))
	}
}

// Paths that only look like stored ones are not found.
func TestFindRejectsNearMisses(t *testing.T) {
	tr := newTree()
	tr.apply(&txn{Type: opCreate, Zxid: 1, Path: "/a", ACL: openACL}, nil)
	tr.apply(&txn{Type: opCreate, Zxid: 2, Path: "/a/b", ACL: openACL}, nil)
	for _, p := range []string{"a", "//a", "/a/", "/a//b", "/a/b/", "/ab", "/a/b/c", "/b"} {
		if tr.find(p) != 0 {
			t.Errorf("find(%q) found a node", p)
		}
	}
	for _, p := range []string{"", "/", "/a", "/a/b", "/zookeeper/quota"} {
		if tr.find(p) == 0 {
			t.Errorf("find(%q) found nothing", p)
		}
	}
	if !strings.HasPrefix(tr.name(tr.lookup("/a/b")), "b") {
		t.Error("name of /a/b")
	}
}
