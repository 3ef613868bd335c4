// Package zkembed adapts the embedded ZooKeeper (daemons/zookeeper) to zktest's
// Target, so one test body runs against it and a real ZooKeeper 3.8. It lives
// apart from zktest so that zktest does not import the server it judges.
package zkembed

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/localstorm/localstorm/daemons/zookeeper"
	"github.com/localstorm/localstorm/internal/zktest"
)

// Target is the embedded server: a fresh one per test, in memory unless the
// Config is Dedicated (then on a data dir of the test's, so Restart recovers it).
func Target() zktest.Target {
	return zktest.Target{Name: "embedded", Start: start}
}

// Targets is the embedded server and the real ZooKeeper 3.8, in that order.
func Targets() []zktest.Target {
	return []zktest.Target{Target(), zktest.RealTarget()}
}

// Options turns a zktest.Config into the embedded server's Options.
func Options(cfg zktest.Config) zookeeper.Options {
	opts := zookeeper.Options{
		TickTime:          cfg.TickTime,
		MinSessionTimeout: cfg.MinSessionTimeout,
		MaxSessionTimeout: cfg.MaxSessionTimeout,
		FourLetterWords:   cfg.FourLetterWords,
		ExtendedTypes:     cfg.ExtendedTypes,
		SuperDigest:       cfg.SuperDigest,
	}
	if opts.FourLetterWords == nil {
		opts.FourLetterWords = []string{"*"}
	}
	if cfg.FsyncOff {
		opts.Fsync = zookeeper.FsyncNever
	}
	return opts
}

func start(t testing.TB, cfg zktest.Config) zktest.Backend {
	t.Helper()
	opts := Options(cfg)
	if cfg.Dedicated {
		opts.DataDir = t.TempDir()
	}
	b := &Backend{opts: opts}
	if err := b.start(); err != nil {
		t.Fatalf("start embedded ZooKeeper: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// Backend is a running embedded server; Restart closes it and starts a new one
// on the same address and data dir.
type Backend struct {
	mu   sync.Mutex
	opts zookeeper.Options
	srv  *zookeeper.Server
}

func (b *Backend) start() error {
	srv, err := zookeeper.Start(context.Background(), b.opts)
	if err != nil {
		return err
	}
	b.srv = srv
	b.opts.Addr = srv.Addr()
	return nil
}

// Server is the running embedded server.
func (b *Backend) Server() *zookeeper.Server {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.srv
}

// Addr implements zktest.Backend.
func (b *Backend) Addr() string { return b.Server().Addr() }

// ExpireSession implements zktest.Backend with the server's hook.
func (b *Backend) ExpireSession(id int64) error { return b.Server().ExpireSession(id) }

// DropConnections implements zktest.Backend with the server's hook.
func (b *Backend) DropConnections() bool {
	b.Server().DropConnections()
	return true
}

// Restart implements zktest.Backend: a clean Close, then Start on the same
// address and data dir.
func (b *Backend) Restart() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.srv.Close(); err != nil {
		return fmt.Errorf("close embedded server before restart: %w", err)
	}
	return b.start()
}

// Close implements zktest.Backend.
func (b *Backend) Close() {
	if s := b.Server(); s != nil {
		_ = s.Close()
	}
}
