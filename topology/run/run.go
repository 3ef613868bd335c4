// Package run turns a program into a topology binary: Main builds the
// topology and dispatches the subcommands a cluster uses (describe, worker)
// and those a user types (submit, local). It lives apart from the SDK so that
// the SDK and the worker runtime never import each other.
package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/localstorm/localstorm/daemons/worker"
	"github.com/localstorm/localstorm/localcluster"
	"github.com/localstorm/localstorm/topology"
)

// Env is what a subcommand sees of its process.
type Env struct {
	Name     string // the topology's name given to Main
	Builder  *topology.Builder
	Stdout   io.Writer
	Stderr   io.Writer
	topology *topology.Topology
}

// Topology builds the topology once and returns it.
func (e *Env) Topology() (*topology.Topology, error) {
	if e.topology == nil {
		t, err := e.Builder.Build()
		if err != nil {
			return nil, err
		}
		e.topology = t
	}
	return e.topology, nil
}

// Command is one subcommand.
type Command func(ctx context.Context, env *Env, args []string) error

// Commands are Main's subcommands by name. Other files of this package add
// theirs in init (submit.go replaces submit and local).
var Commands = map[string]Command{
	"describe": describe,
	"worker":   runWorker,
	"submit":   notYet("submit"),
	"local":    notYet("local"),
}

// UsageError makes Main exit with code 2 (bad command line or an
// unavailable subcommand).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func notYet(name string) Command {
	return func(context.Context, *Env, []string) error {
		return &UsageError{fmt.Errorf("%s: not yet available in this build", name)}
	}
}

// Main runs the subcommand named by os.Args[1] and exits: 0 on success, 2 on
// a usage error, 1 on any other error. SIGTERM and SIGINT cancel the
// subcommand's context (a worker then shuts down gracefully and exits 0).
func Main(name string, b *topology.Builder) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := Execute(ctx, &Env{Name: name, Builder: b, Stdout: os.Stdout, Stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// Execute runs the subcommand of args and returns the exit code, printing
// errors as one "error: ..." line on env.Stderr.
func Execute(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(env.Stderr, "usage: %s COMMAND [FLAGS]\ncommands: %s\n", programName(), strings.Join(commandNames(), ", "))
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := Commands[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "error: unknown command %q; commands: %s\n", args[0], strings.Join(commandNames(), ", "))
		return 2
	}
	if err := cmd(ctx, env, args[1:]); err != nil {
		fmt.Fprintf(env.Stderr, "error: %v\n", err)
		var usage *UsageError
		if errors.As(err, &usage) {
			return 2
		}
		return 1
	}
	return 0
}

func programName() string {
	if len(os.Args) > 0 {
		return os.Args[0]
	}
	return "topology"
}

func commandNames() []string {
	return slices.Sorted(maps.Keys(Commands))
}

// Description is what describe prints; localcluster reads it back when a
// binary is submitted.
type Description = localcluster.Description

func describe(_ context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return &UsageError{fmt.Errorf("describe takes no arguments, got %q", args)}
	}
	t, err := env.Topology()
	if err != nil {
		return fmt.Errorf("describe %q: %w", env.Name, err)
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(Description{Name: env.Name, Definition: t.Definition})
}

func runWorker(ctx context.Context, env *Env, args []string) error {
	opts, err := worker.ParseArgs(args)
	if err != nil {
		return &UsageError{err}
	}
	t, err := env.Topology()
	if err != nil {
		return fmt.Errorf("worker of %q: %w", env.Name, err)
	}
	opts.Topology = t
	opts.Logger = slog.New(slog.NewTextHandler(env.Stderr, nil))
	opts.Ready = env.Stdout
	worker.TuneGC()
	return worker.Run(ctx, opts)
}
