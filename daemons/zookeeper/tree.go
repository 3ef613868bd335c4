package zookeeper

import (
	"hash/maphash"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The data tree. ZooKeeper's DataTree keeps a map from full path to node;
// this one keeps, per parent, a table of its children (store.go), and finds
// a path by walking its names. Stat fields are stored as StatPersisted stores
// them (the internal cversion counts creates of children); copyStat turns
// them into what clients see.

// node is one znode's slot in the slab: 64 bytes, no pointers.
type node struct {
	czxid    int64
	mzxid    int64
	ctime    int64
	mtime    int64
	rec      recRef // name and data in the arena
	dataLen  int32  // -1: no data (null), as a client may create
	version  int32
	aversion int32
	acl      aclRef
	ext      extRef // 0: pzxid = czxid, cversion 0, no owner, no children
	hash     uint32 // of the name, for the parent's child table
}

// extState is what only some nodes need; a node without a nodeExt has the
// zero state with pzxid = czxid.
type extState struct {
	pzxid    int64
	owner    int64 // ephemeralOwner as persisted: session, containerOwner or TTL owner
	cversion int32 // internal: number of child creates
}

// nodeExt is a parent's or an ephemeral's extra state.
type nodeExt struct {
	extState
	kids childTable
}

// extRef names a nodeExt: its index in tree.exts.
type extRef uint32

// aclList is an interned ACL: most nodes share a handful of lists.
type aclList struct{ acl []ACL }

// aclRef names an interned aclList: its index in tree.acls.
type aclRef uint32

var openACL = []ACL{{Perms: permAll, Scheme: "world", ID: "anyone"}}

// tree is the database: the nodes, the ephemeral index, the containers and
// TTL nodes the reaper looks at, and the sessions with their timeouts
// (ZKDatabase's sessionsWithTimeouts), all changed only by applying txns.
type tree struct {
	slab       nodeSlab
	arena      arena
	exts       []*nodeExt // by extRef; 0 unused
	freeExts   []extRef
	seed       maphash.Seed
	root       nodeID
	ephemerals map[int64]map[string]struct{}
	containers map[string]struct{}
	ttls       map[string]struct{}
	sessions   map[int64]int32   // session id → timeout ms
	acls       []*aclList        // interned ACL lists, by aclRef
	aclCache   map[string]aclRef // an ACL list's key → its ref
	lastZxid   int64
	// recordUndo makes apply return undo functions; only a multi, which may
	// have to take back its first ops, pays for them.
	recordUndo bool
}

// Paths ZooKeeper creates in every tree.
const (
	procZookeeper   = "/zookeeper"
	quotaZookeeper  = "/zookeeper/quota"
	configZookeeper = "/zookeeper/config"
)

// emptyTree has no nodes at all, not even the root: a snapshot fills it.
func emptyTree() *tree {
	return &tree{
		arena:      arena{cur: -1},
		exts:       []*nodeExt{nil},
		seed:       maphash.MakeSeed(),
		ephemerals: make(map[int64]map[string]struct{}),
		containers: make(map[string]struct{}),
		ttls:       make(map[string]struct{}),
		sessions:   make(map[int64]int32),
		aclCache:   make(map[string]aclRef),
	}
}

// newTree holds what every ZooKeeper tree starts with.
func newTree() *tree {
	t := emptyTree()
	open := t.internACL(openACL)
	t.root = t.insert(0, "", nil, node{acl: open}, extState{})
	zk := t.insert(t.root, "zookeeper", nil, node{acl: open}, extState{})
	t.insert(zk, "quota", nil, node{acl: open}, extState{})
	// The config node is read-only for everyone (ZOOKEEPER-2014), set with
	// version -1 at start, which is why its aversion reads -1.
	t.insert(zk, "config", nil, node{acl: t.internACL([]ACL{{Perms: permRead, Scheme: "world", ID: "anyone"}}), aversion: -1}, extState{})
	return t
}

// insert stores a new node called name under parent (or, with parent 0,
// the root). n brings the node's fields, st its extra state (pzxid 0 means
// czxid). The name must not be taken.
func (t *tree) insert(parent nodeID, name string, data []byte, n node, st extState) nodeID {
	n.rec, n.dataLen = t.arena.put(name, data), dataLenOf(data)
	return t.link(parent, name, n, st)
}

// link adds n, whose record is already in the arena, under parent.
func (t *tree) link(parent nodeID, name string, n node, st extState) nodeID {
	if st.pzxid == 0 {
		st.pzxid = n.czxid
	}
	n.hash = t.hashName(name)
	if st != (extState{pzxid: n.czxid}) {
		n.ext = t.newExt(st)
	}
	id := t.slab.alloc()
	*t.slab.at(id) = n
	if parent == 0 {
		t.root = id
		return id
	}
	p := t.extOf(t.slab.at(parent))
	t.addChild(&p.kids, id)
	return id
}

// unlink removes parent's child in slot of kids and frees it, returning
// what it held; its record stays in the arena, released.
func (t *tree) unlink(kids *childTable, slot int, id nodeID) (node, extState) {
	n := *t.slab.at(id)
	st := extState{pzxid: n.czxid}
	if n.ext != 0 {
		st = t.exts[n.ext].extState
		t.exts[n.ext] = nil
		t.freeExts = append(t.freeExts, n.ext)
		n.ext = 0
	}
	t.removeChild(kids, slot)
	t.arena.release(n.rec, n.dataLen)
	t.slab.release(id)
	return n, st
}

func dataLenOf(data []byte) int32 {
	if data == nil {
		return -1
	}
	return int32(len(data))
}

func (t *tree) hashName(name string) uint32 { return uint32(maphash.String(t.seed, name)) }

func (t *tree) newExt(st extState) extRef {
	x := &nodeExt{extState: st}
	if n := len(t.freeExts); n > 0 {
		ref := t.freeExts[n-1]
		t.freeExts = t.freeExts[:n-1]
		t.exts[ref] = x
		return ref
	}
	t.exts = append(t.exts, x)
	return extRef(len(t.exts) - 1)
}

// ext returns n's extra state, nil if it has none.
func (t *tree) ext(n *node) *nodeExt {
	if n.ext == 0 {
		return nil
	}
	return t.exts[n.ext]
}

// extOf returns n's extra state, giving it one if it has none.
func (t *tree) extOf(n *node) *nodeExt {
	if n.ext == 0 {
		n.ext = t.newExt(extState{pzxid: n.czxid})
	}
	return t.exts[n.ext]
}

func (t *tree) state(n *node) extState {
	if e := t.ext(n); e != nil {
		return e.extState
	}
	return extState{pzxid: n.czxid}
}

func (t *tree) numChildren(n *node) int32 {
	if e := t.ext(n); e != nil {
		return e.kids.count
	}
	return 0
}

func (t *tree) name(n *node) string {
	name, _ := t.arena.record(n.rec, -1)
	return name
}

// data returns n's data, nil if it has none. It stays valid, unchanged,
// after the lock is released.
func (t *tree) data(n *node) []byte {
	_, data := t.arena.record(n.rec, n.dataLen)
	return data
}

// copyStat is DataNode.copyStat: the client-visible Stat.
func (t *tree) copyStat(n *node, s *Stat) {
	st := t.state(n)
	nc := t.numChildren(n)
	owner := st.owner
	if !isEphemeralOwner(owner) {
		owner = 0
	}
	*s = Stat{
		Czxid: n.czxid, Mzxid: n.mzxid, Ctime: n.ctime, Mtime: n.mtime,
		Version: n.version, Cversion: st.cversion*2 - nc, Aversion: n.aversion,
		EphemeralOwner: owner, DataLength: max(n.dataLen, 0), NumChildren: nc, Pzxid: st.pzxid,
	}
}

func (t *tree) stat(n *node) Stat {
	var s Stat
	t.copyStat(n, &s)
	return s
}

// children returns n's child names in a stable order. ZooKeeper returns its
// HashSet order, which no client may rely on; sorted is the stable choice.
// The names stay valid after the lock is released.
func (t *tree) children(n *node) []string {
	e := t.ext(n)
	if e == nil {
		return []string{}
	}
	out := make([]string, 0, e.kids.count)
	for _, id := range e.kids.slots {
		if id != 0 {
			out = append(out, t.name(t.slab.at(id)))
		}
	}
	slices.Sort(out)
	return out
}

// find returns the node at path, 0 if there is none. As in DataTree, both
// "/" and "" name the root ("" is the parent path of "/a").
func (t *tree) find(path string) nodeID {
	if path == "" || path == "/" {
		return t.root
	}
	if path[0] != '/' || t.root == 0 {
		return 0
	}
	id := t.root
	for rest := path[1:]; ; {
		name, tail, more := strings.Cut(rest, "/")
		e := t.ext(t.slab.at(id))
		if e == nil {
			return 0
		}
		if _, id = t.findChild(&e.kids, name, t.hashName(name)); id == 0 || !more {
			return id
		}
		rest = tail
	}
}

// lookup returns the node at path, nil if there is none. The pointer is
// good until the tree next changes.
func (t *tree) lookup(path string) *node {
	id := t.find(path)
	if id == 0 {
		return nil
	}
	return t.slab.at(id)
}

// size is the node count as DataTree.getNodeCount reports it: its map
// holds the root twice, under "/" and "".
func (t *tree) size() int {
	if t.root == 0 {
		return 0
	}
	return t.slab.live + 1
}

// walk calls fn for the node at id, whose path is path, and every node below
// it, parents before children. The path fn gets is only good during the
// call; fn must not change the tree.
func (t *tree) walk(id nodeID, path string, fn func(id nodeID, path []byte)) {
	buf := []byte(path)
	fn(id, buf)
	if path == "/" {
		buf = buf[:0] // the root's children are "/" + name
	}
	type frame struct {
		kids []nodeID
		plen int
	}
	var stack []frame
	if e := t.ext(t.slab.at(id)); e != nil && e.kids.count > 0 {
		stack = append(stack, frame{e.kids.slots, len(buf)})
	}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if len(f.kids) == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		child := f.kids[0]
		f.kids = f.kids[1:]
		if child == 0 {
			continue
		}
		n := t.slab.at(child)
		buf = append(append(buf[:f.plen], '/'), t.name(n)...)
		fn(child, buf)
		if e := t.ext(n); e != nil && e.kids.count > 0 {
			stack = append(stack, frame{e.kids.slots, len(buf)})
		}
	}
}

