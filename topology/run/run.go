// Package run turns a program into a topology binary: Main builds the
// topology and dispatches the subcommands a cluster uses (describe, worker)
// and those a user types (submit, local). It lives apart from the SDK so that
// the SDK and the worker runtime never import each other.
package run

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/localstorm/localstorm/daemons/worker"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/topology"
)

// Env is what a subcommand sees of its process.
type Env struct {
	Name    string // the topology's name given to Main
	Builder *topology.Builder
	cli.Streams
	// resources, when set, are written into the worker's code dir before
	// it starts (MainWithResources).
	resources fs.FS
	topology  *topology.Topology
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

// command is one subcommand of a topology binary.
type command struct {
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

// commands are Main's subcommands by name.
var commands = map[string]command{
	workercontract.DescribeCommand: {"print the topology's definition as JSON (read by submit)", describe},
	"worker":                       {"run a worker of the topology (supervisors start it)", runWorker},
	"submit":                       {"submit the topology to a running cluster (localstorm submit THIS-BINARY)", viaLocalstorm("submit")},
	"local":                        {"run the topology on a cluster of its own for a while (localstorm local THIS-BINARY)", viaLocalstorm("local")},
	"multilang":                    {"run one spout or bolt as a Storm multilang subprocess (--component NAME)", multilangCmd},
	"storm-package":                {"write a Flux YAML and a jar that run the topology on Apache Storm", stormPackage},
}

// Main runs the subcommand named by os.Args[1] and exits: 0 on success, 2 on
// a usage error, 1 on any other error (internal/cli's convention). SIGTERM
// and SIGINT cancel the subcommand's context (a worker then shuts down
// gracefully and exits 0).
func Main(name string, b *topology.Builder) {
	(&Env{Name: name, Builder: b, Streams: cli.StdStreams()}).program().Main()
}

// program binds the commands to env.
func (e *Env) program() *cli.Program {
	p := &cli.Program{Name: programName(), About: fmt.Sprintf("Topology %q, built with localstorm's topology/run.", e.Name), Commands: map[string]cli.Command{}}
	for name, c := range commands {
		p.Commands[name] = cli.Command{Summary: c.summary, Run: func(ctx context.Context, _ cli.Streams, args []string) error {
			return c.run(ctx, e, args)
		}}
	}
	return p
}

// Execute runs the subcommand of args and returns the exit code, printing
// errors on env.Err.
func Execute(ctx context.Context, env *Env, args []string) int {
	return cli.Exit(env.Err, env.program().Run(ctx, env.Streams, args))
}

func programName() string {
	if len(os.Args) > 0 {
		return filepath.Base(os.Args[0])
	}
	return "topology"
}

// newFlags makes a subcommand's flag set.
func newFlags(env *Env, name, synopsis string) *pflag.FlagSet {
	return cli.NewFlags(env.Streams, programName(), name, synopsis)
}

// Description is what describe prints; localcluster reads it back when a
// binary is submitted.
type Description = workercontract.Description

func describe(_ context.Context, env *Env, args []string) error {
	if err := cli.ParseNoArgs(newFlags(env, "describe", ""), args); err != nil {
		return err
	}
	t, err := env.Topology()
	if err != nil {
		return fmt.Errorf("describe %q: %w", env.Name, err)
	}
	enc := json.NewEncoder(env.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(Description{Name: env.Name, Definition: t.Definition})
}

func runWorker(ctx context.Context, env *Env, args []string) error {
	opts, err := worker.ParseArgs(args)
	if err != nil {
		return cli.Usage(err)
	}
	if env.resources != nil {
		if err := ExtractResources(env.resources, filepath.Join(opts.CodeDir, workercontract.ResourcesDir)); err != nil {
			return fmt.Errorf("worker of %q: %w", env.Name, err)
		}
	}
	t, err := env.Topology()
	if err != nil {
		return fmt.Errorf("worker of %q: %w", env.Name, err)
	}
	opts.Topology = t
	worker.UseProcessLogger(&opts, env.Err)
	opts.Ready = env.Out
	worker.TuneGC()
	return worker.Run(ctx, opts)
}
