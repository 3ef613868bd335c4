package cluster

import (
	"sync"
	"sync/atomic"

	"github.com/go-zookeeper/zk"
)

// watchKind is the kind of watch a session holds on a node at the server.
type watchKind byte

const (
	dataWatch  watchKind = iota // getData or exists on an existing node
	existWatch                  // exists on a missing node
	childWatch                  // getChildren
)

type watchKey struct {
	path string // absolute
	kind watchKind
}

// watchBook remembers which watches the current session holds, so that a
// watched read of a node whose watch has not fired yet is sent without the
// watch flag. The server keeps one watch per node and kind anyway, but
// go-zookeeper keeps a channel per watched call until the watch fires: an
// owner polling an unchanged node with a callback every 100 ms would grow
// that list without bound.
//
// A watch is only recorded as held when no event for its path was handled
// between the start of the call and its reply (epochs): a recorded watch is
// always one the server holds or one whose event is still queued for the
// dispatcher, which clears the record before the callbacks run, so the owner
// re-reading from its callback sets the watch again.
type watchBook struct {
	mu    sync.Mutex
	epoch map[string]uint64 // per path: bumped by every event on the path
	held  map[watchKey]bool
	// set counts the calls that set a watch (for tests and diagnostics).
	set atomic.Int64
}

func newWatchBook() *watchBook {
	return &watchBook{epoch: map[string]uint64{}, held: map[watchKey]bool{}}
}

func (b *watchBook) holds(path string, kind watchKind) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held[watchKey{path, kind}]
}

func (b *watchBook) begin(path string) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.epoch[path]
}

// record notes a watch set by a call that began at epoch.
func (b *watchBook) record(path string, kind watchKind, epoch uint64) {
	b.set.Add(1)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.epoch[path] == epoch {
		b.held[watchKey{path, kind}] = true
	}
}

// fired forgets every watch on path: an event consumed the one that fired,
// and forgetting the others too only costs a redundant watch flag.
func (b *watchBook) fired(path string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.epoch[path]++
	for _, k := range []watchKind{dataWatch, existWatch, childWatch} {
		delete(b.held, watchKey{path, k})
	}
}

// read runs plain when the session already holds the watch, else watching,
// and records the watch that watching set.
func (b *watchBook) read(path string, kind watchKind, plain, watching func() error) error {
	if b.holds(path, kind) {
		return plain()
	}
	epoch := b.begin(path)
	if err := watching(); err != nil {
		return err
	}
	b.record(path, kind, epoch)
	return nil
}

// exists is a watched exists: it leaves the session with a data watch on an
// existing node or an exist watch on a missing one.
func (b *watchBook) exists(conn *zk.Conn, path string) (bool, *zk.Stat, error) {
	if b.holds(path, dataWatch) || b.holds(path, existWatch) {
		ok, stat, err := conn.Exists(path)
		if err != nil {
			return false, nil, err
		}
		if (ok && b.holds(path, dataWatch)) || (!ok && b.holds(path, existWatch)) {
			return ok, stat, nil
		}
	}
	epoch := b.begin(path)
	ok, stat, _, err := conn.ExistsW(path)
	if err != nil {
		return false, nil, err
	}
	kind := existWatch
	if ok {
		kind = dataWatch
	}
	b.record(path, kind, epoch)
	return ok, stat, nil
}
