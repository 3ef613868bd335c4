package zookeeper_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/internal/zktest"
)

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestConformanceSequentialNames(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		c := in.Connect(t)
		mustCreate(t, c, in.Path("q"), nil, 0)
		steps := []struct {
			do   func() (string, error)
			want string
		}{
			{func() (string, error) { return c.Create(in.Path("q/s-"), nil, zk.FlagSequence, worldACL) }, "q/s-0000000000"},
			{func() (string, error) { return c.Create(in.Path("q/plain"), nil, 0, worldACL) }, "q/plain"},
			{func() (string, error) { return c.Create(in.Path("q/e-"), nil, zk.FlagEphemeralSequential, worldACL) }, "q/e-0000000002"},
			// Deletes do not advance the parent's internal cversion.
			{func() (string, error) { return in.Path("q/plain"), c.Delete(in.Path("q/plain"), -1) }, "q/plain"},
			{func() (string, error) { return c.Create(in.Path("q/"), nil, zk.FlagSequence, worldACL) }, "q/0000000003"},
			// A failed create does not advance it either.
			{func() (string, error) {
				_, err := c.Create(in.Path("q/0000000003"), nil, 0, worldACL)
				return in.Path("q/0000000003"), expectErr("", err)(zk.ErrNodeExists)
			}, "q/0000000003"},
			{func() (string, error) { return c.Create(in.Path("q/s-"), nil, zk.FlagSequence, worldACL) }, "q/s-0000000004"},
		}
		for i, s := range steps {
			got, err := s.do()
			if err != nil || got != in.Path(s.want) {
				t.Fatalf("step %d: %q, %v; want %q", i, got, err, in.Path(s.want))
			}
		}
	})
}

// TestConformanceCreateDeleteCheckOrder pins which error wins when several apply.
func TestConformanceCreateDeleteCheckOrder(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		c := in.Connect(t)
		r := mustConnect(t, in.Addr())
		mustCreate(t, c, in.Path("eph"), nil, zk.FlagEphemeral)
		mustCreate(t, c, in.Path("full"), nil, 0)
		mustCreate(t, c, in.Path("full/kid"), nil, 0)
		// readonly lets anyone read but nobody create or delete children.
		if _, err := c.Create(in.Path("readonly"), nil, 0, zk.WorldACL(zk.PermRead|zk.PermWrite)); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name string
			op   int32
			req  []byte
			want int32
		}{
			{"create under missing parent", opCreate, createReq(in.Path("none/x"), nil, openACL, 0), errNoNode},
			{"create existing child of an ephemeral", opCreate, createReq(in.Path("eph"), nil, openACL, 0), errNodeExists},
			{"create child of an ephemeral", opCreate, createReq(in.Path("eph/x"), nil, openACL, 0), errNoChildrenForEph},
			{"create without CREATE permission", opCreate, createReq(in.Path("readonly/x"), nil, openACL, 0), errNoAuth},
			{"create with empty ACL", opCreate, createReq(in.Path("noacl"), nil, nil, 0), errInvalidACL},
			{"create with unknown scheme", opCreate, createReq(in.Path("badacl"), nil, []acl{{31, "nosuch", "x"}}, 0), errInvalidACL},
			{"create with auth scheme and no auth", opCreate, createReq(in.Path("authacl"), nil, []acl{{31, "auth", ""}}, 0), errInvalidACL},
			{"create with invalid flags", opCreate, createReq(in.Path("flags"), nil, openACL, 99), errBadArguments},
			{"delete without DELETE permission beats NoNode", opDelete, deleteReq(in.Path("readonly/none"), -1), errNoAuth},
			{"delete missing", opDelete, deleteReq(in.Path("none"), -1), errNoNode},
			{"delete BadVersion beats NotEmpty", opDelete, deleteReq(in.Path("full"), 5), errBadVersion},
			{"delete NotEmpty", opDelete, deleteReq(in.Path("full"), -1), errNotEmpty},
			{"delete root", opDelete, deleteReq("/", -1), errBadArguments},
			{"setData BadVersion", opSetData, setDataReq(in.Path("full"), nil, 3), errBadVersion},
			{"setData missing", opSetData, setDataReq(in.Path("none"), nil, -1), errNoNode},
			{"check BadVersion", opCheck, deleteReq(in.Path("full"), 3), errBadVersion},
			{"check missing", opCheck, deleteReq(in.Path("none"), 3), errNoNode},
			{"getData missing", opGetData, pathWatchReq(in.Path("none"), false), errNoNode},
			{"getChildren missing", opGetChildren, pathWatchReq(in.Path("none"), false), errNoNode},
			{"getACL missing", opGetACL, pathReq(in.Path("none")), errNoNode},
		}
		for _, tc := range cases {
			if code, _ := r.mustCall(tc.op, tc.req); code != tc.want {
				t.Errorf("%s: error %d, want %d", tc.name, code, tc.want)
			}
		}
	})
}

