package zookeeper_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/localstorm/localstorm/daemons/zookeeper"
	"github.com/localstorm/localstorm/internal/zktest"
	"github.com/localstorm/localstorm/internal/zktest/zkembed"
)

func init() {
	targets = append([]zktest.Target{zkembed.Target()}, targets...)
}

// Child-server mode: the test binary re-executed with childServerEnv set runs
// one embedded server so a test can kill -9 it or measure its RSS alone. The
// environment carries the options; the bound address goes to stdout as
// "ADDR host:port" once the server serves.
const (
	childDataDirEnv = "LOCALSTORM_ZK_CHILD_DATADIR"
	childAddrEnv    = "LOCALSTORM_ZK_CHILD_ADDR"
	childFsyncEnv   = "LOCALSTORM_ZK_CHILD_FSYNC" // "never" for FsyncNever
	childTickEnv    = "LOCALSTORM_ZK_CHILD_TICK_MS"
)

func runChildServer() int {
	opts := zookeeper.Options{
		Addr:            os.Getenv(childAddrEnv),
		DataDir:         os.Getenv(childDataDirEnv),
		FourLetterWords: []string{"*"},
	}
	if os.Getenv(childFsyncEnv) == "never" {
		opts.Fsync = zookeeper.FsyncNever
	}
	if ms, err := strconv.Atoi(os.Getenv(childTickEnv)); err == nil {
		opts.TickTime = time.Duration(ms) * time.Millisecond
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	srv, err := zookeeper.Start(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "child server: start: %v\n", err)
		return 1
	}
	fmt.Printf("ADDR %s\n", srv.Addr())
	// The parent ends the child by closing stdin or by a signal.
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		stop()
	}()
	<-ctx.Done()
	if err := srv.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "child server: close: %v\n", err)
		return 1
	}
	return 0
}
