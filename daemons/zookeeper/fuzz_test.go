package zookeeper

import (
	"bytes"
	"testing"
)

// FuzzDecodeFrame feeds arbitrary bytes to the frame reader and to every
// record decoder the server runs on client input (and to the log and
// snapshot decoders it runs on disk contents). None may panic, and none may
// accept a frame above the packet limit.
func FuzzDecodeFrame(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	const limit = 1 << 12
	f.Fuzz(func(t *testing.T, data []byte) {
		body, err := readFrame(bytes.NewReader(data), nil, limit)
		if err == nil && len(body) > limit {
			t.Fatalf("frame of %d bytes accepted over the %d limit", len(body), limit)
		}
		_, _ = decodeConnectRequest(data)
		_, _ = decodeConnectResponse(data)
		if _, op, rest, err := decodeRequestHeader(data); err == nil {
			_, _ = decodeRequest(op, rest)
		}
		// As a connection decodes: one scratch request reused by every op.
		var scratch requestScratch
		for _, op := range []int32{opCreate, opCreateTTL, opDelete, opExists, opSetData, opSetACL, opGetChildren2,
			opSync, opCheck, opMulti, opMultiRead, opSetWatches, opSetWatches2, opAddWatch, opAuth, opRemoveWatches} {
			_, _ = decodeRequest(op, data)
			_, _ = decodeRequestInto(op, data, &scratch)
		}
		d := decoder{buf: data}
		_ = decodeTxn(&d, 0)
		_, _ = decodeSnapshot(data)
	})
}

// fuzzSeeds are well-formed frames of the records the server reads.
func fuzzSeeds() [][]byte {
	var seeds [][]byte
	cr := connectRequest{Timeout: 4000, Passwd: make([]byte, 16)}
	e := encoder{}
	cr.encode(&e)
	seeds = append(seeds, frame(e.buf), e.buf)
	cr.HasReadOnly = true
	e = encoder{}
	cr.encode(&e)
	seeds = append(seeds, e.buf)

	req := func(op int32, body func(e *encoder)) []byte {
		e := encoder{}
		e.int32(1)
		e.int32(op)
		body(&e)
		return e.buf
	}
	acl := []ACL{{Perms: permAll, Scheme: "world", ID: "anyone"}}
	seeds = append(seeds,
		req(opCreate, func(e *encoder) { (&createRequest{Path: "/a", Data: []byte("x"), ACL: acl}).encode(e, opCreate) }),
		req(opCreateTTL, func(e *encoder) {
			(&createRequest{Path: "/t", ACL: acl, Flags: modePersistentTTL, TTL: 100}).encode(e, opCreateTTL)
		}),
		req(opGetData, func(e *encoder) { e.string("/a"); e.bool(true) }),
		req(opSetData, func(e *encoder) { e.string("/a"); e.buffer([]byte("y")); e.int32(-1) }),
		req(opSetWatches, func(e *encoder) { e.int64(5); e.strings([]string{"/a"}); e.strings(nil); e.strings([]string{"/"}) }),
		req(opAuth, func(e *encoder) { e.int32(0); e.string("digest"); e.buffer([]byte("u:p")) }),
		req(opMulti, func(e *encoder) {
			e.int32(opCreate)
			e.bool(false)
			e.int32(-1)
			(&createRequest{Path: "/m", ACL: acl}).encode(e, opCreate)
			e.int32(opDelete)
			e.bool(false)
			e.int32(-1)
			e.string("/m")
			e.int32(-1)
			e.int32(-1)
			e.bool(true)
			e.int32(-1)
		}),
	)
	seeds = append(seeds, frame(seeds[len(seeds)-1]))
	x := txn{Zxid: 7, Type: opMulti, Sub: []txn{{Zxid: 7, Type: opCreate, Path: "/a", ACL: acl}, {Zxid: 7, Type: opDelete, Path: "/a"}}}
	e = encoder{}
	encodeTxn(&e, &x)
	seeds = append(seeds, e.buf, encodeSnapshot(newTree()))
	return seeds
}

func TestDecodeLimits(t *testing.T) {
	cases := []struct {
		name string
		data []byte
	}{
		{"string longer than frame", []byte{0, 0, 0, 1, 0, 0, 0, 9, 0x7f, 0xff, 0xff, 0xff}},
		{"negative string length", []byte{0, 0, 0, 1, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0xfe}},
		{"huge vector count", req3(opSetWatches, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff})},
		{"truncated multi", req3(opMulti, []byte{0, 0, 0, 1, 0})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, op, rest, err := decodeRequestHeader(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := decodeRequest(op, rest); err == nil {
				t.Fatalf("decoded a malformed %d request without error", op)
			}
		})
	}
	big := []byte{0x00, 0x10, 0x00, 0x00}
	if _, err := readFrame(bytes.NewReader(big), nil, 0xfffff); err == nil {
		t.Fatalf("frame of 0x100000 bytes accepted with limit 0xfffff")
	}
}

func req3(op int32, body []byte) []byte {
	e := encoder{}
	e.int32(1)
	e.int32(op)
	return append(e.buf, body...)
}
