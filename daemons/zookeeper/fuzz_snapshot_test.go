package zookeeper

import (
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// FuzzDecodeSnapshot feeds snapshot bodies that pass the checksum, which
// random bytes never do, to the snapshot decoder: it must not panic, and a
// tree it accepts must come back the same from its own snapshot.
func FuzzDecodeSnapshot(f *testing.F) {
	tr := newTree()
	for i, p := range []string{"/a", "/a/b", "/a/b/c", "/é", "/a/longer-name"} {
		tr.apply(&txn{Type: opCreate, Zxid: int64(i + 1), Path: p, Data: []byte(p), ACL: openACL, Cversion: 1}, nil)
	}
	tr.apply(&txn{Type: opCreate, Zxid: 9, Path: "/a/eph", ACL: openACL, EphemeralOwner: 0x42}, nil)
	tr.sessions[0x42] = 4000
	valid := encodeSnapshot(tr)
	f.Add(valid[len(snapshotMagic) : len(valid)-4])
	empty := encodeSnapshot(newTree())
	f.Add(empty[len(snapshotMagic) : len(empty)-4])
	f.Fuzz(func(t *testing.T, body []byte) {
		data := append([]byte(snapshotMagic), body...)
		data = binary.BigEndian.AppendUint32(data, crc32.Checksum(data, crcTable))
		got, err := decodeSnapshot(data)
		if err != nil {
			return
		}
		again, err := decodeSnapshot(encodeSnapshot(got))
		if err != nil {
			t.Fatalf("a decoded snapshot does not decode again: %v", err)
		}
		a, b := dumpTree(got), dumpTree(again)
		if len(a) != len(b) {
			t.Fatalf("%d nodes, %d after a round trip", len(a), len(b))
		}
		for p, e := range a {
			if x, ok := b[p]; !ok || x.stat != e.stat || string(x.data) != string(e.data) || (x.data == nil) != (e.data == nil) {
				t.Fatalf("%s: %+v, after a round trip %+v", p, e, x)
			}
		}
	})
}
