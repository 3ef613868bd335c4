package zookeeper_test

// Durability of the embedded server with a data dir: restarts recover the
// tree, the zxid and the sessions; a torn log tail is cut back with a warning;
// a kill -9 with fsync on loses no acknowledged write. These are the embedded
// server's alone: the real one is not restarted by the suite's shared target.

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/daemons/zookeeper"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/internal/zktest"
	"github.com/localstorm/localstorm/internal/zktest/zkembed"
)

// childServerEnv, when set, makes the test binary run an embedded server in
// this process instead of the tests (see runChildServer).
const childServerEnv = "LOCALSTORM_ZK_CHILD_SERVER"

func TestDurabilityRestartRecoversTreeZxidAndSessions(t *testing.T) {
	cfg := baseConfig
	cfg.Dedicated = true
	in := zktest.Start(t, zkembed.Target(), cfg)
	keeper := in.ConnectTimeout(t, 4*time.Second)
	leaver := in.ConnectTimeout(t, 800*time.Millisecond)
	mustCreate(t, keeper, in.Path("data"), []byte("kept"), 0)
	mustCreate(t, keeper, in.Path("data/seq-"), nil, zk.FlagSequence)
	if _, err := keeper.Set(in.Path("data"), []byte("kept2"), -1); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, keeper, in.Path("mine"), nil, zk.FlagEphemeral)
	mustCreate(t, leaver, in.Path("theirs"), nil, zk.FlagEphemeral)
	before := mustStat(t, keeper, in.Path("data"))
	zxid := in.Zxid(t)

	leaver.Cut(true) // it will not come back within its timeout
	in.Restart(t)
	if got := in.Zxid(t); got != zxid {
		t.Fatalf("zxid after restart = 0x%x, want 0x%x", got, zxid)
	}

	// The keeper reconnects within its timeout: same session, ephemeral kept.
	data, st, err := keeper.Get(in.Path("data"))
	if err != nil || string(data) != "kept2" || *st != *before {
		t.Fatalf("data after restart = %q %+v, %v; want %q %+v", data, st, err, "kept2", before)
	}
	if st := mustStat(t, keeper, in.Path("mine")); st.EphemeralOwner != keeper.SessionID() {
		t.Fatalf("keeper's ephemeral owner = 0x%x, want 0x%x", st.EphemeralOwner, keeper.SessionID())
	}
	// The sequence continues from the recovered parent cversion.
	if p := mustCreate(t, keeper, in.Path("data/seq-"), nil, zk.FlagSequence); !strings.HasSuffix(p, "seq-0000000001") {
		t.Fatalf("sequential create after restart = %s", p)
	}
	// The leaver's session expires by its timeout after the restart.
	waitGone(t, keeper, in.Path("theirs"), 10*time.Second)
}

// waitGone waits until path no longer exists: the ephemeral of a session that
// did not come back after a restart must expire by the session timeout.
func waitGone(t *testing.T, c interface {
	Exists(string) (bool, *zk.Stat, error)
}, path string, within time.Duration) {
	t.Helper()
	testutil.Eventually(t, within, "the ephemeral "+path+" of a session that did not come back to expire after restart", func() (bool, error) {
		ok, _, err := c.Exists(path)
		return !ok, err
	})
}

// TestConformanceRestartKeepsState restarts each server on its data dir (the
// real one with SIGKILL) and checks what a client sees against the real
// server: the tree with its stats, the zxid, a session that reconnects within
// its timeout with its ephemeral, and the expiry of one that does not.
func TestConformanceRestartKeepsState(t *testing.T) {
	// Sessions are negotiated into [4s, 40s]: the keeper's 40s outlasts a
	// real server's restart on a loaded machine (over 10s seen).
	cfg := zktest.Config{TickTime: 2 * time.Second, Dedicated: true}
	eachTarget(t, cfg, func(t *testing.T, in *zktest.Instance) {
		keeper := in.ConnectTimeout(t, 40*time.Second)
		leaver := in.ConnectTimeout(t, 4*time.Second)
		mustCreate(t, keeper, in.Path("data"), []byte("v1"), 0)
		mustCreate(t, keeper, in.Path("data/seq-"), nil, zk.FlagSequence)
		if _, err := keeper.Set(in.Path("data"), []byte("v2"), -1); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, keeper, in.Path("mine"), nil, zk.FlagEphemeral)
		mustCreate(t, leaver, in.Path("theirs"), nil, zk.FlagEphemeral)
		before := mustStat(t, keeper, in.Path("data"))
		zxid := in.Zxid(t)
		leaver.Cut(true)
		defer leaver.Release()
		restartAt := time.Now()
		in.Restart(t)
		t.Logf("restart took %v", time.Since(restartAt))
		if got := in.Zxid(t); got != zxid {
			t.Errorf("zxid after restart = 0x%x, want 0x%x", got, zxid)
		}
		var data []byte
		var st *zk.Stat
		var err error
		deadline := time.Now().Add(30 * time.Second)
		for {
			// The keeper's first requests may fail while it redials.
			if data, st, err = keeper.Get(in.Path("data")); err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil || string(data) != "v2" || *st != *before {
			var states []string
			for len(keeper.Events) > 0 {
				ev := <-keeper.Events
				states = append(states, ev.State.String()+"/"+ev.Type.String())
			}
			t.Fatalf("data after restart = %q %+v, %v; want %q %+v\nkeeper's session events: %v",
				data, st, err, "v2", before, states)
		}
		if st := mustStat(t, keeper, in.Path("mine")); st.EphemeralOwner != keeper.SessionID() {
			t.Errorf("keeper's ephemeral owner = 0x%x, want 0x%x", st.EphemeralOwner, keeper.SessionID())
		}
		if p := mustCreate(t, keeper, in.Path("data/seq-"), nil, zk.FlagSequence); !strings.HasSuffix(p, "seq-0000000001") {
			t.Errorf("sequential create after restart = %s", p)
		}
		waitGone(t, keeper, in.Path("theirs"), time.Until(deadline))
	})
}

