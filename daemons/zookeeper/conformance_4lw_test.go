package zookeeper_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/internal/zktest"
)

// Line patterns of 3.8's answers; values that differ between servers (versions,
// latencies, counters, addresses) are matched by shape only.
var (
	versionLine = `Zookeeper version: 3\.8\.\d+-\S+, built on \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC`
	srvrBody    = []string{
		`Latency min/avg/max: \d+/\d+(\.\d+)?/\d+`,
		`Received: \d+`,
		`Sent: \d+`,
		`Connections: \d+`,
		`Outstanding: \d+`,
		`Zxid: 0x[0-9a-f]+`,
		`Mode: standalone`,
		`Node count: \d+`,
	}
	clientLine = ` /127\.0\.0\.1:\d+\[\d+\]\(queued=\d+,recved=\d+,sent=\d+(,sid=0x[0-9a-f]+,lop=\w+,est=\d+,to=\d+,lcxid=0x[0-9a-f]+,lzxid=0x[0-9a-f]+,lresp=\d+,llat=\d+,minlat=\d+,avglat=\d+,maxlat=\d+)?\)`
)

// matchLines checks every line of out against the patterns in order; a
// pattern ending in "*" matches any number of lines (zero included).
func matchLines(t *testing.T, word, out string, patterns []string) {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("%s: answer does not end in a newline: %q", word, out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	i := 0
	for _, p := range patterns {
		repeat := strings.HasSuffix(p, "*")
		re := regexp.MustCompile("^(" + strings.TrimSuffix(p, "*") + ")$")
		if repeat {
			for i < len(lines) && re.MatchString(lines[i]) {
				i++
			}
			continue
		}
		if i >= len(lines) || !re.MatchString(lines[i]) {
			got := "end of answer"
			if i < len(lines) {
				got = fmt.Sprintf("%q", lines[i])
			}
			t.Errorf("%s line %d: %s, want /%s/\nanswer:\n%s", word, i+1, got, p, out)
			return
		}
		i++
	}
	if i != len(lines) {
		t.Errorf("%s: unexpected lines from %d on:\n%s", word, i+1, out)
	}
}

// keysOf returns the keys of "key<sep>value" lines.
func keysOf(out, sep string) []string {
	var keys []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, _, ok := strings.Cut(line, sep); ok {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestConformanceFourLetterWords(t *testing.T) {
	eachTarget(t, baseConfig, func(t *testing.T, in *zktest.Instance) {
		c := in.Connect(t)
		eph := in.Path("e")
		mustCreate(t, c, eph, nil, zk.FlagEphemeral)
		if _, _, _, err := c.GetW(eph); err != nil {
			t.Fatal(err)
		}
		sid := fmt.Sprintf("0x%x", c.SessionID())
		ask := func(word string) string {
			t.Helper()
			out, err := zktest.FourLetter(in.Addr(), word, 5*time.Second)
			if err != nil {
				t.Fatalf("%s: %v", word, err)
			}
			return out
		}

		if out := ask("ruok"); out != "imok" {
			t.Errorf("ruok = %q, want imok", out)
		}
		if out := ask("isro"); out != "rw" {
			t.Errorf("isro = %q, want rw", out)
		}
		matchLines(t, "srvr", ask("srvr"), append([]string{versionLine}, srvrBody...))
		matchLines(t, "stat", ask("stat"), append([]string{versionLine, "Clients:", clientLine + "*", ""}, srvrBody...))
		matchLines(t, "cons", ask("cons"), []string{clientLine + "*", ""})
		if out := ask("cons"); !strings.Contains(out, ",sid="+sid+",") {
			t.Errorf("cons does not list session %s:\n%s", sid, out)
		}
		matchLines(t, "wchs", ask("wchs"), []string{`\d+ connections watching \d+ paths`, `Total watches:\d+`})
		if out := ask("wchc"); !strings.Contains(out, sid+"\n\t"+eph+"\n") {
			t.Errorf("wchc does not show %s watching %s:\n%s", sid, eph, out)
		}
		matchLines(t, "wchc", ask("wchc"), []string{`(0x[0-9a-f]+|\t/.*|)*`})
		if out := ask("wchp"); !strings.Contains(out, eph+"\n\t"+sid+"\n") {
			t.Errorf("wchp does not show %s watched by %s:\n%s", eph, sid, out)
		}
		matchLines(t, "wchp", ask("wchp"), []string{`(/.*|\t0x[0-9a-f]+|)*`})
		dump := ask("dump")
		matchLines(t, "dump", dump, []string{
			"SessionTracker dump:",
			`Session Sets \(\d+\)/\(\d+\):`,
			`(\d+ expire at .*:|\t0x[0-9a-f]+)*`,
			"ephemeral nodes dump:",
			`Sessions with Ephemerals \(\d+\):`,
			`(0x[0-9a-f]+:|\t/.*)*`,
			"Connections dump:",
			`Connections Sets \(\d+\)/\(\d+\):`,
			`(\d+ expire at .*:|\tip: /127\.0\.0\.1:\d+ sessionId: 0x[0-9a-f]+)*`,
		})
		if !strings.Contains(dump, sid+":\n\t"+eph+"\n") {
			t.Errorf("dump does not list ephemeral %s of %s:\n%s", eph, sid, dump)
		}

		envi := ask("envi")
		if !strings.HasPrefix(envi, "Environment:\n") {
			t.Errorf("envi does not start with Environment: %q", envi)
		}
		wantEnv := "zookeeper.version java.version java.vendor java.home java.class.path java.library.path java.io.tmpdir java.compiler os.name os.arch os.version user.name user.home user.dir os.memory.free os.memory.max os.memory.total"
		keys := keysOf(envi, "=")
		if got := strings.Join(keys, " "); got != "zookeeper.version host.name "+strings.TrimPrefix(wantEnv, "zookeeper.version ") {
			t.Errorf("envi keys = %s", got)
		}

		conf := ask("conf")
		if got := strings.Join(keysOf(conf, "="), " "); got != "clientPort secureClientPort dataDir dataDirSize dataLogDir dataLogSize tickTime maxClientCnxns minSessionTimeout maxSessionTimeout clientPortListenBacklog serverId" {
			t.Errorf("conf keys = %s", got)
		}
		port := in.Addr()[strings.LastIndex(in.Addr(), ":")+1:]
		for _, kv := range []string{"clientPort=" + port, "tickTime=200", "minSessionTimeout=400", "maxSessionTimeout=4000", "serverId=0", "secureClientPort=-1"} {
			if !strings.Contains(conf, "\n"+kv+"\n") && !strings.HasPrefix(conf, kv+"\n") {
				t.Errorf("conf lacks %s:\n%s", kv, conf)
			}
		}

		mntr := ask("mntr")
		matchLines(t, "mntr", mntr, []string{`zk_\S+\t.**`})
		have := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(mntr), "\n") {
			k, v, _ := strings.Cut(line, "\t")
			have[k] = v
		}
		for _, k := range []string{"zk_version", "zk_server_state", "zk_avg_latency", "zk_max_latency", "zk_min_latency",
			"zk_packets_received", "zk_packets_sent", "zk_num_alive_connections", "zk_outstanding_requests",
			"zk_znode_count", "zk_watch_count", "zk_ephemerals_count", "zk_approximate_data_size",
			"zk_open_file_descriptor_count", "zk_max_file_descriptor_count", "zk_uptime", "zk_global_sessions"} {
			if _, ok := have[k]; !ok {
				t.Errorf("mntr lacks %s", k)
			}
		}
		if have["zk_server_state"] != "standalone" || !strings.HasPrefix(have["zk_version"], "3.8.") {
			t.Errorf("mntr zk_server_state=%q zk_version=%q", have["zk_server_state"], have["zk_version"])
		}

		if out, err := zktest.FourLetter(in.Addr(), "xyzw", 5*time.Second); err != nil || out != "" {
			t.Errorf("unknown word: %q, %v; want the connection closed without an answer", out, err)
		}
	})
}

func TestConformanceFourLetterWhitelist(t *testing.T) {
	cfg := baseConfig
	cfg.FourLetterWords = []string{"srvr"}
	eachTarget(t, cfg, func(t *testing.T, in *zktest.Instance) {
		for _, w := range []string{"ruok", "stat", "mntr", "dump"} {
			out, err := zktest.FourLetter(in.Addr(), w, 5*time.Second)
			if want := w + " is not executed because it is not in the whitelist.\n"; err != nil || out != want {
				t.Errorf("%s = %q, %v; want %q", w, out, err, want)
			}
		}
		out, err := zktest.FourLetter(in.Addr(), "srvr", 5*time.Second)
		if err != nil || !strings.Contains(out, "Mode: standalone") {
			t.Errorf("whitelisted srvr = %q, %v", out, err)
		}
	})
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestConformanceFourLetterCounts checks the counters that are the same on
// both servers, on a server of the test's own: nodes (a fresh server has 5,
// counting the empty-path root, plus the test's root), ephemerals, watches
// (mntr counts data and child watches; wchs, like 3.8's
// DataTree.getWatchesSummary, only data watches).
func TestConformanceFourLetterCounts(t *testing.T) {
	cfg := baseConfig
	cfg.Dedicated = true
	eachTarget(t, cfg, func(t *testing.T, in *zktest.Instance) {
		c := in.Connect(t)
		mustCreate(t, c, in.Path("a"), nil, 0)
		mustCreate(t, c, in.Path("a/b"), nil, 0)
		mustCreate(t, c, in.Path("e"), nil, zk.FlagEphemeral)
		if _, _, _, err := c.GetW(in.Path("a")); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := c.ChildrenW(in.Path("a")); err != nil {
			t.Fatal(err)
		}
		srvr, err := zktest.FourLetter(in.Addr(), "srvr", 5*time.Second)
		if err != nil || !strings.Contains(srvr, "\nNode count: 9\n") {
			t.Errorf("srvr = %q, %v; want Node count: 9", srvr, err)
		}
		mntr, err := zktest.FourLetter(in.Addr(), "mntr", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		hasLine := func(t *testing.T, kv string) {
			t.Helper()
			if !strings.Contains(mntr, "\n"+kv+"\n") && !strings.HasPrefix(mntr, kv+"\n") {
				t.Errorf("mntr lacks %q:\n%s", kv, grepLines(mntr, strings.SplitN(kv, "\t", 2)[0]))
			}
		}
		for _, kv := range []string{"zk_znode_count\t9", "zk_ephemerals_count\t1", "zk_server_state\tstandalone"} {
			hasLine(t, kv)
		}
		t.Run("mntr zk_watch_count counts data and child watches", func(t *testing.T) {
			hasLine(t, "zk_watch_count\t2")
		})
		mustCreate(t, c, in.Path("kidsonly"), nil, 0)
		if _, _, _, err := c.ChildrenW(in.Path("kidsonly")); err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"wchp", "wchc"} {
			out, err := zktest.FourLetter(in.Addr(), w, 5*time.Second)
			if err != nil || !strings.Contains(out, in.Path("a")) || strings.Contains(out, in.Path("kidsonly")) {
				t.Errorf("%s = %q, %v; want the data watch on %s and not the child-only watch", w, out, err, in.Path("a"))
			}
		}
		wchs, err := zktest.FourLetter(in.Addr(), "wchs", 5*time.Second)
		if err != nil || wchs != "1 connections watching 1 paths\nTotal watches:1\n" {
			t.Errorf("wchs = %q, %v", wchs, err)
		}
	})
}
