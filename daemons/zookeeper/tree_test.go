package zookeeper

import (
	"testing"
	"unsafe"
)

// The tree's memory is mostly its nodes: one that grows past 96 bytes moves
// to the next Go size class (112) and costs 1.6 MB more per 100,000 znodes.
func TestNodeFitsItsSizeClass(t *testing.T) {
	if size := unsafe.Sizeof(node{}); size > 96 {
		t.Fatalf("node is %d bytes, want at most 96 (see the layout comment on node)", size)
	}
}

// A request decoded into a connection's scratch, from the reader's reused
// frame buffer: what a txn takes from it (path, data) must survive the next
// request, which overwrites both.
func TestRequestScratchIsReused(t *testing.T) {
	var s requestScratch
	e := encoder{}
	e.string("/a")
	e.buffer([]byte("one"))
	e.acls(openACL)
	e.int32(0)
	first, err := decodeRequestInto(opCreate, e.buf, &s)
	if err != nil {
		t.Fatal(err)
	}
	r := first.(*createRequest)
	path, data := r.Path, r.Data
	e = encoder{buf: e.buf[:0]} // the reader reads the next frame into the same buffer
	e.string("/b")
	e.buffer([]byte("two"))
	e.acls(openACL)
	e.int32(0)
	if _, err := decodeRequestInto(opCreate, e.buf, &s); err != nil {
		t.Fatal(err)
	}
	if path != "/a" || string(data) != "one" {
		t.Fatalf("what the first request handed out changed with the second: %q %q", path, data)
	}
	if r.Path != "/b" {
		t.Fatalf("scratch not reused: %q", r.Path)
	}
}