// settle drops arena chunks nothing references any more and compacts the
// arena when most of it is garbage. It runs after each whole txn: within
// a multi, an undo may still need a released record.
func (t *tree) settle() {
	t.arena.dropDead()
	if !t.arena.wasteful() {
		return
	}
	old := t.arena
	t.arena = arena{cur: -1}
	t.slab.each(func(n *node) {
		name, data := old.record(n.rec, n.dataLen)
		n.rec = t.arena.put(name, data)
	})
}

// aclOf returns n's ACL list.
func (t *tree) aclOf(n *node) *aclList { return t.acls[n.acl] }

func (t *tree) internACL(acl []ACL) aclRef {
	// Nearly every create carries the open ACL: skip building a key for it.
	if open, ok := t.aclCache[openACLKey]; ok && slices.Equal(acl, openACL) {
		return open
	}
	var b strings.Builder
	for _, a := range acl {
		b.WriteString(strconv.Itoa(int(a.Perms)))
		b.WriteByte(0)
		b.WriteString(a.Scheme)
		b.WriteByte(0)
		b.WriteString(a.ID)
		b.WriteByte(0)
	}
	key := b.String()
	if ref, ok := t.aclCache[key]; ok {
		return ref
	}
	ref := aclRef(len(t.acls))
	t.acls = append(t.acls, &aclList{acl: slices.Clone(acl)})
	t.aclCache[key] = ref
	return ref
}

