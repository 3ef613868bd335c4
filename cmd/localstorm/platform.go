package main

import (
	"context"
	"errors"
	"runtime"

	"github.com/localstorm/localstorm/internal/cli"
)

// errNeedsWSL is what the commands that run workers say on native Windows,
// where localstorm cannot supervise processes as Storm's supervisor does
// (process groups, group signals, children that die with their owner).
var errNeedsWSL = errors.New("this command runs worker processes, which native Windows cannot supervise: run localstorm under WSL2 (see the README); the client commands (submit --api, list, topology, ...) work natively")

// supervising guards a command that runs worker processes.
func supervising(run runFunc) runFunc {
	if runtime.GOOS != "windows" {
		return run
	}
	return func(context.Context, cli.Streams, *globals, []string) error { return errNeedsWSL }
}
