package zookeeper_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/zktest"
)

const (
	xidAuth       = -4
	opSetWatches2 = 105
	errAuthFailed = -115
)

// TestConformanceSetAuthPackets: an auth packet (xid -4) is answered with
// xid -4 and zxid 0. A scheme the server has no provider for, or one whose
// provider refuses (world), gets AuthFailed and the connection is closed;
// digest takes any string, and ip authenticates the client's own address.
func TestConformanceSetAuthPackets(t *testing.T) {
	cases := []struct {
		scheme, auth string
		want         int32
	}{
		{"digest", "alice:pw", errOK},
		{"digest", "nocolon", errOK},
		{"ip", "127.0.0.1", errOK},
		{"nosuch", "x", errAuthFailed},
		{"world", "anyone", errAuthFailed},
	}
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		for _, tc := range cases {
			t.Run(tc.scheme+" "+tc.auth, func(t *testing.T) {
				r := mustConnect(t, in.Addr())
				frame := (&enc{}).i32(xidAuth).i32(opSetAuth).i32(0).str(tc.scheme).buf([]byte(tc.auth)).b
				if err := r.writeFrame(frame); err != nil {
					t.Fatal(err)
				}
				h, _, err := r.readReply()
				if err != nil || h.xid != xidAuth || h.zxid != 0 || h.err != tc.want {
					t.Fatalf("setAuth %s %q: %+v, %v; want xid -4, zxid 0, err %d", tc.scheme, tc.auth, h, err, tc.want)
				}
				if tc.want != errOK {
					if err := r.waitClosed(); err != nil {
						t.Fatalf("setAuth %s %q refused: %v", tc.scheme, tc.auth, err)
					}
					return
				}
				if code, _ := r.mustCall(opExists, pathWatchReq("/", false)); code != errOK {
					t.Fatalf("exists after setAuth %s: %d", tc.scheme, code)
				}
			})
		}
	})
}

// TestConformanceSetWatches2 re-registers persistent and persistent-recursive
// watches after a reconnect: they fire for later changes, and missed changes
// fire nothing (3.8 only re-adds them).
func TestConformanceSetWatches2(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		writer := in.Connect(t)
		mustCreate(t, writer, in.Path("p"), nil, 0)
		mustCreate(t, writer, in.Path("r"), nil, 0)
		first := mustConnect(t, in.Addr())
		for path, mode := range map[string]int32{in.Path("p"): 0, in.Path("r"): 1} {
			if code, _ := first.mustCall(opAddWatch, (&enc{}).str(path).i32(mode).b); code != errOK {
				t.Fatalf("addWatch %s: %d", path, code)
			}
		}
		first.c.Close()
		if _, err := writer.Set(in.Path("p"), []byte("missed"), -1); err != nil {
			t.Fatal(err)
		}
		again := dialRaw(t, in.Addr())
		if resp, err := again.connect(connectReq{lastZxid: first.lastZxid, timeoutMs: 10000, sessionID: first.session.sessionID, passwd: first.session.passwd}); err != nil || resp.sessionID == 0 {
			t.Fatalf("reconnect: %+v, %v", resp, err)
		}
		req := (&enc{}).i64(first.lastZxid).strs(nil).strs(nil).strs(nil).
			strs([]string{in.Path("p")}).strs([]string{in.Path("r")}).b
		if err := again.writeFrame(append((&enc{}).i32(xidSetWatches).i32(opSetWatches2).b, req...)); err != nil {
			t.Fatal(err)
		}
		for {
			h, _, err := again.readReply()
			if err != nil {
				t.Fatalf("setWatches2 reply: %v", err)
			}
			if h.xid == xidSetWatches {
				if h.err != errOK {
					t.Fatalf("setWatches2 = %d", h.err)
				}
				break
			}
		}
		again.mustCall(opExists, pathWatchReq("/", false))
		if len(again.events) != 0 {
			t.Fatalf("setWatches2 fired %v for changes made while disconnected, want nothing", again.events)
		}
		if _, err := writer.Set(in.Path("p"), []byte("seen"), -1); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, writer, in.Path("r/k"), nil, 0)
		want := []event{{evNodeDataChanged, 3, in.Path("p")}, {evNodeCreated, 3, in.Path("r/k")}}
		deadline := time.Now().Add(10 * time.Second)
		for len(again.events) < len(want) && time.Now().Before(deadline) {
			again.mustCall(opExists, pathWatchReq("/", false))
		}
		if fmt.Sprint(again.events) != fmt.Sprint(want) {
			t.Fatalf("events after setWatches2: %v, want %v", again.events, want)
		}
	})
}

// TestConformanceACLForms: the auth scheme expands to every authenticated
// digest identity (once each; ip identities are not used), explicit ACL lists
// are kept as given (repeated ids and zero perms included), malformed ids are
// InvalidACL.
func TestConformanceACLForms(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		r := mustConnect(t, in.Addr())
		for _, a := range [][2]string{{"digest", "a:1"}, {"digest", "b:2"}, {"ip", "127.0.0.1"}, {"digest", "a:1"}} {
			if err := r.writeFrame((&enc{}).i32(xidAuth).i32(opSetAuth).i32(0).str(a[0]).buf([]byte(a[1])).b); err != nil {
				t.Fatal(err)
			}
			if h, _, err := r.readReply(); err != nil || h.err != errOK {
				t.Fatalf("auth %v: %+v, %v", a, h, err)
			}
		}
		readACL := func(path string) []acl {
			t.Helper()
			code, d := r.mustCall(opGetACL, pathReq(path))
			if code != errOK {
				t.Fatalf("getACL %s: %d", path, code)
			}
			var out []acl
			for n := d.i32(); n > 0; n-- {
				out = append(out, acl{perms: d.i32(), scheme: d.str(), id: d.str()})
			}
			return out
		}
		cases := []struct {
			name string
			acls []acl
			want int32
			read []acl
		}{
			{"auth", []acl{{31, "auth", ""}}, errOK, []acl{{31, "digest", digestID("a", "1")}, {31, "digest", digestID("b", "2")}}},
			{"explicit", []acl{{1, "world", "anyone"}, {3, "world", "anyone"}, {0, "world", "anyone"}}, errOK,
				[]acl{{1, "world", "anyone"}, {3, "world", "anyone"}, {0, "world", "anyone"}}},
			// Accepted, but without READ or ADMIN nobody may read it back.
			{"perms beyond ALL", []acl{{64, "world", "anyone"}}, errOK, nil},
			{"ip prefix 33", []acl{{31, "ip", "127.0.0.1/33"}}, errInvalidACL, nil},
			{"world someone", []acl{{31, "world", "someone"}}, errInvalidACL, nil},
		}
		for _, tc := range cases {
			p := in.Path(strings.ReplaceAll(tc.name, " ", "-"))
			if code, _ := r.mustCall(opCreate, createReq(p, nil, tc.acls, 0)); code != tc.want {
				t.Errorf("%s: create = %d, want %d", tc.name, code, tc.want)
				continue
			}
			if tc.read != nil {
				if got := readACL(p); fmt.Sprint(got) != fmt.Sprint(tc.read) {
					t.Errorf("%s: getACL = %v, want %v", tc.name, got, tc.read)
				}
			}
		}
	})
}