// TestConformancePathValidation pins the codes real ZooKeeper gives for bad paths: writes
// check the parent first for create (so a bad path under a missing parent is
// NoNode), setData validates before anything, reads just look the path up (the
// empty path is the root's key).
func TestConformancePathValidation(t *testing.T) {
	cases := []struct {
		path                             string // relative to the test root when it starts with "/"
		create, setData, getData, delete int32
	}{
		{"", errBadArguments, errBadArguments, errOK, errBadArguments},
		{"a", errBadArguments, errBadArguments, errNoNode, errBadArguments},
		{"/a/", errBadArguments, errBadArguments, errNoNode, errNoNode},
		{"/a//b", errNoNode, errBadArguments, errNoNode, errNoNode},
		{"/a/.", errBadArguments, errBadArguments, errNoNode, errNoNode},
		{"/a/..", errBadArguments, errBadArguments, errNoNode, errNoNode},
		{"/a/./b", errNoNode, errBadArguments, errNoNode, errNoNode},
		{"/a\x00b", errBadArguments, errBadArguments, errNoNode, errBadArguments},
		{"/a\x01b", errBadArguments, errBadArguments, errNoNode, errNoNode},
		{"/a\ufff0", errBadArguments, errBadArguments, errNoNode, errNoNode},
		{"/a/b\u0085", errBadArguments, errBadArguments, errNoNode, errNoNode},
	}
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		mustCreate(t, in.Connect(t), in.Path("a"), nil, 0)
		r := mustConnect(t, in.Addr())
		for _, tc := range cases {
			path := tc.path
			if strings.HasPrefix(path, "/") {
				path = in.Root + path
			}
			got := [4]int32{}
			got[0], _ = r.mustCall(opCreate, createReq(path, nil, openACL, 0))
			got[1], _ = r.mustCall(opSetData, setDataReq(path, nil, -1))
			got[2], _ = r.mustCall(opGetData, pathWatchReq(path, false))
			got[3], _ = r.mustCall(opDelete, deleteReq(path, -1))
			if want := [4]int32{tc.create, tc.setData, tc.getData, tc.delete}; got != want {
				t.Errorf("%q: create/setData/getData/delete = %v, want %v", tc.path, got, want)
			}
		}
		// A sequential create may end in "/": the suffix completes the name.
		if code, d := r.mustCall(opCreate, createReq(in.Root+"/", nil, openACL, zk.FlagSequence)); code != errOK || !strings.HasPrefix(d.str(), in.Root+"/00000") {
			t.Errorf("sequential create of %q: error %d", in.Root+"/", code)
		}
	})
}

func TestConformanceOperationReplies(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		r := mustConnect(t, in.Addr())
		code, d := r.mustCall(opCreate2, createReq(in.Path("c2"), []byte("abc"), openACL, 0))
		if code != errOK {
			t.Fatalf("create2: %d", code)
		}
		if p, st := d.str(), d.stat(); p != in.Path("c2") || st.DataLength != 3 || st.Czxid == 0 || d.err != nil {
			t.Fatalf("create2 reply = %q, %+v, %v", p, st, d.err)
		}
		if code, d := r.mustCall(opGetChildren2, pathWatchReq(in.Root, false)); code != errOK || fmt.Sprint(d.strs()) != "[c2]" || d.stat().NumChildren != 1 {
			t.Fatalf("getChildren2 = %d", code)
		}
		if code, d := r.mustCall(opSync, pathReq(in.Root)); code != errOK || d.str() != in.Root {
			t.Fatalf("sync = %d", code)
		}
		if code, d := r.mustCall(opGetACL, pathReq(in.Path("c2"))); code != errOK || d.i32() != 1 || d.i32() != 31 || d.str() != "world" || d.str() != "anyone" {
			t.Fatalf("getACL = %d", code)
		}
		if code, _ := r.mustCall(opCreate, createReq(in.Path("c2/e"), nil, openACL, zk.FlagEphemeral)); code != errOK {
			t.Fatalf("create ephemeral = %d", code)
		}
		if code, d := r.mustCall(opGetEphemerals, pathReq(in.Root)); code != errOK || fmt.Sprint(d.strs()) != fmt.Sprint([]string{in.Path("c2/e")}) {
			t.Fatalf("getEphemerals = %d", code)
		}
		if code, d := r.mustCall(opGetAllChildrenNumber, pathReq(in.Root)); code != errOK || d.i32() != 2 {
			t.Fatalf("getAllChildrenNumber = %d", code)
		}
		if code, _ := r.mustCall(opGetAllChildrenNumber, pathReq(in.Path("none"))); code != errNoNode {
			t.Fatalf("getAllChildrenNumber of a missing node = %d, want NoNode", code)
		}
		// A ping travels with xid -2 and is answered with xid -2 and the last zxid.
		if err := r.writeFrame((&enc{}).i32(xidPing).i32(opPing).b); err != nil {
			t.Fatal(err)
		}
		if h, _, err := r.readReply(); err != nil || h.xid != xidPing || h.err != 0 || h.zxid != in.Zxid(t) {
			t.Fatalf("ping reply = %+v, %v", h, err)
		}
	})
}

