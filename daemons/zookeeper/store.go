package zookeeper

import (
	"encoding/binary"
	"unsafe"
)

// The tree's storage. A server holding a Storm cluster's state keeps many
// small znodes, so a znode is kept in as few bytes as Go allows while every
// operation stays constant-time per path component:
//
//   - nodes live in a slab of fixed-size records without pointers (the GC
//     never scans them), addressed by a 4-byte nodeID;
//   - each node's name and data are one record in a byte arena, appended
//     once and never written again, so a reader may hold a slice of it after
//     the tree lock is released;
//   - a parent finds its children through its own open-addressing table of
//     nodeIDs (4 bytes a slot), and a path is found by walking its names
//     from the root.
//
// State only parents and ephemerals need (pzxid, cversion, the owner, the
// child table) is in a nodeExt that other nodes do without.

// nodeID names a node in the slab; 0 is no node.
type nodeID uint32

const (
	slabShift = 10
	slabChunk = 1 << slabShift // nodes per slab chunk (64 KiB)
	freeSlot  = -2             // node.dataLen of a slot on the free list
)

// nodeSlab holds the nodes in chunks that never move, so a *node stays valid
// until its slot is freed. Free slots are threaded through node.ext.
type nodeSlab struct {
	chunks []*[slabChunk]node
	next   nodeID // the lowest id never handed out
	free   nodeID // head of the free list
	live   int
}

func (s *nodeSlab) at(id nodeID) *node {
	return &s.chunks[id>>slabShift][id&(slabChunk-1)]
}

// alloc returns an id whose node is zero.
func (s *nodeSlab) alloc() nodeID {
	s.live++
	if id := s.free; id != 0 {
		n := s.at(id)
		s.free = nodeID(n.ext)
		*n = node{}
		return id
	}
	if s.next == 0 {
		s.next = 1 // id 0 is "no node"
	}
	id := s.next
	if int(id>>slabShift) == len(s.chunks) {
		s.chunks = append(s.chunks, new([slabChunk]node))
	}
	s.next++
	return id
}

func (s *nodeSlab) release(id nodeID) {
	s.live--
	*s.at(id) = node{dataLen: freeSlot, ext: extRef(s.free)}
	s.free = id
}

// each calls fn for every node in use.
func (s *nodeSlab) each(fn func(*node)) {
	for id := nodeID(1); id < s.next; id++ {
		if n := s.at(id); n.dataLen != freeSlot {
			fn(n)
		}
	}
}

// recRef locates a record in the arena: chunk index << 32 | offset.
type recRef uint64

const (
	arenaChunk = 256 << 10 // bytes per shared chunk
	// Records above a quarter of a chunk get a chunk of their own, so a
	// chunk wastes at most a quarter of itself at its end.
	arenaLarge = arenaChunk / 4
	// compactMin: below this much garbage the arena is never compacted.
	compactMin = 4 << 20
)

// arena holds the records: each is uvarint(len(name)), name, data. Bytes
// once written are never written again, as readers may hold them after
// the lock is released: a chunk nothing references any more is dropped
// for the GC to free, and compaction copies records into new chunks.
type arena struct {
	chunks [][]byte // nil once dropped
	live   []int    // bytes of each chunk still referenced
	spare  []int32  // indexes of dropped chunks, to be reused for new ones
	dead   []int32  // chunks whose live bytes fell to 0: dropped at settle
	cur    int32    // the chunk new small records go to; -1 none
	used   int      // bytes in chunks not dropped
	inUse  int      // of those, bytes still referenced
}