// TestDurabilityTornLogTailIsCutBack appends half a record to the newest log file of a
// cleanly closed server; the next start warns, cuts it back and serves the
// whole tree.
func TestDurabilityTornLogTailIsCutBack(t *testing.T) {
	dir := t.TempDir()
	srv, err := zookeeper.Start(t.Context(), zookeeper.Options{DataDir: dir, FourLetterWords: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := zk.Connect([]string{srv.Addr()}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := c.Create(fmt.Sprintf("/n%02d", i), []byte("v"), 0, worldACL); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	zxid, err := zktest.SrvrZxid(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "log.*"))
	if len(logs) == 0 {
		t.Fatalf("no log.* files in the data dir: persistence missing")
	}
	slices.Sort(logs)
	newest := logs[len(logs)-1]
	whole, err := os.Stat(newest)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(newest, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A record header promising 100 bytes, and only 3 of them.
	if _, err := f.Write([]byte{0, 0, 0, 100, 1, 2, 3, 4, 'a', 'b', 'c'}); err != nil {
		t.Fatal(err)
	}
	f.Close()

	logged := &testutil.Buffer{}
	srv, err = zookeeper.Start(t.Context(), zookeeper.Options{DataDir: dir, FourLetterWords: []string{"*"},
		Logger: slog.New(slog.NewTextHandler(logged, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatalf("start on a log with a torn tail: %v", err)
	}
	defer srv.Close()
	if !strings.Contains(logged.String(), "level=WARN") || !strings.Contains(logged.String(), filepath.Base(newest)) {
		t.Errorf("no warning naming %s about the torn tail; log:\n%s", filepath.Base(newest), logged.String())
	}
	if st, err := os.Stat(newest); err != nil || st.Size() != whole.Size() {
		t.Errorf("log size after recovery = %v (%v), want %d", st.Size(), err, whole.Size())
	}
	if got, _ := zktest.SrvrZxid(srv.Addr()); got != zxid {
		t.Errorf("zxid after recovery = 0x%x, want 0x%x", got, zxid)
	}
	c, _, err = zk.Connect([]string{srv.Addr()}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	kids, _, err := c.Children("/")
	if err != nil || len(kids) != 21 { // 20 and "zookeeper"
		t.Fatalf("children of / after recovery = %d %v, %v", len(kids), kids, err)
	}
	if _, err := c.Create("/after", nil, 0, worldACL); err != nil {
		t.Fatalf("write after recovery: %v", err)
	}
}

// childServer is the embedded server running in a child process.
type childServer struct {
	cmd  *exec.Cmd
	Addr string
	done chan struct{}
}

// startChildServer re-executes the test binary in server mode (see
// runChildServer in conformance_embedded_test.go) with the given environment.
func startChildServer(t testing.TB, env ...string) *childServer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{childServerEnv + "=1"}, env...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child server: %v", err)
	}
	cs := &childServer{cmd: cmd, done: make(chan struct{})}
	t.Cleanup(func() {
		_ = stdin.Close()
		cs.Kill()
	})
	addr := make(chan string, 1)
	go func() {
		defer close(cs.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
				addr <- a
			}
		}
		_ = cmd.Wait()
	}()
	select {
	case cs.Addr = <-addr:
	case <-cs.done:
		t.Fatal("child server exited before serving")
	case <-time.After(30 * time.Second):
		t.Fatal("child server did not report its address within 30s")
	}
	return cs
}

// Kill sends SIGKILL and waits for the child to be gone.
func (cs *childServer) Kill() {
	_ = cs.cmd.Process.Kill()
	select {
	case <-cs.done:
	case <-time.After(10 * time.Second):
	}
}

// TestDurabilityKill9LosesNoAcknowledgedWrite kills a child server with SIGKILL while
// eight writers are mid-stream, restarts it on the same data dir and checks
// that every write the server acknowledged is there.
func TestDurabilityKill9LosesNoAcknowledgedWrite(t *testing.T) {
	dir := t.TempDir()
	first := startChildServer(t, childDataDirEnv+"="+dir)
	c, _, err := zk.Connect([]string{first.Addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(silent{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	const writers = 8
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := fmt.Sprintf("/w%d-%d", w, i)
				if _, err := c.Create(p, []byte("x"), 0, worldACL); err != nil {
					return // the server died under this write: it was never acknowledged
				}
				mu.Lock()
				acked = append(acked, p)
				mu.Unlock()
			}
		}(w)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	first.Kill()
	close(stop)
	c.Close()
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}

	second := startChildServer(t, childDataDirEnv+"="+dir, childAddrEnv+"="+first.Addr)
	c2, _, err := zk.Connect([]string{second.Addr}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	var lost []string
	for _, p := range acked {
		if ok, _, err := c2.Exists(p); err != nil || !ok {
			lost = append(lost, p)
		}
	}
	if len(lost) > 0 {
		t.Fatalf("%d of %d acknowledged writes lost after kill -9, e.g. %v", len(lost), len(acked), lost[:min(5, len(lost))])
	}
	t.Logf("%d acknowledged writes all recovered", len(acked))
}

// silent drops go-zookeeper's log lines (reconnect attempts to a killed server).
type silent struct{}

func (silent) Printf(string, ...any) {}
