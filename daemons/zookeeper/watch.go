package zookeeper

import (
	"strings"
	"sync"
)

// Watches as ZooKeeper 3.8's WatchManager keeps them: one table for data and
// exist watches and one for child watches, each a map path → watchers and
// watcher → paths, with one mode per (watcher, path). The watcher is the
// connection: watches die with it, and clients re-register them with
// setWatches after reconnecting.

type watchMode uint8

const (
	watchStandard watchMode = iota // one-shot
	watchPersistent
	watchPersistentRecursive
)

// addWatch modes on the wire (AddWatchMode).
const (
	addWatchPersistent          = 0
	addWatchPersistentRecursive = 1
)

// WatcherType of checkWatches/removeWatches.
const (
	watcherChildren = 1
	watcherData     = 2
	watcherAny      = 3
)

type watchTable struct {
	byPath    map[string]map[*conn]watchMode
	byConn    map[*conn]map[string]struct{}
	recursive int // how many recursive watches exist: parents are walked only when > 0
}

func newWatchTable() watchTable {
	return watchTable{byPath: make(map[string]map[*conn]watchMode), byConn: make(map[*conn]map[string]struct{})}
}

func (t *watchTable) add(path string, c *conn, mode watchMode) {
	ws := t.byPath[path]
	if ws == nil {
		ws = make(map[*conn]watchMode, 1)
		t.byPath[path] = ws
	}
	if old, ok := ws[c]; ok && old == watchPersistentRecursive {
		t.recursive--
	}
	ws[c] = mode // as WatcherModeManager: the newest mode wins
	if mode == watchPersistentRecursive {
		t.recursive++
	}
	ps := t.byConn[c]
	if ps == nil {
		ps = make(map[string]struct{})
		t.byConn[c] = ps
	}
	ps[path] = struct{}{}
}

func (t *watchTable) remove(path string, c *conn) bool {
	ws := t.byPath[path]
	mode, ok := ws[c]
	if !ok {
		return false
	}
	if mode == watchPersistentRecursive {
		t.recursive--
	}
	delete(ws, c)
	if len(ws) == 0 {
		delete(t.byPath, path)
	}
	if ps := t.byConn[c]; ps != nil {
		delete(ps, path)
		if len(ps) == 0 {
			delete(t.byConn, c)
		}
	}
	return true
}

func (t *watchTable) removeConn(c *conn) {
	for p := range t.byConn[c] {
		if t.byPath[p][c] == watchPersistentRecursive {
			t.recursive--
		}
		delete(t.byPath[p], c)
		if len(t.byPath[p]) == 0 {
			delete(t.byPath, p)
		}
	}
	delete(t.byConn, c)
}

func (t *watchTable) contains(path string, c *conn) bool {
	_, ok := t.byPath[path][c]
	return ok
}

// trigger is WatchManager.triggerWatch: the watchers of path fire (one-shot
// ones are removed); when recursive watches exist, so do the recursive
// watchers of every ancestor. NodeChildrenChanged never reaches a recursive
// watcher. Watchers in suppress are removed but not notified.
func (t *watchTable) trigger(path string, typ int32, suppress map[*conn]bool) map[*conn]bool {
	var fired map[*conn]bool
	p := path
	atParent := false
	for {
		for c, mode := range t.byPath[p] {
			switch {
			case mode == watchPersistentRecursive:
				if typ == eventNodeChildrenChanged {
					continue
				}
			case atParent:
				continue
			case mode == watchStandard:
				t.remove(p, c)
			}
			if fired == nil {
				fired = make(map[*conn]bool)
			}
			fired[c] = true
		}
		if t.recursive == 0 || p == "/" {
			break
		}
		p = eventParent(p[:strings.LastIndexByte(p, '/')])
		atParent = true
	}
	for c := range fired {
		if !suppress[c] {
			c.sendEvent(typ, path)
		}
	}
	return fired
}

// watchManager holds both tables behind one mutex: reads register watches
// under the tree's read lock, writes trigger them under its write lock.
type watchManager struct {
	mu    sync.Mutex
	data  watchTable
	child watchTable
}

func newWatchManager() *watchManager {
	return &watchManager{data: newWatchTable(), child: newWatchTable()}
}

// fire delivers the events of one applied txn, in order, as DataTree does.
func (w *watchManager) fire(events []watchEvent) {
	if len(events) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range events {
		switch e.Type {
		case eventNodeCreated, eventNodeDataChanged:
			w.data.trigger(e.Path, e.Type, nil)
		case eventNodeDeleted:
			fired := w.data.trigger(e.Path, e.Type, nil)
			w.child.trigger(e.Path, e.Type, fired)
		case eventNodeChildrenChanged:
			w.child.trigger(e.Path, e.Type, nil)
		}
	}
}

func (w *watchManager) addData(path string, c *conn) {
	w.mu.Lock()
	w.data.add(path, c, watchStandard)
	w.mu.Unlock()
}

func (w *watchManager) addChild(path string, c *conn) {
	w.mu.Lock()
	w.child.add(path, c, watchStandard)
	w.mu.Unlock()
}

// addPersistent is DataTree.addWatch: both tables, the given mode.
func (w *watchManager) addPersistent(path string, c *conn, mode watchMode) {
	w.mu.Lock()
	w.data.add(path, c, mode)
	w.child.add(path, c, mode)
	w.mu.Unlock()
}

func (w *watchManager) removeConn(c *conn) {
	w.mu.Lock()
	w.data.removeConn(c)
	w.child.removeConn(c)
	w.mu.Unlock()
}

// check answers checkWatches (remove=false) and removeWatches (remove=true).
func (w *watchManager) check(path string, c *conn, typ int32, remove bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	op := func(t *watchTable) bool {
		if remove {
			return t.remove(path, c)
		}
		return t.contains(path, c)
	}
	switch typ {
	case watcherChildren:
		return op(&w.child)
	case watcherData:
		return op(&w.data)
	case watcherAny:
		a := op(&w.child)
		b := op(&w.data)
		return a || b
	}
	return false
}

// watchCounts reports (connections with watches, watched paths, total watches) for wchs and mntr.
func (w *watchManager) watchCounts() (conns, paths, total int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range []*watchTable{&w.data, &w.child} {
		conns += len(t.byConn)
		paths += len(t.byPath)
		for _, ws := range t.byPath {
			total += len(ws)
		}
	}
	return conns, paths, total
}

// byConnection lists watched paths per connection (wchc), both tables merged.
func (w *watchManager) byConnection() map[*conn][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[*conn][]string)
	for _, t := range []*watchTable{&w.data, &w.child} {
		for c, ps := range t.byConn {
			for p := range ps {
				out[c] = append(out[c], p)
			}
		}
	}
	return out
}

// byPath lists watching connections per path (wchp), both tables merged.
func (w *watchManager) byPath() map[string][]*conn {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string][]*conn)
	for _, t := range []*watchTable{&w.data, &w.child} {
		for p, ws := range t.byPath {
			for c := range ws {
				out[p] = append(out[p], c)
			}
		}
	}
	return out
}
