package zookeeper

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The data tree, kept as ZooKeeper's DataTree keeps it: a flat map from full
// path to node, each node holding the names of its children. Stat fields are
// stored as StatPersisted stores them (the internal cversion counts creates of
// children); copyStat turns them into what clients see.

// node is one znode.
//
// Its layout is kept to 96 bytes, a Go size class, as a tree holds many of
// them: the ACL is a 4-byte reference into the tree's interned lists, and
// the int32 fields pack with it.
type node struct {
	data     []byte
	czxid    int64
	mzxid    int64
	pzxid    int64
	ctime    int64
	mtime    int64
	owner    int64 // ephemeralOwner as persisted: session, containerOwner or TTL owner
	children map[string]struct{}
	acl      aclRef
	version  int32
	cversion int32 // internal: number of child creates
	aversion int32
}

// aclList is an interned ACL: most nodes share a handful of lists.
type aclList struct{ acl []ACL }

// aclRef names an interned aclList: its index in tree.acls.
type aclRef uint32

var openACL = []ACL{{Perms: permAll, Scheme: "world", ID: "anyone"}}

// copyStat is DataNode.copyStat: the client-visible Stat.
func (n *node) copyStat(s *Stat) {
	nc := int32(len(n.children))
	owner := n.owner
	if !isEphemeralOwner(owner) {
		owner = 0
	}
	*s = Stat{
		Czxid: n.czxid, Mzxid: n.mzxid, Ctime: n.ctime, Mtime: n.mtime,
		Version: n.version, Cversion: n.cversion*2 - nc, Aversion: n.aversion,
		EphemeralOwner: owner, DataLength: int32(len(n.data)), NumChildren: nc, Pzxid: n.pzxid,
	}
}

func (n *node) stat() Stat {
	var s Stat
	n.copyStat(&s)
	return s
}

