package zookeeper

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"slices"
	"time"
)

// Snapshots: the whole tree and the sessions at one zxid, in one file that
// ends with a CRC of everything before it, so a corrupt snapshot is
// recognised and skipped (recover.go). Nodes are written parents first.

const snapshotMagic = "LSZKSNP1"

func msDuration(ms int32) time.Duration { return time.Duration(ms) * time.Millisecond }

// encodeSnapshot serializes the tree; the caller holds the tree lock.
func encodeSnapshot(t *tree) []byte {
	e := encoder{buf: make([]byte, 0, 1<<16)}
	e.buf = append(e.buf, snapshotMagic...)
	e.int64(t.lastZxid)
	ids := slices.Sorted(maps.Keys(t.sessions))
	e.int32(int32(len(ids)))
	for _, id := range ids {
		e.int64(id)
		e.int32(t.sessions[id])
	}
	e.int32(int32(t.slab.live))
	t.walk(t.root, "/", func(id nodeID, path []byte) {
		n := t.slab.at(id)
		st := t.state(n)
		e.int32(int32(len(path)))
		e.buf = append(e.buf, path...)
		e.buffer(t.data(n))
		e.acls(t.aclOf(n).acl)
		for _, v := range []int64{n.czxid, n.mzxid, st.pzxid, n.ctime, n.mtime, st.owner} {
			e.int64(v)
		}
		e.int32(n.version)
		e.int32(st.cversion)
		e.int32(n.aversion)
	})
	return binary.BigEndian.AppendUint32(e.buf, crc32.Checksum(e.buf, crcTable))
}

// decodeSnapshot rebuilds a tree from encodeSnapshot's bytes.
func decodeSnapshot(data []byte) (*tree, error) {
	if len(data) < len(snapshotMagic)+4 || string(data[:len(snapshotMagic)]) != snapshotMagic {
		return nil, errors.New("not a snapshot file")
	}
	body, sum := data[:len(data)-4], binary.BigEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, crcTable) != sum {
		return nil, errors.New("snapshot checksum mismatch")
	}
	d := decoder{buf: body, pos: len(snapshotMagic)}
	t := emptyTree()
	t.lastZxid = d.int64()
	for i, n := 0, d.count(12); i < n && d.err == nil; i++ {
		id := d.int64()
		t.sessions[id] = d.int32()
	}
	count := d.count(60)
	for i := 0; i < count && d.err == nil; i++ {
		p := d.string()
		data := d.buffer()
		n := node{acl: t.internACL(d.acls())}
		var st extState
		n.czxid, n.mzxid, st.pzxid, n.ctime, n.mtime, st.owner = d.int64(), d.int64(), d.int64(), d.int64(), d.int64(), d.int64()
		n.version, st.cversion, n.aversion = d.int32(), d.int32(), d.int32()
		if d.err != nil {
			break
		}
		if p == "/" {
			if t.root != 0 {
				return nil, errors.New("snapshot: two root nodes")
			}
			t.insert(0, "", data, n, st)
			t.track(p, st.owner)
			continue
		}
		if !validatePath(p) {
			return nil, fmt.Errorf("snapshot: invalid path %q", p)
		}
		parentPath, name := parentOf(p)
		parent, _, _, existing := t.child(parentPath, name)
		switch {
		case parent == 0:
			return nil, fmt.Errorf("snapshot: node %s has no parent", p)
		case existing != 0:
			return nil, fmt.Errorf("snapshot: node %s twice", p)
		}
		t.insert(parent, name, data, n, st)
		t.track(p, st.owner)
	}
	if d.err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", d.err)
	}
	if t.root == 0 {
		return nil, errors.New("snapshot has no root node")
	}
	return t, nil
}