// openACLKey is the cache key internACL builds for openACL.
const openACLKey = "31\x00world\x00anyone\x00"

// parentOf splits a path into parent path and child name as ZooKeeper does
// with lastIndexOf('/'): "/a" → "", "a" (and "" is the root).
func parentOf(path string) (string, string) {
	i := strings.LastIndexByte(path, '/')
	return path[:i], path[i+1:]
}

// eventParent is the parent path watch events name: "/" for the root.
func eventParent(parentPath string) string {
	if parentPath == "" {
		return "/"
	}
	return parentPath
}

// validatePath is PathUtils.validatePath: false means BadArguments.
func validatePath(path string) bool {
	if path == "" || path[0] != '/' {
		return false
	}
	if len(path) == 1 {
		return true
	}
	if path[len(path)-1] == '/' {
		return false
	}
	rs := []rune(path)
	for i := 1; i < len(rs); i++ {
		c, last := rs[i], rs[i-1]
		switch {
		case c == 0:
			return false
		case c == '/' && last == '/':
			return false
		case c == '.' && last == '.':
			if rs[i-2] == '/' && (i+1 == len(rs) || rs[i+1] == '/') {
				return false
			}
		case c == '.':
			if last == '/' && (i+1 == len(rs) || rs[i+1] == '/') {
				return false
			}
		case c > 0 && c <= 0x1f, c >= 0x7f && c <= 0x9f, c >= 0xd800 && c <= 0xf8ff,
			c >= 0xfff0, c == utf8.RuneError:
			// Java sees a rune above U+FFFF as a surrogate pair, which it rejects.
			return false
		}
	}
	return true
}

