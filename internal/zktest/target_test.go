package zktest

import (
	"reflect"
	"testing"
	"time"
)

func TestRealConfigLines(t *testing.T) {
	cases := []struct {
		cfg  Config
		want []string
	}{
		{Config{}, nil},
		{Config{MinSessionTimeout: 1500 * time.Millisecond, MaxSessionTimeout: 9 * time.Second},
			[]string{"minSessionTimeout=1500", "maxSessionTimeout=9000"}},
		{Config{FourLetterWords: []string{"srvr", "ruok"}, ExtendedTypes: true, SuperDigest: "u:d", FsyncOff: true},
			[]string{"4lw.commands.whitelist=srvr,ruok", "extendedTypesEnabled=true",
				"DigestAuthenticationProvider.superDigest=u:d", "forceSync=no"}},
	}
	for _, tc := range cases {
		if got := RealConfigLines(tc.cfg); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("RealConfigLines(%+v) = %q, want %q", tc.cfg, got, tc.want)
		}
	}
}

// TestRealTargetInstance checks the helpers the conformance suite relies on
// against the real server: shared servers are reused, roots are unique, the
// zxid moves with writes, Restart refuses a shared server, and ExpireSession
// (by holding the client off) ends the session for real.
func TestRealTargetInstance(t *testing.T) {
	cfg := Config{TickTime: 200 * time.Millisecond}
	a := Start(t, RealTarget(), cfg)
	b := Start(t, RealTarget(), cfg)
	if a.Addr() != b.Addr() {
		t.Fatalf("two instances of one Config got servers %s and %s, want one shared", a.Addr(), b.Addr())
	}
	if a.Root == b.Root {
		t.Fatalf("two instances share root %s", a.Root)
	}
	c := a.ConnectTimeout(t, time.Second)
	before := a.Zxid(t)
	if _, err := c.Create(a.Path("eph"), nil, 1, nil); err == nil {
		t.Fatal("create with an empty ACL succeeded")
	}
	if got := a.Zxid(t); got != before+1 {
		t.Fatalf("zxid after a failed create = 0x%x, want 0x%x", got, before+1)
	}
	if err := a.Backend.Restart(); err == nil {
		t.Fatal("Restart of a shared real server did not refuse")
	}
	id := c.SessionID()
	a.ExpireSession(t, c)
	other := a.Connect(t)
	if other.SessionID() == id {
		t.Fatal("new client got the expired session's id")
	}
	StopShared()
}