// TestConformanceUnknownOpcodeAndOversizedFrame: ZooKeeper's UnimplementedRequestProcessor
// answers an unknown opcode with Unimplemented (zxid -1 in the header) and then
// closes the connection; the session survives. An oversized frame closes the
// connection; other clients are not affected.
func TestConformanceUnknownOpcodeAndOversizedFrame(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		r := mustConnect(t, in.Addr())
		h, _, err := r.call(999, nil)
		if err != nil || h.err != errUnimplemented || h.zxid != -1 {
			t.Fatalf("unknown opcode: %+v, %v; want error Unimplemented with zxid -1", h, err)
		}
		if err := r.waitClosed(); err != nil {
			t.Fatalf("after an unknown opcode: %v", err)
		}
		again := dialRaw(t, in.Addr())
		resp, err := again.connect(connectReq{timeoutMs: 10000, sessionID: r.session.sessionID, passwd: r.session.passwd})
		if err != nil || resp.sessionID != r.session.sessionID {
			t.Fatalf("reconnect after an unknown opcode: %+v, %v; want the session kept", resp, err)
		}
		if code, _ := again.mustCall(opExists, pathWatchReq("/", false)); code != errOK {
			t.Fatalf("exists after reconnect = %d", code)
		}

		big := mustConnect(t, in.Addr())
		if err := big.writeFrame(make([]byte, 0xfffff+100)); err != nil {
			t.Logf("write of the oversized frame: %v", err)
		}
		if err := big.waitClosed(); err != nil {
			t.Fatalf("oversized frame: %v", err)
		}
		if code, _ := again.mustCall(opExists, pathWatchReq("/", false)); code != errOK {
			t.Fatalf("other connection after an oversized frame: %d", code)
		}
	})
}

func TestConformanceMulti(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		c := in.Connect(t)
		mustCreate(t, c, in.Path("x"), nil, 0)
		res, err := c.Multi(
			&zk.CreateRequest{Path: in.Path("a"), Data: []byte("1"), Acl: worldACL},
			&zk.SetDataRequest{Path: in.Path("x"), Data: []byte("22"), Version: 0},
			&zk.CheckVersionRequest{Path: in.Path("x"), Version: 1},
			&zk.DeleteRequest{Path: in.Path("a"), Version: 0},
		)
		if err != nil || len(res) != 4 || res[0].String != in.Path("a") || res[1].Stat == nil || res[1].Stat.Version != 1 {
			t.Fatalf("multi = %+v, %v", res, err)
		}

		r := mustConnect(t, in.Addr())
		before := in.Zxid(t)
		ops := (&enc{}).
			i32(opCreate).bool(false).i32(-1).str(in.Path("b")).buf(nil).acls(openACL).i32(0).
			i32(opSetData).bool(false).i32(-1).str(in.Path("x")).buf([]byte("3")).i32(7).
			i32(opDelete).bool(false).i32(-1).str(in.Path("x")).i32(-1).
			i32(-1).bool(true).i32(-1).b
		h, d, err := r.call(opMulti, ops)
		if err != nil || h.err != errOK {
			t.Fatalf("failing multi: header %+v, %v; want err 0 in the header", h, err)
		}
		want := []int32{errOK, errBadVersion, errRuntimeInconsistency}
		for i, w := range want {
			typ, done, herr := d.i32(), d.bool(), d.i32()
			code := d.i32()
			if typ != opError || done || herr != w || code != w {
				t.Errorf("result %d: type %d done %v err %d/%d, want error result %d", i, typ, done, herr, code, w)
			}
		}
		if typ, done, herr := d.i32(), d.bool(), d.i32(); typ != -1 || !done || herr != -1 || d.err != nil {
			t.Errorf("done header = %d %v %d (%v)", typ, done, herr, d.err)
		}
		if ok, _, _ := c.Exists(in.Path("b")); ok {
			t.Error("a failed multi applied its create")
		}
		if in.Zxid(t) != before+1 {
			t.Errorf("failed multi moved zxid by %d, want 1", in.Zxid(t)-before)
		}
	})
}