// isSpecialPath is DataTree.isSpecialPath: nodes that cannot be deleted.
func isSpecialPath(path string) bool {
	return path == "/" || path == procZookeeper || path == quotaZookeeper || path == configZookeeper
}

// watchEvent is a change a txn made, to be matched against watches.
type watchEvent struct {
	Type int32
	Path string
}

// applyResult is what a reply needs from an applied txn.
type applyResult struct {
	Path string
	Stat Stat
	Err  int32
}

// apply applies x to the tree. Events the change fires are appended to ev
// (nil during recovery). The undo function reverts exactly this change; a
// multi that fails half way uses it to leave the tree untouched. Undo
// functions find nodes by path: an undone delete puts a node back in a
// different slot.
func (t *tree) apply(x *txn, ev *[]watchEvent) (applyResult, func()) {
	res, undo := t.applyTxn(x, ev)
	if !t.recordUndo {
		t.settle()
	}
	return res, undo
}

func (t *tree) applyTxn(x *txn, ev *[]watchEvent) (applyResult, func()) {
	if x.Zxid > t.lastZxid {
		t.lastZxid = x.Zxid
	}
	switch x.Type {
	case opCreate:
		return t.applyCreate(x, ev)
	case opDelete:
		return t.applyDelete(x.Path, x.Zxid, ev)
	case opSetData:
		n := t.lookup(x.Path)
		if n == nil {
			return applyResult{Err: errNoNode}, nil
		}
		old := *n
		t.arena.release(n.rec, n.dataLen)
		n.rec, n.dataLen = t.arena.put(t.name(n), x.Data), dataLenOf(x.Data)
		n.version, n.mzxid, n.mtime = x.Version, x.Zxid, x.Time
		addEvent(ev, eventNodeDataChanged, x.Path)
		res := applyResult{Path: x.Path, Stat: t.stat(n)}
		if !t.recordUndo {
			return res, nil
		}
		path := x.Path
		return res, func() {
			n := t.lookup(path)
			t.arena.release(n.rec, n.dataLen)
			t.arena.retain(old.rec, old.dataLen)
			n.rec, n.dataLen, n.version, n.mzxid, n.mtime = old.rec, old.dataLen, old.version, old.mzxid, old.mtime
		}
	case opSetACL:
		n := t.lookup(x.Path)
		if n == nil {
			return applyResult{Err: errNoNode}, nil
		}
		oldACL, oldVersion := n.acl, n.aversion
		n.acl, n.aversion = t.internACL(x.ACL), x.Version
		res := applyResult{Path: x.Path, Stat: t.stat(n)}
		if !t.recordUndo {
			return res, nil
		}
		path := x.Path
		return res, func() {
			n := t.lookup(path)
			n.acl, n.aversion = oldACL, oldVersion
		}
	case opCreateSession:
		sid := x.Session
		t.sessions[sid] = x.Timeout
		if !t.recordUndo {
			return applyResult{}, nil
		}
		return applyResult{}, func() { delete(t.sessions, sid) }
	case opCloseSession:
		return t.applyCloseSession(x, ev)
	case opMulti:
		var undos []func()
		for i := range x.Sub {
			if _, u := t.applyTxn(&x.Sub[i], ev); u != nil {
				undos = append(undos, u)
			}
		}
		if undos == nil {
			return applyResult{}, nil
		}
		return applyResult{}, func() { undoAll(undos) }
	case opError:
		return applyResult{Err: x.Err}, nil
	}
	// opCheck changes nothing.
	return applyResult{Path: x.Path}, nil
}

