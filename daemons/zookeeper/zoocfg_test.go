package zookeeper_test

import (
	"context"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/daemons/zookeeper"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/internal/zktest"
)

func TestParseZooCfg(t *testing.T) {
	cases := []struct {
		name     string
		cfg      string
		want     zookeeper.Options
		warnings []string // substrings, one per expected warning, in order
	}{
		{
			name: "Debian's sample with comments and quorum keys",
			cfg: `# The number of milliseconds of each tick
tickTime=2000
initLimit=10
syncLimit=5
dataDir=/var/lib/zookeeper
clientPort=2181
server.1=localhost:2888:3888
! another comment style
`,
			want:     zookeeper.Options{Addr: "127.0.0.1:2181", TickTime: 2 * time.Second, DataDir: "/var/lib/zookeeper"},
			warnings: []string{"line 3: initLimit ignored", "line 4: syncLimit ignored", "line 7: server.1 ignored"},
		},
		{
			name: "every key that applies",
			cfg: `tickTime = 500
dataDir: /tmp/zk
clientPort 12181
clientPortAddress=0.0.0.0
minSessionTimeout=1500
maxSessionTimeout=30000
4lw.commands.whitelist=srvr, ruok ,mntr
snapCount=5000
extendedTypesEnabled=TRUE
DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
forceSync=no
`,
			want: zookeeper.Options{Addr: "0.0.0.0:12181", TickTime: 500 * time.Millisecond, DataDir: "/tmp/zk",
				MinSessionTimeout: 1500 * time.Millisecond, MaxSessionTimeout: 30 * time.Second,
				FourLetterWords: []string{"srvr", "ruok", "mntr"}, SnapCount: 5000, ExtendedTypes: true,
				SuperDigest: "super:D/InIHSb7yEEbrWz8b9l71RjZJU=", Fsync: zookeeper.FsyncNever},
		},
		{
			name: "whitelist star, -1 timeouts, later key wins, continued line, unknown key",
			cfg: "tickTime=100\ndataDir=/d\nclientPort=1\nclientPort=2\n4lw.commands.whitelist=*\n" +
				"minSessionTimeout=-1\nmaxSessionTimeout=-1\ndataLogDir=/logs\nsomething.else=\\\n  value\nforceSync=yes\n",
			want:     zookeeper.Options{Addr: "127.0.0.1:2", TickTime: 100 * time.Millisecond, DataDir: "/d", FourLetterWords: []string{"*"}},
			warnings: []string{"line 8: dataLogDir ignored", "line 9: unknown key something.else ignored (ZooKeeper would set system property zookeeper.something.else)"},
		},
		{
			name:     "admin server and client limits",
			cfg:      "tickTime=2000\ndataDir=/d\nclientPort=0\nadmin.enableServer=false\nmaxClientCnxns=60\nautopurge.purgeInterval=1\n",
			want:     zookeeper.Options{Addr: "127.0.0.1:0", TickTime: 2 * time.Second, DataDir: "/d"},
			warnings: []string{"admin.enableServer ignored", "maxClientCnxns ignored", "autopurge.purgeInterval ignored"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, warnings, err := zookeeper.ParseZooCfg(strings.NewReader(tc.cfg))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("options:\n got %+v\nwant %+v", got, tc.want)
			}
			if len(warnings) != len(tc.warnings) {
				t.Fatalf("warnings = %q, want %d", warnings, len(tc.warnings))
			}
			for i, w := range tc.warnings {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %d = %q, want it to say %q", i, warnings[i], w)
				}
			}
		})
	}
}

