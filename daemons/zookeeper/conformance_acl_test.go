package zookeeper_test

import (
	"crypto/sha1"
	"encoding/base64"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/internal/zktest"
)

// digestID is DigestAuthenticationProvider's "user:base64(sha1(user:password))".
func digestID(user, password string) string {
	sum := sha1.Sum([]byte(user + ":" + password))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

func TestConformanceACLs(t *testing.T) {
	cfg := baseConfig
	cfg.SuperDigest = digestID("super", "secret")
	eachTarget(t, cfg, func(t *testing.T, in *zktest.Instance) {
		owner, other := in.Connect(t), in.Connect(t)
		if err := owner.AddAuth("digest", []byte("alice:pw")); err != nil {
			t.Fatal(err)
		}
		mk := func(name string, acl []zk.ACL) string {
			t.Helper()
			p := in.Path(name)
			if _, err := owner.Create(p, []byte("d"), 0, acl); err != nil {
				t.Fatalf("create %s with %v: %v", name, acl, err)
			}
			return p
		}
		readOnly := mk("readonly", zk.WorldACL(zk.PermRead))
		digest := mk("digest", zk.DigestACL(zk.PermAll, "alice", "pw"))
		auth := mk("auth", []zk.ACL{{Perms: zk.PermAll, Scheme: "auth"}})
		ipLocal := mk("iplocal", []zk.ACL{{Perms: zk.PermRead, Scheme: "ip", ID: "127.0.0.1"}})
		ipNet := mk("ipnet", []zk.ACL{{Perms: zk.PermRead, Scheme: "ip", ID: "127.0.0.0/8"}})
		ipOther := mk("ipother", []zk.ACL{{Perms: zk.PermRead, Scheme: "ip", ID: "10.1.2.3"}})

		get := func(c *zktest.Client, p string) error { _, _, err := c.Get(p); return err }
		set := func(c *zktest.Client, p string) error { _, err := c.Set(p, nil, -1); return err }
		cases := []struct {
			name string
			err  error
			do   func() error
		}{
			{"world read on read-only", nil, func() error { return get(other, readOnly) }},
			{"world write on read-only", zk.ErrNoAuth, func() error { return set(other, readOnly) }},
			{"digest read without auth", zk.ErrNoAuth, func() error { return get(other, digest) }},
			{"digest read by owner", nil, func() error { return get(owner, digest) }},
			{"auth scheme stored as the creator's digest", nil, func() error {
				acl, _, err := owner.GetACL(auth)
				if err == nil && (len(acl) != 1 || acl[0].Scheme != "digest" || acl[0].ID != digestID("alice", "pw")) {
					t.Errorf("getACL of an auth-scheme node = %+v", acl)
				}
				return err
			}},
			{"getACL needs READ or ADMIN", zk.ErrNoAuth, func() error { _, _, err := other.GetACL(digest); return err }},
			{"getACL with READ", nil, func() error { _, _, err := other.GetACL(readOnly); return err }},
			{"ip 127.0.0.1", nil, func() error { return get(other, ipLocal) }},
			{"ip 127.0.0.0/8", nil, func() error { return get(other, ipNet) }},
			{"ip 10.1.2.3", zk.ErrNoAuth, func() error { return get(other, ipOther) }},
			{"setACL without ADMIN", zk.ErrNoAuth, func() error { _, err := other.SetACL(digest, worldACL, -1); return err }},
			{"delete child without DELETE", zk.ErrNoAuth, func() error {
				_, err := owner.Create(readOnly+"x", nil, 0, worldACL)
				if err != nil {
					return err
				}
				return other.Delete(digest+"/none", -1)
			}},
			{"digest after addAuth", nil, func() error {
				if err := other.AddAuth("digest", []byte("alice:pw")); err != nil {
					return err
				}
				return set(other, digest)
			}},
			{"super digest reads everything", nil, func() error {
				super := in.Connect(t)
				if err := super.AddAuth("digest", []byte("super:secret")); err != nil {
					return err
				}
				return get(super, ipOther)
			}},
			{"invalid digest id", zk.ErrInvalidACL, func() error {
				_, err := owner.Create(in.Path("bad"), nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: "nocolon"}})
				return err
			}},
			{"invalid ip", zk.ErrInvalidACL, func() error {
				_, err := owner.Create(in.Path("badip"), nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: "300.1.1.1"}})
				return err
			}},
		}
		for _, tc := range cases {
			if err := tc.do(); err != tc.err {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
			}
		}
	})
}

func TestConformanceTTLNodes(t *testing.T) {
	t.Run("without extended types", func(t *testing.T) {
		eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
			r := mustConnect(t, in.Addr())
			before := in.Zxid(t)
			req := (&enc{}).str(in.Path("ttl")).buf(nil).acls(openACL).i32(zk.FlagTTL).i64(60000).b
			if code, _ := r.mustCall(opCreateTTL, req); code != errUnimplemented {
				t.Fatalf("createTTL without extendedTypesEnabled = %d, want Unimplemented", code)
			}
			if d := in.Zxid(t) - before; d != 1 {
				t.Fatalf("a refused createTTL moved zxid by %d, want 1", d)
			}
		})
	})
	t.Run("with extended types", func(t *testing.T) {
		cfg := baseConfig
		cfg.ExtendedTypes = true
		eachTarget(t, cfg, func(t *testing.T, in *zktest.Instance) {
			c := in.Connect(t)
			p, err := c.CreateTTL(in.Path("ttl"), []byte("x"), zk.FlagTTL, worldACL, time.Minute)
			if err != nil || p != in.Path("ttl") {
				t.Fatalf("createTTL = %q, %v", p, err)
			}
			if st := mustStat(t, c, p); st.EphemeralOwner != 0 || st.DataLength != 1 {
				t.Fatalf("TTL node stat = %+v, want ephemeralOwner 0", st)
			}
			seq, err := c.CreateTTL(in.Path("s-"), nil, zk.FlagPersistentSequentialWithTTL, worldACL, time.Minute)
			if err != nil || seq != in.Path("s-0000000001") {
				t.Fatalf("sequential TTL create = %q, %v", seq, err)
			}
			r := mustConnect(t, in.Addr())
			for _, ttl := range []int64{0, -5} {
				req := (&enc{}).str(in.Path("bad")).buf(nil).acls(openACL).i32(zk.FlagTTL).i64(ttl).b
				if code, _ := r.mustCall(opCreateTTL, req); code != errBadArguments {
					t.Errorf("createTTL with ttl %d = %d, want BadArguments", ttl, code)
				}
			}
			req := (&enc{}).str(in.Path("notttl")).buf(nil).acls(openACL).i32(zk.FlagPersistent).i64(1000).b
			if code, _ := r.mustCall(opCreateTTL, req); code != errBadArguments {
				t.Errorf("createTTL with a non-TTL mode = %d, want BadArguments", code)
			}
		})
	})
}
