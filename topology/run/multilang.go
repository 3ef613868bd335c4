package run

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/topology/shell"
)

// multilangCmd runs one component as a Storm multilang subprocess on
// stdin/stdout (what a Flux FluxShellSpout or FluxShellBolt runs).
func multilangCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "multilang", "--component NAME")
	component := fs.String("component", "", "the spout or bolt to run")
	if err := cli.ParseNoArgs(fs, args); err != nil {
		return err
	}
	if *component == "" {
		return cli.Usagef("multilang: --component NAME is required (one of the topology's spouts or bolts)")
	}
	t, err := env.Topology()
	if err != nil {
		return fmt.Errorf("multilang %q: %w", env.Name, err)
	}
	opts := shell.ServeOptions{Topology: t, Component: *component, In: env.In, Out: env.Out}
	if f, ok := env.Out.(*os.File); ok && f == os.Stdout {
		// stdout carries the protocol: what component code prints with fmt
		// goes to stderr instead, and slog's records go to the host as
		// multilang "log" messages.
		os.Stdout = os.Stderr
		defer func() { os.Stdout = f }()
		opts.OnLogger = slog.SetDefault
	}
	return shell.Serve(ctx, opts)
}
