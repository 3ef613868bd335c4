package zookeeper

import (
	"testing"
	"unsafe"
)

// A node is a slab slot; every byte it grows costs 100 KB per 100,000
// znodes.
func TestNodeIs64Bytes(t *testing.T) {
	if size := unsafe.Sizeof(node{}); size != 64 {
		t.Fatalf("node is %d bytes, want 64 (see the comment on node)", size)
	}
}

// A request decoded into a connection's scratch, from the reader's reused
// frame buffer: the path it hands out and the data the tree stores from it
// must survive the next request, which overwrites both.
func TestRequestScratchIsReused(t *testing.T) {
	var s requestScratch
	tr := newTree()
	frame := func(path, data string) []byte {
		e := encoder{}
		e.string(path)
		e.buffer([]byte(data))
		e.acls(openACL)
		e.int32(0)
		return e.buf
	}
	buf := frame("/a", "one")
	first, err := decodeRequestInto(opCreate, buf, &s)
	if err != nil {
		t.Fatal(err)
	}
	r := first.(*createRequest)
	tr.apply(&txn{Type: opCreate, Zxid: 1, Path: r.Path, Data: r.Data, ACL: r.ACL}, nil)
	path := r.Path
	copy(buf, frame("/b", "two")) // the reader reads the next frame into the same buffer
	if _, err := decodeRequestInto(opCreate, buf, &s); err != nil {
		t.Fatal(err)
	}
	if r.Path != "/b" {
		t.Fatalf("scratch not reused: %q", r.Path)
	}
	if got := tr.data(tr.lookup("/a")); path != "/a" || string(got) != "one" {
		t.Fatalf("what the first request left changed with the second: %q %q", path, got)
	}
}
