package zktest

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// RealTarget is the real ZooKeeper 3.8. Servers for the same Config are shared
// by every test of the test binary (a start costs seconds); Config.Dedicated
// gives a test its own. Call StopShared from TestMain after m.Run.
func RealTarget() Target {
	return Target{Name: "real", Start: startRealBackend}
}

// RealConfigLines turns a Config into the zoo.cfg lines real ZooKeeper reads.
// Keys it does not know become zookeeper.-prefixed system properties, which is
// how extendedTypesEnabled and the super digest reach it.
func RealConfigLines(cfg Config) []string {
	var lines []string
	if cfg.MinSessionTimeout != 0 {
		lines = append(lines, fmt.Sprintf("minSessionTimeout=%d", cfg.MinSessionTimeout.Milliseconds()))
	}
	if cfg.MaxSessionTimeout != 0 {
		lines = append(lines, fmt.Sprintf("maxSessionTimeout=%d", cfg.MaxSessionTimeout.Milliseconds()))
	}
	if cfg.FourLetterWords != nil {
		lines = append(lines, "4lw.commands.whitelist="+strings.Join(cfg.FourLetterWords, ","))
	}
	if cfg.ExtendedTypes {
		lines = append(lines, "extendedTypesEnabled=true")
	}
	if cfg.SuperDigest != "" {
		lines = append(lines, "DigestAuthenticationProvider.superDigest="+cfg.SuperDigest)
	}
	if cfg.FsyncOff {
		lines = append(lines, "forceSync=no")
	}
	return lines
}

var shared struct {
	sync.Mutex
	servers map[string]*RealServer
	dirs    []string
}

// StopShared stops the real servers shared between tests and removes their
// directories.
func StopShared() {
	shared.Lock()
	defer shared.Unlock()
	for _, s := range shared.servers {
		s.Stop()
	}
	for _, d := range shared.dirs {
		_ = os.RemoveAll(d)
	}
	shared.servers, shared.dirs = nil, nil
}

func startRealBackend(t testing.TB, cfg Config) Backend {
	t.Helper()
	opts := RealOptions{TickTime: int(cfg.tick().Milliseconds()), Extra: RealConfigLines(cfg)}
	if cfg.Dedicated {
		return &realBackend{s: StartReal(t, opts), owned: true}
	}
	key := fmt.Sprintf("%+v", cfg)
	shared.Lock()
	defer shared.Unlock()
	if s, ok := shared.servers[key]; ok {
		return &realBackend{s: s}
	}
	dir, err := os.MkdirTemp("", "zktest-real-")
	if err != nil {
		t.Fatalf("temp dir for a shared real ZooKeeper: %v", err)
	}
	shared.dirs = append(shared.dirs, dir)
	var s *RealServer
	for attempt := 0; attempt < 3; attempt++ {
		if s, err = startReal(dir, opts); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("start real ZooKeeper 3.8 (Debian package zookeeper, run with java): %v", err)
	}
	if shared.servers == nil {
		shared.servers = map[string]*RealServer{}
	}
	shared.servers[key] = s
	return &realBackend{s: s}
}

// realBackend adapts a RealServer to Backend. A shared server is neither
// restarted nor closed by one test.
type realBackend struct {
	s     *RealServer
	owned bool
}

func (b *realBackend) Addr() string { return b.s.Addr }

func (b *realBackend) ExpireSession(int64) error { return errors.ErrUnsupported }

func (b *realBackend) DropConnections() bool { return false }

func (b *realBackend) Restart() error {
	if !b.owned {
		return errors.New("a shared real server cannot be restarted: set Config.Dedicated")
	}
	return b.s.Restart()
}

func (b *realBackend) Close() {
	if b.owned {
		b.s.Stop()
	}
}

// Log returns the real server's log so far.
func (b *realBackend) Log() string { return b.s.Log() }
