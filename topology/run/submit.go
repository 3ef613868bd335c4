package run

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/localcluster"
	"github.com/localstorm/localstorm/localcluster/registry"
	"github.com/localstorm/localstorm/localcluster/submit"
)

// submit sends this binary and its topology to a running cluster, found by
// name (as `localstorm up --cluster NAME` registered it) or by API URL.
func submitCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "submit", "[--cluster NAME | --api URL] [--topology-name N] [-c key=value]... [--wait]")
	defCluster := os.Getenv("LOCALSTORM_CLUSTER")
	if defCluster == "" {
		defCluster = "default"
	}
	clusterName := fs.String("cluster", defCluster, "name of a running localstorm cluster")
	apiURL := fs.String("api", "", "nimbus API URL (instead of --cluster)")
	name := fs.String("topology-name", env.Name, "topology name")
	conf := fs.StringArrayP("config", "c", nil, "topology config key=value; repeatable")
	wait := fs.Bool("wait", false, "wait until every executor runs")
	if err := cli.ParseNoArgs(fs, args); err != nil {
		return err
	}
	c, err := resolveClient(*clusterName, *apiURL)
	if err != nil {
		return err
	}
	t, err := env.Topology()
	if err != nil {
		return fmt.Errorf("submit %q: %w", *name, err)
	}
	extra, err := cli.Overrides(*conf)
	if err != nil {
		return err
	}
	warn := func(msg string) { fmt.Fprintln(env.Err, "warning:", msg) }
	id, err := submit.Topology(ctx, c, t, submit.Options{Name: *name, Conf: extra, Wait: *wait, Warn: warn})
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Out, id)
	return nil
}

func resolveClient(clusterName, apiURL string) (*api.Client, error) {
	if apiURL != "" {
		return api.NewClient(strings.TrimRight(apiURL, "/")), nil
	}
	r, err := registry.Find(clusterName)
	if err != nil {
		return nil, err
	}
	return api.NewClient(r.APIURL), nil
}

// local runs the topology on an in-process local cluster for --ttl, as
// `storm local` does, then prints its totals and shuts the cluster down.
func local(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "local", "[--ttl 20s] [--supervisors N] [-c key=value]...")
	ttl := fs.Duration("ttl", 20*time.Second, "how long to run the topology (0 = until Ctrl-C)")
	sups := fs.Int("supervisors", 2, "number of supervisors")
	verbose := fs.BoolP("verbose", "v", false, "log the daemons on stderr")
	conf := fs.StringArrayP("config", "c", nil, "topology config key=value; repeatable")
	if err := cli.ParseNoArgs(fs, args); err != nil {
		return err
	}
	if err := cli.Positive(fs, "supervisors"); err != nil {
		return err
	}
	extra, err := cli.Overrides(*conf)
	if err != nil {
		return err
	}
	t, err := env.Topology()
	if err != nil {
		return fmt.Errorf("local %q: %w", env.Name, err)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	start := time.Now()
	c, err := localcluster.Start(ctx, localcluster.Options{
		Name: "local-" + env.Name, Supervisors: *sups,
		Logger: slog.New(slog.NewTextHandler(env.Err, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		return fmt.Errorf("local cluster: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		_ = c.Close(closeCtx)
	}()
	fmt.Fprintf(env.Err, "local cluster ready in %d ms (api %s)\n", time.Since(start).Milliseconds(), c.APIURL())
	id, err := submit.Topology(ctx, c.Client(), t, submit.Options{Name: env.Name, Conf: extra, Wait: true, Upload: c.ImportCode})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Err, "topology %s running\n", id)
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
	if info, err := c.Client().Topology(infoCtx, id); err == nil {
		for _, s := range info.Spouts {
			fmt.Fprintf(env.Out, "spout %s: emitted %d, acked %d, failed %d\n", s.SpoutID, s.Emitted, s.Acked, s.Failed)
		}
		for _, b := range info.Bolts {
			fmt.Fprintf(env.Out, "bolt %s: executed %d, emitted %d\n", b.BoltID, b.Executed, b.Emitted)
		}
	}
	return nil
}