func undoAll(undos []func()) {
	for i := len(undos) - 1; i >= 0; i-- {
		undos[i]()
	}
}

func addEvent(ev *[]watchEvent, typ int32, path string) {
	if ev != nil {
		*ev = append(*ev, watchEvent{Type: typ, Path: path})
	}
}

// child finds the node called name under the node at parentPath: the
// parent (0 if there is none), its child table (nil if it has no
// children), the child's slot in it and its id (0 if there is none).
func (t *tree) child(parentPath, name string) (nodeID, *childTable, int, nodeID) {
	pid := t.find(parentPath)
	if pid == 0 {
		return 0, nil, 0, 0
	}
	e := t.ext(t.slab.at(pid))
	if e == nil {
		return pid, nil, 0, 0
	}
	slot, id := t.findChild(&e.kids, name, t.hashName(name))
	return pid, &e.kids, slot, id
}

func (t *tree) applyCreate(x *txn, ev *[]watchEvent) (applyResult, func()) {
	parentPath, name := parentOf(x.Path)
	parent, _, _, existing := t.child(parentPath, name)
	if parent == 0 {
		return applyResult{Err: errNoNode}, nil
	}
	if existing != 0 {
		return applyResult{Err: errNodeExists}, nil
	}
	pe := t.extOf(t.slab.at(parent))
	oldCversion, oldPzxid := pe.cversion, pe.pzxid
	id := t.insert(parent, name, x.Data, node{
		acl: t.internACL(x.ACL), czxid: x.Zxid, mzxid: x.Zxid, ctime: x.Time, mtime: x.Time,
	}, extState{owner: x.EphemeralOwner})
	pe.cversion, pe.pzxid = x.Cversion, x.Zxid
	t.track(x.Path, x.EphemeralOwner)
	addEvent(ev, eventNodeCreated, x.Path)
	addEvent(ev, eventNodeChildrenChanged, eventParent(parentPath))
	res := applyResult{Path: x.Path, Stat: t.stat(t.slab.at(id))}
	if !t.recordUndo {
		return res, nil
	}
	path, owner := x.Path, x.EphemeralOwner
	return res, func() {
		parent, kids, slot, id := t.child(parentPath, name)
		t.unlink(kids, slot, id)
		pe := t.ext(t.slab.at(parent))
		pe.cversion, pe.pzxid = oldCversion, oldPzxid
		t.untrack(path, owner)
	}
}

