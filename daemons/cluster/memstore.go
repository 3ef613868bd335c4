package cluster

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// MemoryStore names the in-memory ClusterState (storm.cluster.state.store):
// a ZooKeeper-shaped tree in this process, for tests of daemons that run in
// one process. States connected with the same Options.Servers share a tree;
// each state is one session (its ephemeral nodes go when it closes). It
// keeps ZooKeeper's watch semantics (one-shot data, exists and child
// watches, notifications in order) and ignores ACLs and authentication.
// Worker processes cannot reach it: a cluster with workers needs ZooKeeper.
const MemoryStore = "localstorm.cluster.MemoryStateStorageFactory"

func init() { RegisterStore(MemoryStore, connectMemory) }

// memTrees holds the trees by name (Options.Servers joined).
var memTrees = struct {
	sync.Mutex
	m map[string]*memTree
}{m: map[string]*memTree{}}

type memTree struct {
	mu       sync.Mutex
	nodes    map[string]*memNode // by absolute path; "/" always exists
	dataW    map[string]map[*memState]bool
	childW   map[string]map[*memState]bool
	sessions int64
	zxid     int64 // bumped by every write: the nodes' modification stamps
}

type memNode struct {
	data     []byte
	version  int32
	owner    *memState // ephemeral owner, nil for persistent nodes
	children map[string]bool
	nextSeq  int64
	mzxid    int64 // the tree's zxid at the node's last write
}

type memState struct {
	tree  *memTree
	root  string
	id    int64
	queue chan Event // unbounded through the pump goroutine
	in    chan Event
	done  chan struct{}

	cbMu   sync.Mutex
	cbs    map[string]func(Event)
	nextCB int
	closed bool
	wg     sync.WaitGroup
}