func TestConformanceMultiRead(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		c := in.Connect(t)
		mustCreate(t, c, in.Path("k"), []byte("v"), 0)
		mustCreate(t, c, in.Path("k/c"), nil, 0)
		r := mustConnect(t, in.Addr())
		ops := (&enc{}).
			i32(opGetChildren).bool(false).i32(-1).str(in.Path("k")).bool(false).
			i32(opGetData).bool(false).i32(-1).str(in.Path("k")).bool(false).
			i32(opGetData).bool(false).i32(-1).str(in.Path("none")).bool(false).
			i32(-1).bool(true).i32(-1).b
		code, d := r.mustCall(opMultiRead, ops)
		if code != errOK {
			t.Fatalf("multiRead = %d", code)
		}
		if typ, done, e := d.i32(), d.bool(), d.i32(); typ != opGetChildren || done || e != 0 || fmt.Sprint(d.strs()) != "[c]" {
			t.Errorf("multiRead result 0: type %d done %v err %d", typ, done, e)
		}
		if typ, done, e := d.i32(), d.bool(), d.i32(); typ != opGetData || done || e != 0 || string(d.buf()) != "v" || d.stat().NumChildren != 1 {
			t.Errorf("multiRead result 1: type %d done %v err %d", typ, done, e)
		}
		if typ, done, e := d.i32(), d.bool(), d.i32(); typ != opError || done || e != errNoNode || d.i32() != errNoNode {
			t.Errorf("multiRead result 2: type %d done %v err %d", typ, done, e)
		}
		if typ, done, e := d.i32(), d.bool(), d.i32(); typ != -1 || !done || e != -1 || d.err != nil {
			t.Errorf("multiRead done header: %d %v %d %v", typ, done, e, d.err)
		}
	})
}

// TestConformanceEdgeReplies pins codes of less travelled paths, as real 3.8
// gives them: create modes through the wrong opcode, watches that a failed
// read does or does not leave behind, setACL checks.
func TestConformanceEdgeReplies(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		r := mustConnect(t, in.Addr())
		steps := []struct {
			name string
			op   int32
			req  []byte
			want int32
		}{
			{"create with the container flag", opCreate, createReq(in.Path("c4"), nil, openACL, zk.FlagContainer), errOK},
			{"create with the TTL flag", opCreate, createReq(in.Path("c5"), nil, openACL, zk.FlagTTL), errUnimplemented},
			{"create2 with the sequential TTL flag", opCreate2, createReq(in.Path("c6"), nil, openACL, zk.FlagPersistentSequentialWithTTL), errUnimplemented},
			{"createContainer with flag 0", opCreateContainer, createReq(in.Path("cc0"), nil, openACL, 0), errOK},
			{"create with flag -1", opCreate, createReq(in.Path("cm1"), nil, openACL, -1), errBadArguments},
			{"getData with watch on a missing node", opGetData, pathWatchReq(in.Path("m1"), true), errNoNode},
			{"it left no data watch", opCheckWatches, pathTypeReq(in.Path("m1"), 3), errNoWatcher},
			{"getChildren with watch on a missing node", opGetChildren, pathWatchReq(in.Path("m2"), true), errNoNode},
			{"it left no child watch", opCheckWatches, pathTypeReq(in.Path("m2"), 1), errNoWatcher},
			{"exists with watch on a missing node", opExists, pathWatchReq(in.Path("m3"), true), errNoNode},
			{"it left a data watch", opCheckWatches, pathTypeReq(in.Path("m3"), 2), errOK},
			{"setACL with an empty ACL", opSetACL, (&enc{}).str(in.Path("c4")).acls(nil).i32(-1).b, errInvalidACL},
			{"setACL with a wrong version", opSetACL, (&enc{}).str(in.Path("c4")).acls(openACL).i32(5).b, errBadVersion},
			{"setACL on a missing node", opSetACL, (&enc{}).str(in.Path("none")).acls(openACL).i32(-1).b, errNoNode},
			{"sync of a missing node", opSync, pathReq(in.Path("none")), errOK},
		}
		for _, s := range steps {
			if code, _ := r.mustCall(s.op, s.req); code != s.want {
				t.Errorf("%s: %d, want %d", s.name, code, s.want)
			}
		}
		for _, p := range []string{"c4", "cc0"} {
			if code, d := r.mustCall(opExists, pathWatchReq(in.Path(p), false)); code != errOK || d.stat().EphemeralOwner != 0 {
				t.Errorf("container %s: exists %d", p, code)
			}
		}
	})
}

