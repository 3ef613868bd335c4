package cluster

import (
	"maps"
	"slices"
	"sync"
)

// Stamp identifies one write of a node: its data version and ZooKeeper's
// mzxid, the zxid of the write. The version alone would not do: a node
// deleted and created again starts over at version 0, while an mzxid is
// never reused. A missing node has version -1.
type Stamp struct {
	Version int32
	Mzxid   int64
}

// stamper is a ClusterState that reads a node's stamp without its data,
// setting the watch GetVersion sets (a data watch on an existing node, an
// exists watch on a missing one: the watches of GetDataWithVersion).
type stamper interface {
	nodeStamp(path string, watch bool) (Stamp, error)
}

// recordCacheMax bounds the records kept: past it the cache starts over
// (records of removed topologies are otherwise never read again).
const recordCacheMax = 4096

// recordCache keeps the newest decoded assignment, storm base and worker
// heartbeat of each path read, with the stamp of the node as it was when
// its data was read. Nimbus reads every assignment, storm base and worker
// heartbeat once a second (the history) and at every monitor round;
// assignments and storm bases change only on submit, rebalance, kill and
// reassignment, heartbeats every task.heartbeat.frequency.secs (3 s): a
// stat that finds the node unchanged replaces a read and a JSON decode.
// The stamp is read before the data, so a write in between leaves an older
// stamp with newer data, which only costs a read more; cached data is
// never older than its stamp says. Callers get their own copy.
type recordCache struct {
	mu      sync.Mutex
	records map[string]cachedRecord
}

type cachedRecord struct {
	stamp   Stamp
	version int32 // of the data read
	value   any
}

func (c *recordCache) get(path string, stamp Stamp) (cachedRecord, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.records[path]
	if !ok || r.stamp != stamp {
		return cachedRecord{}, false
	}
	return r, true
}

func (c *recordCache) put(path string, r cachedRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.records == nil || len(c.records) >= recordCacheMax {
		c.records = map[string]cachedRecord{}
	}
	c.records[path] = r
}

func (c *recordCache) forget(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.records, path)
}

// readCached reads the record at path as readRecord does, from the cache
// when the node's stamp is the one it was cached with. clone copies a
// record so that no caller shares the cached one. A state that cannot tell
// stamps is always read.
func readCached[T any, P interface {
	*T
	record
}](s *stormState, path string, watch bool, clone func(*T) *T) (*T, int32, error) {
	st, ok := s.state.(stamper)
	if !ok {
		return readRecord[T, P](s.state, path, watch)
	}
	stamp, err := st.nodeStamp(path, watch)
	if err != nil {
		return nil, -1, err
	}
	if stamp.Version < 0 {
		s.cache.forget(path)
		return nil, -1, nil
	}
	if r, ok := s.cache.get(path, stamp); ok {
		return clone(r.value.(*T)), r.version, nil
	}
	// The watch is set already: this read finds it held and sends none.
	v, version, err := readRecord[T, P](s.state, path, watch)
	if err != nil || v == nil {
		s.cache.forget(path)
		return v, version, err
	}
	s.cache.put(path, cachedRecord{stamp: stamp, version: version, value: clone(v)})
	return v, version, nil
}

// Clone returns a deep copy of a (nil for nil).
func (a *Assignment) Clone() *Assignment {
	if a == nil {
		return nil
	}
	c := *a
	c.NodeHost = maps.Clone(a.NodeHost)
	c.Executors = slices.Clone(a.Executors)
	return &c
}

// Clone returns a deep copy of b (nil for nil).
func (b *StormBase) Clone() *StormBase {
	if b == nil {
		return nil
	}
	c := *b
	c.ComponentExecutors = maps.Clone(b.ComponentExecutors)
	c.ComponentDebug = maps.Clone(b.ComponentDebug)
	if b.TopologyActionOptions != nil {
		o := *b.TopologyActionOptions
		o.NumExecutors = maps.Clone(o.NumExecutors)
		if o.TopologyConf != nil {
			o.TopologyConf = cloneJSON(o.TopologyConf).(map[string]any)
		}
		c.TopologyActionOptions = &o
	}
	return &c
}

// Clone returns a deep copy of hb (nil for nil).
func (hb *WorkerHeartbeat) Clone() *WorkerHeartbeat {
	if hb == nil {
		return nil
	}
	c := *hb
	c.Executors = slices.Clone(hb.Executors)
	for i := range c.Executors {
		st := &c.Executors[i].Stats
		for _, m := range []*map[string]int64{&st.Emitted, &st.Transferred, &st.Acked, &st.Failed, &st.Executed} {
			*m = maps.Clone(*m)
		}
	}
	return &c
}

// cloneJSON deep-copies a decoded JSON value.
func cloneJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, e := range v {
			c[k] = cloneJSON(e)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = cloneJSON(e)
		}
		return c
	default:
		return v
	}
}
