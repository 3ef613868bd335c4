package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/localcluster"
	"github.com/localstorm/localstorm/localcluster/submit"
)

// runLocal runs one topology on a cluster of its own for --ttl, as Storm's
// `storm local` does: the cluster lives in this process (its workers are
// real processes), the topology is submitted and waited for, and at the end
// its totals are printed and everything is stopped. A topology binary's
// own `local` command comes here.
func runLocal(ctx context.Context, s cli.Streams, _ *globals, args []string) error {
	fs := newFlags(s, "local", "PATH [--ttl 20s] [--supervisors N] [-c key=value]...   (PATH: a topology binary, a Flux .yaml, or a .jar of BIN storm-package)")
	ttl := fs.Duration("ttl", 20*time.Second, "how long to run the topology (0 = until Ctrl-C)")
	sups := fs.Int("supervisors", 2, "number of supervisors")
	verbose := fs.BoolP("verbose", "v", false, "log the daemons on stderr")
	name := fs.String("topology-name", "", "topology name (default: the topology's own)")
	overrides := fs.StringArrayP("config", "c", nil, "topology config key=value (YAML value); repeatable")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("local needs exactly one PATH")
	}
	if err := cli.Positive(fs, "supervisors"); err != nil {
		return err
	}
	conf, err := cli.Overrides(*overrides)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	start := time.Now()
	c, err := localcluster.Start(ctx, localcluster.Options{
		Name: "local-" + strings.TrimSuffix(filepath.Base(fs.Arg(0)), filepath.Ext(fs.Arg(0))), Supervisors: *sups,
		Logger: slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		return fmt.Errorf("local cluster: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = c.Close(closeCtx)
	}()
	fmt.Fprintf(s.Err, "local cluster ready in %d ms (api %s)\n", time.Since(start).Milliseconds(), c.APIURL())
	warn := func(msg string) { fmt.Fprintln(s.Err, "warning:", msg) }
	id, err := submit.Path(ctx, c.Client(), fs.Arg(0), submit.Options{Name: *name, Conf: conf, Wait: true, Upload: c.ImportCode, Warn: warn})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Err, "topology %s running\n", id)
	if *ttl > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(*ttl):
		}
	} else {
		<-ctx.Done()
	}
	infoCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := c.Client().Topology(infoCtx, id)
	if err != nil {
		return fmt.Errorf("topology %s's totals: %w", id, err)
	}
	for _, sp := range info.Spouts {
		fmt.Fprintf(s.Out, "spout %s: emitted %d, acked %d, failed %d\n", sp.SpoutID, sp.Emitted, sp.Acked, sp.Failed)
	}
	for _, b := range info.Bolts {
		fmt.Fprintf(s.Out, "bolt %s: executed %d, emitted %d\n", b.BoltID, b.Executed, b.Emitted)
	}
	return nil
}
