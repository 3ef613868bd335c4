package localcluster

import (
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/localcluster/registry"
	"github.com/localstorm/localstorm/procs"
)

// The temporary data dir of a cluster that died without removing it is
// removed by the next cluster's start; a live cluster's dir, and a dir that
// is not a marked localstorm dir, are left alone.
func TestSweepRemovesOnlyDeadClustersTempDirs(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	mk := func(name string, marked bool) string {
		dir := filepath.Join(os.TempDir(), tempDirPrefix+name)
		if err := os.MkdirAll(filepath.Join(dir, "zookeeper"), 0o755); err != nil {
			t.Fatal(err)
		}
		if marked {
			if err := os.WriteFile(filepath.Join(dir, tempDirMarker), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	leaked, live, foreign := mk("leaked-1", true), mk("live-1", true), mk("other-1", false)
	lock, err := LockDataDir(live)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()

	sweepTempDirs(slog.New(slog.DiscardHandler))
	if _, err := os.Stat(leaked); !os.IsNotExist(err) {
		t.Errorf("a dead cluster's temporary dir is still there (stat: %v)", err)
	}
	for _, dir := range []string{live, foreign} {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s was removed: %v", dir, err)
		}
	}
}

// A cluster process that has ended but was not reaped (a zombie) is not
// running: up must not say "already running", nor down wait for it.
func TestZombieIsNotAlive(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	ticks, err := procs.StartTicks(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	// Not waited for: once it exits it is a zombie, whose pid still exists.
	deadline := time.Now().Add(10 * time.Second)
	for procs.Running(pid) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the exited child %d is not a zombie: %v", pid, err)
	}
	if registry.Alive(pid, ticks) || registry.Alive(pid, 0) {
		t.Errorf("Alive(zombie %d) = %v with its start time, %v without; want false", pid, registry.Alive(pid, ticks), registry.Alive(pid, 0))
	}
}

// An external ZooKeeper that does not answer is waited for with a word every
// second, then given up on after storm.zookeeper.connection.timeout with an
// error that says what to do, not a hang.
func TestExternalZooKeeperThatNeverAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var mu sync.Mutex
	var steps []string
	_, err = Start(t.Context(), Options{
		Name:      "no-zk",
		ZooKeeper: ZooKeeperOptions{Mode: ZooKeeperExternal, Servers: []string{addr}},
		Conf:      config.Conf{config.StormZookeeperConnTimeout: 1500},
		Progress: func(step string, _ time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			steps = append(steps, step)
		},
	})
	if err == nil || !strings.Contains(err.Error(), "storm.zookeeper.connection.timeout") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Start with a silent external ZooKeeper = %v; want an error naming %s and the timeout's key", err, addr)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(steps, "waiting for zookeeper at "+addr) {
		t.Errorf("progress while waiting: %q; want a waiting step", steps)
	}
}