// TestConformancePacketSizeBoundary: a frame of exactly jute.maxbuffer
// (0xfffff) bytes is served, one byte more closes the connection.
func TestConformancePacketSizeBoundary(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		// frame is a create request of exactly size bytes: the data buffer's
		// length prefix takes the place of an empty buffer's -1.
		frame := func(path string, size int) ([]byte, int) {
			head := (&enc{}).i32(1).i32(opCreate).b
			dataLen := size - len(head) - len(createReq(path, nil, openACL, 0))
			return append(head, createReq(path, make([]byte, dataLen), openACL, 0)...), dataLen
		}
		ok := mustConnect(t, in.Addr())
		f, dataLen := frame(in.Path("max"), 0xfffff)
		if len(f) != 0xfffff {
			t.Fatalf("built a frame of %d bytes", len(f))
		}
		if err := ok.writeFrame(f); err != nil {
			t.Fatal(err)
		}
		if h, _, err := ok.readReply(); err != nil || h.err != errOK {
			t.Fatalf("create in a frame of 0xfffff bytes: %+v, %v", h, err)
		}
		if code, d := ok.mustCall(opGetData, pathWatchReq(in.Path("max"), false)); code != errOK || len(d.buf()) != dataLen {
			t.Fatalf("getData of the largest node = %d", code)
		}
		tooBig := mustConnect(t, in.Addr())
		f, _ = frame(in.Path("over"), 0xfffff+1)
		if err := tooBig.writeFrame(f); err != nil {
			t.Logf("write: %v", err)
		}
		if err := tooBig.waitClosed(); err != nil {
			t.Fatalf("frame of 0x100000 bytes: %v", err)
		}
	})
}

// TestConformanceMalformedRequests: a request whose body does not decode as
// its opcode's record gets MarshallingError (-5) and the connection stays
// usable; a negative ACL count decodes as a null ACL list (InvalidACL); a
// multi may only hold writes and check, a multiRead only reads.
func TestConformanceMalformedRequests(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		cases := []struct {
			name string
			op   int32
			req  []byte
			want int32
		}{
			{"create with only a path", opCreate, pathReq(in.Path("x")), errMarshalling},
			{"getData without a body", opGetData, nil, errMarshalling},
			{"setData with a buffer length of -5", opSetData, (&enc{}).str(in.Path("x")).i32(-5).i32(0).b, errMarshalling},
			{"exists with a string longer than the frame", opExists, (&enc{}).i32(1000).b, errMarshalling},
			{"create with an ACL count of -3", opCreate, (&enc{}).str(in.Path("x")).buf(nil).i32(-3).i32(0).b, errInvalidACL},
			{"multi holding a getData", opMulti, (&enc{}).i32(opGetData).bool(false).i32(-1).str(in.Root).bool(false).i32(-1).bool(true).i32(-1).b, errMarshalling},
			{"multiRead holding a create", opMultiRead, (&enc{}).i32(opCreate).bool(false).i32(-1).str(in.Path("mr")).buf(nil).acls(openACL).i32(0).i32(-1).bool(true).i32(-1).b, errMarshalling},
			{"getData with trailing bytes", opGetData, append(pathWatchReq(in.Root, false), 1, 2, 3), errOK},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := mustConnect(t, in.Addr())
				if code, _ := r.mustCall(tc.op, tc.req); code != tc.want {
					t.Errorf("error %d, want %d", code, tc.want)
				}
				if code, _ := r.mustCall(opExists, pathWatchReq("/", false)); code != errOK {
					t.Errorf("exists on the same connection afterwards: %d", code)
				}
			})
		}
		if ok, _, err := in.Connect(t).Exists(in.Path("mr")); ok || err != nil {
			t.Errorf("the create inside a refused multiRead was applied (%v)", err)
		}
	})
}