func TestParseZooCfgErrors(t *testing.T) {
	base := "tickTime=2000\ndataDir=/d\nclientPort=2181\n"
	cases := []struct{ name, cfg, want string }{
		{"no dataDir", "tickTime=2000\nclientPort=1\n", "dataDir is not set"},
		{"no tickTime", "dataDir=/d\nclientPort=1\n", "tickTime is not set"},
		{"no clientPort", "tickTime=2000\ndataDir=/d\n", "clientPort is not set"},
		{"address without port", "tickTime=2000\ndataDir=/d\nclientPortAddress=127.0.0.1\n", "clientPortAddress is set but clientPort is not set"},
		{"port not a number", "tickTime=2000\ndataDir=/d\nclientPort=abc\n", `line 3: clientPort="abc"`},
		{"port out of range", "tickTime=2000\ndataDir=/d\nclientPort=70000\n", "want a port number"},
		{"tickTime zero", "tickTime=0\ndataDir=/d\nclientPort=1\n", "tickTime must be positive"},
		{"tickTime with a unit", "tickTime=2s\ndataDir=/d\nclientPort=1\n", `line 1: tickTime="2s": want a whole number of milliseconds`},
		{"min above max", base + "minSessionTimeout=9000\nmaxSessionTimeout=4000\n", "minSessionTimeout 9s is larger than maxSessionTimeout 4s"},
		{"bad snapCount", base + "snapCount=x\n", "snapCount"},
		{"bad super digest", base + "DigestAuthenticationProvider.superDigest=nocolon\n", "user:base64"},
		{"dangling continuation", base + "a=b\\", "continued line"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := zookeeper.ParseZooCfg(strings.NewReader(tc.cfg))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestZooCfgKeysMeanTheSameToRealZooKeeper runs real ZooKeeper with the keys
// ParseZooCfg reads from its "unknown key" system properties and checks their
// effect is the one ParseZooCfg gives them.
func TestZooCfgKeysMeanTheSameToRealZooKeeper(t *testing.T) {
	digest := digestID("root", "pw")
	lines := []string{"minSessionTimeout=1200", "maxSessionTimeout=2400", "extendedTypesEnabled=true",
		"DigestAuthenticationProvider.superDigest=" + digest, "4lw.commands.whitelist=srvr, conf"}
	opts, warnings, err := zookeeper.ParseZooCfg(strings.NewReader("tickTime=200\ndataDir=/d\nclientPort=0\n" + strings.Join(lines, "\n")))
	if err != nil || len(warnings) != 0 {
		t.Fatalf("parse: %v %q", err, warnings)
	}
	if !opts.ExtendedTypes || opts.SuperDigest != digest || opts.MinSessionTimeout != 1200*time.Millisecond || !reflect.DeepEqual(opts.FourLetterWords, []string{"srvr", "conf"}) {
		t.Fatalf("parsed %+v", opts)
	}
	real := zktest.StartReal(t, zktest.RealOptions{TickTime: 200, Extra: lines})
	c, _, err := zk.Connect([]string{real.Addr}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CreateTTL("/ttl", nil, zk.FlagTTL, worldACL, time.Minute); err != nil {
		t.Errorf("real ZooKeeper with extendedTypesEnabled=true refused a TTL node: %v", err)
	}
	if _, err := c.Create("/locked", nil, 0, zk.DigestACL(zk.PermAll, "someone", "else")); err != nil {
		t.Fatal(err)
	}
	if err := c.AddAuth("digest", []byte("root:pw")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Get("/locked"); err != nil {
		t.Errorf("super digest from zoo.cfg does not work on real ZooKeeper: %v", err)
	}
	if out, _ := zktest.FourLetter(real.Addr, "ruok", 2*time.Second); !strings.Contains(out, "not in the whitelist") {
		t.Errorf("ruok with whitelist \"srvr, conf\" = %q", out)
	}
	if out, _ := zktest.FourLetter(real.Addr, "conf", 2*time.Second); !strings.Contains(out, "maxSessionTimeout=2400") {
		t.Errorf("conf = %q", out)
	}
}

func TestRunStandaloneFromZooCfg(t *testing.T) {
	cfg := "tickTime=200\nclientPort=0\ndataDir=" + t.TempDir() + "\n4lw.commands.whitelist=srvr\nserver.1=localhost:2888:3888\n"
	opts, warnings, err := zookeeper.ParseZooCfg(strings.NewReader(cfg))
	if err != nil || len(warnings) != 1 {
		t.Fatalf("parse: %v, warnings %q", err, warnings)
	}
	logs := &testutil.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- zookeeper.RunStandalone(ctx, opts, logger) }()
	var addr string
	deadline := time.Now().Add(10 * time.Second)
	for addr == "" && time.Now().Before(deadline) {
		if _, rest, ok := strings.Cut(logs.String(), "addr="); ok {
			addr, _, _ = strings.Cut(rest, " ")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if addr == "" || strings.HasSuffix(addr, ":0") {
		cancel()
		t.Fatalf("RunStandalone logged no bound address: %s", logs.String())
	}
	out, err := zktest.FourLetter(addr, "srvr", 2*time.Second)
	if err != nil || !strings.Contains(out, "Mode: standalone") {
		t.Errorf("srvr on %s = %q, %v", addr, out, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunStandalone returned %v after ctx was cancelled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunStandalone did not return within 10s of ctx being cancelled")
	}
	if out, err := zktest.FourLetter(addr, "srvr", time.Second); err == nil && out != "" {
		t.Errorf("server still answers after RunStandalone returned: %q", out)
	}
	if _, _, err := zookeeper.ParseZooCfg(strings.NewReader("")); err == nil {
		t.Error("an empty zoo.cfg parsed without error")
	}
	if err := zookeeper.RunStandalone(t.Context(), zookeeper.Options{Addr: "256.0.0.1:1"}, nil); err == nil {
		t.Error("RunStandalone on an address that cannot be bound returned nil")
	}
}

// FuzzParseZooCfg: arbitrary files give options or an error, never a panic;
// accepted ones always name an address and a data dir.
func FuzzParseZooCfg(f *testing.F) {
	f.Add("tickTime=2000\ndataDir=/d\nclientPort=2181\n")
	f.Add("a\\\nb=c\n#x\n!y\nclientPort : 1\ntickTime 3\ndataDir=\\=\n")
	f.Add("4lw.commands.whitelist=,,*\nextendedTypesEnabled=true\nsnapCount=2\n")
	f.Fuzz(func(t *testing.T, cfg string) {
		opts, _, err := zookeeper.ParseZooCfg(strings.NewReader(cfg))
		if err == nil && (opts.Addr == "" || opts.DataDir == "" || opts.TickTime <= 0) {
			t.Fatalf("accepted %q as %+v", cfg, opts)
		}
	})
}