// sortedChildren returns the child names in a stable order. ZooKeeper returns
// its HashSet order, which no client may rely on; sorted is the stable choice.
func (n *node) sortedChildren() []string {
	out := make([]string, 0, len(n.children))
	for c := range n.children {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// tree is the database: the nodes, the ephemeral index, the containers and
// TTL nodes the reaper looks at, and the sessions with their timeouts
// (ZKDatabase's sessionsWithTimeouts), all changed only by applying txns.
type tree struct {
	nodes      map[string]*node
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

func newTree() *tree {
	t := &tree{
		nodes:      make(map[string]*node),
		ephemerals: make(map[int64]map[string]struct{}),
		containers: make(map[string]struct{}),
		ttls:       make(map[string]struct{}),
		sessions:   make(map[int64]int32),
		aclCache:   make(map[string]aclRef),
	}
	open := t.internACL(openACL)
	t.setRoot(&node{acl: open, children: map[string]struct{}{"zookeeper": {}}})
	t.nodes[procZookeeper] = &node{acl: open, children: map[string]struct{}{"quota": {}, "config": {}}}
	t.nodes[quotaZookeeper] = &node{acl: open}
	// The config node is read-only for everyone (ZOOKEEPER-2014), set with
	// version -1 at start, which is why its aversion reads -1.
	t.nodes[configZookeeper] = &node{acl: t.internACL([]ACL{{Perms: permRead, Scheme: "world", ID: "anyone"}}), aversion: -1}
	return t
}

// setRoot stores the root under "/" and, as DataTree does, under "" too: the
// parent path of "/a" is "", and a lookup of "" finds the root.
func (t *tree) setRoot(n *node) {
	t.nodes["/"] = n
	t.nodes[""] = n
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

// apply applies t to the tree. Events the change fires are appended to ev
// (nil during recovery). The undo function reverts exactly this change; a
// multi that fails half way uses it to leave the tree untouched.
func (t *tree) apply(x *txn, ev *[]watchEvent) (applyResult, func()) {
	if x.Zxid > t.lastZxid {
		t.lastZxid = x.Zxid
	}
	switch x.Type {
	case opCreate:
		return t.applyCreate(x, ev)
	case opDelete:
		return t.applyDelete(x.Path, x.Zxid, ev)
	case opSetData:
		n := t.nodes[x.Path]
		if n == nil {
			return applyResult{Err: errNoNode}, nil
		}
		undo := t.undoNode(n)
		n.data, n.version, n.mzxid, n.mtime = x.Data, x.Version, x.Zxid, x.Time
		addEvent(ev, eventNodeDataChanged, x.Path)
		return applyResult{Path: x.Path, Stat: n.stat()}, undo
	case opSetACL:
		n := t.nodes[x.Path]
		if n == nil {
			return applyResult{Err: errNoNode}, nil
		}
		undo := t.undoNode(n)
		n.acl, n.aversion = t.internACL(x.ACL), x.Version
		return applyResult{Path: x.Path, Stat: n.stat()}, undo
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
			if _, u := t.apply(&x.Sub[i], ev); u != nil {
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

// undoNode returns a function that puts n back as it is now.
func (t *tree) undoNode(n *node) func() {
	if !t.recordUndo {
		return nil
	}
	old := *n
	return func() { *n = old }
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

func (t *tree) applyCreate(x *txn, ev *[]watchEvent) (applyResult, func()) {
	parentPath, name := parentOf(x.Path)
	parent := t.nodes[parentPath]
	if parent == nil {
		return applyResult{Err: errNoNode}, nil
	}
	if _, exists := t.nodes[x.Path]; exists {
		return applyResult{Err: errNodeExists}, nil
	}
	n := &node{
		data: x.Data, acl: t.internACL(x.ACL), czxid: x.Zxid, mzxid: x.Zxid, pzxid: x.Zxid,
		ctime: x.Time, mtime: x.Time, owner: x.EphemeralOwner,
	}
	oldCversion, oldPzxid := parent.cversion, parent.pzxid
	if parent.children == nil {
		parent.children = make(map[string]struct{})
	}
	parent.children[name] = struct{}{}
	parent.cversion = x.Cversion
	parent.pzxid = x.Zxid
	t.nodes[x.Path] = n
	t.track(x.Path, n.owner)
	addEvent(ev, eventNodeCreated, x.Path)
	addEvent(ev, eventNodeChildrenChanged, eventParent(parentPath))
	res := applyResult{Path: x.Path, Stat: n.stat()}
	if !t.recordUndo {
		return res, nil
	}
	path := x.Path
	return res, func() {
		delete(parent.children, name)
		parent.cversion, parent.pzxid = oldCversion, oldPzxid
		delete(t.nodes, path)
		t.untrack(path, n.owner)
	}
}

func (t *tree) applyDelete(path string, zxid int64, ev *[]watchEvent) (applyResult, func()) {
	parentPath, name := parentOf(path)
	parent, n := t.nodes[parentPath], t.nodes[path]
	if parent == nil || n == nil {
		return applyResult{Err: errNoNode}, nil
	}
	oldPzxid := parent.pzxid
	delete(parent.children, name)
	if zxid > parent.pzxid {
		parent.pzxid = zxid
	}
	delete(t.nodes, path)
	t.untrack(path, n.owner)
	addEvent(ev, eventNodeDeleted, path)
	addEvent(ev, eventNodeChildrenChanged, eventParent(parentPath))
	if !t.recordUndo {
		return applyResult{Path: path}, nil
	}
	return applyResult{Path: path}, func() {
		parent.children[name] = struct{}{}
		parent.pzxid = oldPzxid
		t.nodes[path] = n
		t.track(path, n.owner)
	}
}

// applyCloseSession deletes the session's ephemerals (in path order, so that
// replay is deterministic) and forgets the session.
func (t *tree) applyCloseSession(x *txn, ev *[]watchEvent) (applyResult, func()) {
	var undos []func()
	paths := make([]string, 0, len(t.ephemerals[x.Session]))
	for p := range t.ephemerals[x.Session] {
		paths = append(paths, p)
	}
	slices.Sort(paths)
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

// countDescendants is DataTree.getAllChildrenNumber: every node whose path
// starts with path + "/".
func (t *tree) countDescendants(path string) int32 {
	prefix := path
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	var n int32
	for p := range t.nodes {
		if p != "/" && p != "" && strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

// approximateDataSize is the sum of path and data lengths (DataTree.approximateDataSize).
func (t *tree) approximateDataSize() int64 {
	var size int64
	for p, n := range t.nodes {
		size += int64(len(p) + len(n.data))
	}
	return size
}