func (t *tree) applyDelete(path string, zxid int64, ev *[]watchEvent) (applyResult, func()) {
	parentPath, name := parentOf(path)
	parent, kids, slot, id := t.child(parentPath, name)
	if id == 0 {
		return applyResult{Err: errNoNode}, nil
	}
	if t.numChildren(t.slab.at(id)) > 0 {
		// prep refuses this; a log replayed against it would orphan a subtree.
		return applyResult{Err: errNotEmpty}, nil
	}
	pe := t.ext(t.slab.at(parent))
	oldPzxid := pe.pzxid
	n, st := t.unlink(kids, slot, id)
	if zxid > pe.pzxid {
		pe.pzxid = zxid
	}
	t.untrack(path, st.owner)
	addEvent(ev, eventNodeDeleted, path)
	addEvent(ev, eventNodeChildrenChanged, eventParent(parentPath))
	if !t.recordUndo {
		return applyResult{Path: path}, nil
	}
	return applyResult{Path: path}, func() {
		t.arena.retain(n.rec, n.dataLen)
		parent := t.find(parentPath)
		t.link(parent, name, n, st)
		t.ext(t.slab.at(parent)).pzxid = oldPzxid
		t.track(path, st.owner)
	}
}

// applyCloseSession deletes the session's ephemerals (in path order, so that
// replay is deterministic) and forgets the session.
func (t *tree) applyCloseSession(x *txn, ev *[]watchEvent) (applyResult, func()) {
	var undos []func()
	paths := slices.Sorted(maps.Keys(t.ephemerals[x.Session]))
	for _, p := range paths {
		if _, u := t.applyDelete(p, x.Zxid, ev); u != nil {
			undos = append(undos, u)
		}
	}
	sid := x.Session
	timeout, had := t.sessions[sid]
	delete(t.sessions, sid)
	if !t.recordUndo {
		return applyResult{}, nil
	}
	return applyResult{}, func() {
		if had {
			t.sessions[sid] = timeout
		}
		undoAll(undos)
	}
}

func (t *tree) track(path string, owner int64) {
	switch {
	case owner == 0:
	case owner == containerOwner:
		t.containers[path] = struct{}{}
	case isTTLOwner(owner):
		t.ttls[path] = struct{}{}
	default:
		set := t.ephemerals[owner]
		if set == nil {
			set = make(map[string]struct{})
			t.ephemerals[owner] = set
		}
		set[path] = struct{}{}
	}
}

func (t *tree) untrack(path string, owner int64) {
	switch {
	case owner == 0:
	case owner == containerOwner:
		delete(t.containers, path)
	case isTTLOwner(owner):
		delete(t.ttls, path)
	default:
		if set := t.ephemerals[owner]; set != nil {
			delete(set, path)
			if len(set) == 0 {
				delete(t.ephemerals, owner)
			}
		}
	}
}

// countDescendants is DataTree.getAllChildrenNumber: every node below path.
func (t *tree) countDescendants(path string) int32 {
	id := t.find(path)
	if id == 0 {
		return 0
	}
	var n int32
	t.walk(id, path, func(nodeID, []byte) { n++ })
	return n - 1
}

// approximateDataSize is DataTree.approximateDataSize: the sum of path and
// data lengths over its map, which holds the root under "" as well as "/".
func (t *tree) approximateDataSize() int64 {
	if t.root == 0 {
		return 0
	}
	size := int64(max(t.slab.at(t.root).dataLen, 0))
	t.walk(t.root, "/", func(id nodeID, path []byte) {
		size += int64(len(path)) + int64(max(t.slab.at(id).dataLen, 0))
	})
	return size
}