func connectMemory(_ context.Context, opts Options) (ClusterState, error) {
	root, err := normalizeRoot(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("connect to the memory store: %w", err)
	}
	name := strings.Join(opts.Servers, ",")
	memTrees.Lock()
	t := memTrees.m[name]
	if t == nil {
		t = &memTree{nodes: map[string]*memNode{"/": {children: map[string]bool{}}},
			dataW: map[string]map[*memState]bool{}, childW: map[string]map[*memState]bool{}}
		memTrees.m[name] = t
	}
	memTrees.Unlock()
	t.mu.Lock()
	t.sessions++
	s := &memState{tree: t, root: root, id: t.sessions, in: make(chan Event), queue: make(chan Event), done: make(chan struct{}), cbs: map[string]func(Event){}}
	t.mu.Unlock()
	s.wg.Add(2)
	go s.pump()
	go s.dispatch()
	if root != "" {
		if err := s.Mkdirs("/"); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// pump buffers events without bound, so that the tree's lock is never held
// while a callback runs; dispatch hands them to the callbacks in order.
func (s *memState) pump() {
	defer s.wg.Done()
	defer close(s.queue)
	var pending []Event
	for {
		var out chan Event
		var next Event
		if len(pending) > 0 {
			out, next = s.queue, pending[0]
		}
		select {
		case ev := <-s.in:
			pending = append(pending, ev)
		case out <- next:
			pending = pending[1:]
		case <-s.done:
			return
		}
	}
}

func (s *memState) dispatch() {
	defer s.wg.Done()
	for ev := range s.queue {
		s.cbMu.Lock()
		ids := slices.Sorted(maps.Keys(s.cbs))
		fns := make([]func(Event), 0, len(ids))
		for _, id := range ids {
			fns = append(fns, s.cbs[id])
		}
		s.cbMu.Unlock()
		for _, fn := range fns {
			fn(ev)
		}
	}
}

func (s *memState) abs(path string) (string, error) {
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("path %q is not absolute (it must start with /)", path)
	}
	if path == "/" {
		if s.root == "" {
			return "/", nil
		}
		return s.root, nil
	}
	return s.root + strings.TrimRight(path, "/"), nil
}

func (s *memState) rel(abs string) string {
	r := strings.TrimPrefix(abs, s.root)
	if r == "" {
		return "/"
	}
	return r
}

// fire delivers typ on abs to the watchers in w[abs] and forgets them
// (watches are one-shot). The tree's lock is held.
func (t *memTree) fire(w map[string]map[*memState]bool, abs string, typ EventType) {
	for st := range w[abs] {
		select {
		case st.in <- Event{Type: typ, Path: st.rel(abs)}:
		case <-st.done:
		}
	}
	delete(w, abs)
}

func (t *memTree) watch(w map[string]map[*memState]bool, abs string, s *memState) {
	if w[abs] == nil {
		w[abs] = map[*memState]bool{}
	}
	w[abs][s] = true
}

// create makes abs (its parent must exist); the lock is held.
func (t *memTree) create(abs string, data []byte, owner *memState) {
	parent := parentOf(abs)
	t.zxid++
	t.nodes[abs] = &memNode{data: slices.Clone(data), owner: owner, children: map[string]bool{}, mzxid: t.zxid}
	t.nodes[parent].children[abs[strings.LastIndexByte(abs, '/')+1:]] = true
	t.fire(t.dataW, abs, EventCreated)
	t.fire(t.childW, parent, EventChildren)
}

// mkdirs creates abs and its missing parents; the lock is held.
func (t *memTree) mkdirs(abs string) error {
	if abs == "/" || t.nodes[abs] != nil {
		return nil
	}
	parent := parentOf(abs)
	if err := t.mkdirs(parent); err != nil {
		return err
	}
	if t.nodes[parent].owner != nil {
		return fmt.Errorf("create %s: its parent is an ephemeral node, which cannot have children", abs)
	}
	t.create(abs, nil, nil)
	return nil
}

// remove deletes abs and everything below it; the lock is held.
func (t *memTree) remove(abs string) {
	n := t.nodes[abs]
	if n == nil || abs == "/" {
		return
	}
	for c := range n.children {
		t.remove(abs + "/" + c)
	}
	delete(t.nodes, abs)
	parent := parentOf(abs)
	delete(t.nodes[parent].children, abs[strings.LastIndexByte(abs, '/')+1:])
	t.fire(t.dataW, abs, EventDeleted)
	t.fire(t.childW, abs, EventDeleted)
	t.fire(t.childW, parent, EventChildren)
}

// locked resolves path and runs fn under the tree's lock.
func (s *memState) locked(path string, fn func(abs string) error) error {
	abs, err := s.abs(path)
	if err != nil {
		return err
	}
	s.cbMu.Lock()
	closed := s.closed
	s.cbMu.Unlock()
	if closed {
		return ErrClosed
	}
	s.tree.mu.Lock()
	defer s.tree.mu.Unlock()
	return fn(abs)
}

func (s *memState) write(path string, data []byte, owner *memState) error {
	return s.locked(path, func(abs string) error {
		t := s.tree
		if n := t.nodes[abs]; n != nil && (owner == nil || n.owner == owner) {
			t.zxid++
			n.data, n.version, n.mzxid = slices.Clone(data), n.version+1, t.zxid
			t.fire(t.dataW, abs, EventChanged)
			return nil
		} else if n != nil {
			t.remove(abs) // an ephemeral node of another session: take it over
		}
		if err := t.mkdirs(parentOf(abs)); err != nil {
			return err
		}
		t.create(abs, data, owner)
		return nil
	})
}

func (s *memState) SetEphemeralNode(path string, data []byte) error { return s.write(path, data, s) }

func (s *memState) SetData(path string, data []byte, _ ...ACL) error {
	return s.write(path, data, nil)
}

func (s *memState) Mkdirs(path string, _ ...ACL) error {
	return s.locked(path, s.tree.mkdirs)
}

func (s *memState) DeleteNode(path string) error {
	return s.locked(path, func(abs string) error { s.tree.remove(abs); return nil })
}

func (s *memState) CreateSequential(path string, data []byte) (string, error) {
	var created string
	err := s.locked(path, func(abs string) error {
		parent := s.tree.nodes[parentOf(abs)]
		if parent == nil {
			return fmt.Errorf("create sequential %s: no parent node", path)
		}
		created = fmt.Sprintf("%s%010d", abs, parent.nextSeq)
		parent.nextSeq++
		s.tree.create(created, data, nil)
		return nil
	})
	return s.rel(created), err
}

func (s *memState) GetDataWithVersion(path string, watch bool) ([]byte, int32, error) {
	var data []byte
	version := int32(-1)
	err := s.locked(path, func(abs string) error {
		if watch {
			s.tree.watch(s.tree.dataW, abs, s)
		}
		if n := s.tree.nodes[abs]; n != nil {
			data, version = slices.Clone(n.data), n.version
			if data == nil {
				data = []byte{}
			}
		}
		return nil
	})
	return data, version, err
}

func (s *memState) GetData(path string, watch bool) ([]byte, error) {
	data, _, err := s.GetDataWithVersion(path, watch)
	return data, err
}

func (s *memState) GetVersion(path string, watch bool) (int32, error) {
	_, v, err := s.GetDataWithVersion(path, watch)
	return v, err
}

func (s *memState) nodeStamp(path string, watch bool) (Stamp, error) {
	stamp := Stamp{Version: -1}
	err := s.locked(path, func(abs string) error {
		if watch {
			s.tree.watch(s.tree.dataW, abs, s)
		}
		if n := s.tree.nodes[abs]; n != nil {
			stamp = Stamp{Version: n.version, Mzxid: n.mzxid}
		}
		return nil
	})
	return stamp, err
}

func (s *memState) GetChildren(path string, watch bool) ([]string, error) {
	var children []string
	err := s.locked(path, func(abs string) error {
		n := s.tree.nodes[abs]
		switch {
		case n == nil && watch:
			s.tree.watch(s.tree.dataW, abs, s) // hear of its creation
		case n != nil && watch:
			s.tree.watch(s.tree.childW, abs, s)
		}
		if n != nil {
			children = slices.Sorted(maps.Keys(n.children))
		}
		return nil
	})
	return children, err
}

func (s *memState) Register(fn func(Event)) string {
	s.cbMu.Lock()
	defer s.cbMu.Unlock()
	s.nextCB++
	id := fmt.Sprintf("cb-%016d", s.nextCB)
	s.cbs[id] = fn
	return id
}

func (s *memState) Unregister(id string) {
	s.cbMu.Lock()
	defer s.cbMu.Unlock()
	delete(s.cbs, id)
}

// Close ends the session: its ephemeral nodes are deleted and its
// callbacks get no more events.
func (s *memState) Close() error {
	s.cbMu.Lock()
	if s.closed {
		s.cbMu.Unlock()
		return nil
	}
	s.closed = true
	s.cbMu.Unlock()
	close(s.done)
	t := s.tree
	t.mu.Lock()
	for abs, n := range t.nodes {
		if n.owner == s {
			t.remove(abs)
		}
	}
	for _, w := range []map[string]map[*memState]bool{t.dataW, t.childW} {
		for _, set := range w {
			delete(set, s)
		}
	}
	t.mu.Unlock()
	s.wg.Wait()
	return nil
}