func recordLen(name string, dataLen int) int {
	return uvarintLen(uint64(len(name))) + len(name) + dataLen
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// put appends a record and returns where it is.
func (a *arena) put(name string, data []byte) recRef {
	size := recordLen(name, len(data))
	var c int32
	switch {
	case size > arenaLarge:
		c = a.newChunk(size)
	case a.cur < 0 || len(a.chunks[a.cur])+size > arenaChunk:
		if a.cur >= 0 && a.live[a.cur] == 0 {
			a.dead = append(a.dead, a.cur) // skipped while it was being filled
		}
		a.cur = a.newChunk(arenaChunk)
		c = a.cur
	default:
		c = a.cur
	}
	b := a.chunks[c]
	off := len(b)
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	b = append(b, data...)
	a.chunks[c] = b
	a.live[c] += size
	a.used += size
	a.inUse += size
	return recRef(uint64(c)<<32 | uint64(off))
}

func (a *arena) newChunk(capacity int) int32 {
	b := make([]byte, 0, capacity)
	if n := len(a.spare); n > 0 {
		c := a.spare[n-1]
		a.spare = a.spare[:n-1]
		a.chunks[c], a.live[c] = b, 0
		return c
	}
	a.chunks = append(a.chunks, b)
	a.live = append(a.live, 0)
	return int32(len(a.chunks) - 1)
}

// record returns the name and the data (nil for dataLen -1) stored at ref.
// Both alias the arena, which never changes them.
func (a *arena) record(ref recRef, dataLen int32) (string, []byte) {
	b := a.chunks[ref>>32][uint32(ref):]
	nameLen, k := binary.Uvarint(b)
	end := k + int(nameLen)
	name := unsafe.String(unsafe.SliceData(b[k:]), int(nameLen))
	if dataLen < 0 {
		return name, nil
	}
	data := b[end : end+int(dataLen) : end+int(dataLen)]
	return name, data
}

func (a *arena) size(ref recRef, dataLen int32) int {
	name, _ := a.record(ref, -1)
	return recordLen(name, int(max(dataLen, 0)))
}

// release marks a record as no longer referenced. Its chunk, if nothing
// else in it is, is dropped at the next settle (not now: an undo may still
// take the record back with retain).
func (a *arena) release(ref recRef, dataLen int32) {
	c, size := int32(ref>>32), a.size(ref, dataLen)
	a.live[c] -= size
	a.inUse -= size
	if a.live[c] == 0 {
		a.dead = append(a.dead, c)
	}
}

// retain undoes release.
func (a *arena) retain(ref recRef, dataLen int32) {
	c, size := int32(ref>>32), a.size(ref, dataLen)
	a.live[c] += size
	a.inUse += size
}

// dropDead drops the chunks nothing references, the one being filled
// excepted.
func (a *arena) dropDead() {
	for _, c := range a.dead {
		if a.live[c] != 0 || a.chunks[c] == nil || c == a.cur {
			continue
		}
		a.used -= len(a.chunks[c])
		a.chunks[c] = nil
		a.spare = append(a.spare, c)
	}
	a.dead = a.dead[:0]
}

// wasteful reports whether compaction would pay: at least compactMin of
// garbage, and more garbage than records in use.
func (a *arena) wasteful() bool {
	garbage := a.used - a.inUse
	return garbage >= compactMin && garbage > a.inUse
}

// childTable is a parent's set of children: open addressing with linear
// probing over nodeIDs, each node carrying its name's hash. Deletion shifts
// entries back, so there are no tombstones.
type childTable struct {
	slots []nodeID // a power of two long, or nil when empty
	count int32
}

const minChildSlots = 4

// findChild returns the slot of parent's child called name, and its id (0
// when there is none).
func (t *tree) findChild(kids *childTable, name string, h uint32) (int, nodeID) {
	if len(kids.slots) == 0 {
		return -1, 0
	}
	mask := len(kids.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		id := kids.slots[i]
		if id == 0 {
			return i, 0
		}
		if n := t.slab.at(id); n.hash == h && t.name(n) == name {
			return i, id
		}
	}
}

// addChild inserts id, known not to be in kids.
func (t *tree) addChild(kids *childTable, id nodeID) {
	if int(kids.count+1)*5 > len(kids.slots)*4 { // load above 0.8
		t.resize(kids, max(minChildSlots, 2*len(kids.slots)))
	}
	kids.count++
	t.place(kids.slots, id)
}

func (t *tree) place(slots []nodeID, id nodeID) {
	mask := len(slots) - 1
	i := int(t.slab.at(id).hash) & mask
	for slots[i] != 0 {
		i = (i + 1) & mask
	}
	slots[i] = id
}

// removeChild empties slot i, shifting back the entries after it that
// would no longer be found (Knuth's algorithm R).
func (t *tree) removeChild(kids *childTable, i int) {
	slots := kids.slots
	mask := len(slots) - 1
	for j := (i + 1) & mask; slots[j] != 0; j = (j + 1) & mask {
		home := int(t.slab.at(slots[j]).hash) & mask
		// Move slots[j] into the hole at i unless its home lies cyclically
		// in (i, j], where it would still be found.
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			slots[i] = slots[j]
			i = j
		}
	}
	slots[i] = 0
	kids.count--
	switch {
	case kids.count == 0:
		kids.slots = nil
	case len(slots) > minChildSlots && int(kids.count)*8 < len(slots):
		t.resize(kids, len(slots)/2)
	}
}

func (t *tree) resize(kids *childTable, size int) {
	old := kids.slots
	kids.slots = make([]nodeID, size)
	for _, id := range old {
		if id != 0 {
			t.place(kids.slots, id)
		}
	}
}
