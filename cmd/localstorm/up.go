package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/examples/wordcount"
	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/internal/errlist"
	"github.com/localstorm/localstorm/localcluster"
	"github.com/localstorm/localstorm/localcluster/registry"
	"github.com/localstorm/localstorm/localcluster/submit"
	"github.com/localstorm/localstorm/procs"
	// --zookeeper container: links the Docker client into this command only.
	_ "github.com/localstorm/localstorm/localcluster/zkcontainer"
)

// upFlags are the flags of `localstorm up`.
type upFlags struct {
	supervisors, slots, demoRate *int
	zk, dir, apiAddr             *string
	apiHosts                     *[]string
	fresh, demo, verbose, detach *bool
	waitTimeout                  *time.Duration
	storm                        *stormConfFlags
}

func addUpFlags(fs *pflag.FlagSet) *upFlags {
	return &upFlags{
		supervisors: fs.Int("supervisors", 3, "number of supervisors"),
		slots:       fs.Int("slots", 4, "worker slots per supervisor"),
		zk:          fs.String("zookeeper", "embedded", "embedded, container[=IMAGE] or HOST:PORT[,HOST:PORT...]"),
		dir:         fs.String("dir", "", "data dir (kept across runs); default: storm.local.dir when the storm.yaml or -c sets it, else a temporary dir removed on exit"),
		apiAddr:     fs.String("api-addr", "127.0.0.1:0", "address of nimbus's HTTP API (Storm UI's REST API and web UI); default: 127.0.0.1:ui.port when the storm.yaml or -c sets it, else a free port"),
		apiHosts:    addAPIHostFlag(fs),
		fresh:       fs.Bool("fresh", false, "with --dir: start empty, discarding the previous state"),
		storm:       addStormConfFlags(fs),
		demo:        fs.Bool("demo", false, "also submit the word-count example topology"),
		demoRate:    fs.Int("demo-rate", defaultDemoRate, "with --demo: sentences per second of the word count (0: as fast as it goes, which keeps the cores busy)"),
		verbose:     fs.BoolP("verbose", "v", false, "log the daemons on stderr"),
		detach:      fs.BoolP("detach", "d", false, "run the cluster in the background (its log in --dir, or else in the state dir); return once it is usable"),
		waitTimeout: fs.Duration("wait-timeout", 2*time.Minute, "with --detach: how long to wait for the cluster to be usable"),
	}
}

// check refuses flag values that cannot work, before anything starts.
func (f *upFlags) check(fs *pflag.FlagSet, g *globals) error {
	if g.output != "text" && g.output != "json" {
		return cli.Usagef("-o %q: use text or json", g.output)
	}
	if *f.waitTimeout <= 0 {
		return cli.Usagef("--wait-timeout %s: give a positive duration", *f.waitTimeout)
	}
	if *f.demoRate < 0 {
		return cli.Usagef("--demo-rate %d: give sentences per second, or 0 for as fast as it goes", *f.demoRate)
	}
	if err := cli.Positive(fs, "supervisors", "slots"); err != nil {
		return err
	}
	if err := registry.ValidateName(g.cluster); err != nil {
		return cli.Usage(err)
	}
	return nil
}

func runUp(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "up", "[flags]")
	g.register(fs)
	f := addUpFlags(fs)
	g.registerOutput(fs)
	if err := cli.ParseNoArgs(fs, args); err != nil {
		return err
	}
	logFile, isChild := detachedChild()
	if isChild {
		*f.detach = false
	} else if g.output != "text" && !*f.detach {
		return cli.Usage(errDetachOutput)
	}
	if err := f.check(fs, g); err != nil {
		return err
	}
	zkOpts, err := localcluster.ParseZooKeeperFlag(*f.zk)
	if err != nil {
		return cli.Usage(err)
	}
	sc, err := f.storm.load()
	if err != nil {
		return err
	}
	conf := sc.Conf
	if !isChild {
		if sc.File != "" {
			fmt.Fprintf(s.Err, "config: read %s (then -c)\n", sc.File)
		}
		sc.warnNotUsed(s.Err)
	}
	if *f.dir == "" {
		// storm.local.dir that the storm.yaml or -c sets is the data dir; Storm's
		// default (storm-local) is not: without either, the dir is temporary.
		*f.dir, _ = conf.String(config.StormLocalDir)
	}
	if _, set := conf[config.UIPort]; set && !fs.Changed("api-addr") {
		*f.apiAddr = uiAddr(conf) // the API is Storm UI's; ui.port set is where it listens
	}
	if *f.fresh && *f.dir == "" {
		return cli.Usagef("--fresh needs --dir (or storm.local.dir): a cluster without one always starts empty")
	}
	if err := checkListen("api-addr", *f.apiAddr); err != nil {
		return err
	}
	logger := daemonLogger(s, *f.verbose)
	opts := localcluster.Options{
		Name: g.cluster, ZooKeeper: zkOpts, Supervisors: *f.supervisors, Slots: *f.slots,
		DataDir: *f.dir, APIAddr: *f.apiAddr, APIHosts: *f.apiHosts, Conf: conf, Logger: logger,
		ServeFaults: true, // `localstorm fault ...` (faults.go)
		Progress: func(step string, took time.Duration) {
			fmt.Fprintf(s.Err, "  %-60s %6.1f ms\n", step, float64(took.Microseconds())/1000)
		},
	}
	// Everything that can be checked is, before "starting cluster".
	if err := opts.Validate(); err != nil {
		return err
	}
	if r, err := registry.Find(g.cluster); err == nil {
		return fmt.Errorf("cluster %q is already running (pid %d, %s): stop it with `localstorm down --cluster %s` or start another with --cluster NAME", g.cluster, r.PID, r.APIURL, g.cluster)
	}
	if *f.detach {
		return upDetached(ctx, s, g, args, *f.dir, *f.waitTimeout)
	}
	if *f.fresh {
		if err := freshDir(*f.dir); err != nil {
			return err
		}
	}
	start := time.Now()
	fmt.Fprintf(s.Err, "starting cluster %q\n", g.cluster)
	c, err := localcluster.Start(ctx, opts)
	if err != nil {
		return err
	}
	ready := time.Since(start)
	fmt.Fprintf(s.Err, "ready in %d ms\n", ready.Milliseconds())
	recordCluster(g.cluster, c, opts, logFile, logger)
	defer registry.RemoveRecord(g.cluster, os.Getpid())

	printBanner(s, g.cluster, c, opts)

	if *f.demo {
		id, err := submitDemo(ctx, c, *f.demoRate)
		if err != nil {
			fmt.Fprintf(s.Err, "demo: %v\n", err)
		} else {
			fmt.Fprintf(s.Out, "  demo       %s (watch it: localstorm topology wordcount --cluster %s)\n", id, g.cluster)
		}
	}
	fmt.Fprintln(s.Out, "Stop with Ctrl-C or `localstorm down`.")
	return serveCluster(ctx, s, c)
}

// daemonLogger logs the daemons on stderr: warnings, everything with verbose.
func daemonLogger(s cli.Streams, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: level}))
}

// recordCluster writes the cluster's record, by which other commands find it;
// logFile is a detached cluster's log, "" for one in the foreground.
func recordCluster(name string, c *localcluster.Cluster, opts localcluster.Options, logFile string, logger *slog.Logger) {
	rec := registry.Record{LogFile: logFile,
		Name: name, PID: os.Getpid(), APIURL: c.APIURL(), ThriftAddr: c.ThriftAddr(), ZooKeeper: c.ZooKeeperAddr(),
		ZooKeeperMode: string(opts.ZooKeeper.Mode), DataDir: c.DataDir(), Persistent: opts.DataDir != "", StartedAt: time.Now(),
	}
	if err := registry.WriteRecord(rec); err != nil {
		logger.Warn("other commands will not find this cluster by name", "err", err)
	}
}

// printBanner says where the cluster that opts started, c, can be reached.
func printBanner(s cli.Streams, name string, c *localcluster.Cluster, opts localcluster.Options) {
	fmt.Fprintf(s.Out, "localstorm cluster %q is up\n", name)
	fmt.Fprintf(s.Out, "  api        %s\n", c.APIURL())
	fmt.Fprintf(s.Out, "  thrift     %s (nimbus.thrift.port %d)\n", c.ThriftAddr(), c.ThriftPort())
	if host, _, err := net.SplitHostPort(opts.APIAddr); err == nil && (host == "" || net.ParseIP(host).IsUnspecified()) {
		// In a container, the API is reached through the published port.
		fmt.Fprintf(s.Out, "  listening  %s (every interface)\n", opts.APIAddr)
	}
	warnIfExposed(s, opts.APIAddr)
	fmt.Fprintf(s.Out, "  zookeeper  %s (%s)\n", c.ZooKeeperAddr(), opts.ZooKeeper.Mode)
	fmt.Fprintf(s.Out, "  data dir   %s\n", c.DataDir())
	fmt.Fprintf(s.Out, "  slots      %d supervisors x %d\n", opts.Supervisors, opts.Slots)
}

// serveCluster runs until ctx ends or a daemon of c dies, then shuts c
// down; a daemon's death is the command's error.
func serveCluster(ctx context.Context, s cli.Streams, c *localcluster.Cluster) error {
	var died error
	select {
	case <-ctx.Done():
	case died = <-c.Err():
		fmt.Fprintf(s.Err, "cluster error: %v\n", died)
	}
	if err := shutdown(s, c); err != nil || died == nil {
		return err
	}
	return daemonDied(died)
}

// shutdown closes the cluster in order, a line per step; a second Ctrl-C
// forces the exit (workers die with this process).
func shutdown(s cli.Streams, c *localcluster.Cluster) error {
	fmt.Fprintln(s.Err, "shutting down (Ctrl-C again to force)")
	force := make(chan os.Signal, 1)
	signal.Notify(force, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(force)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- c.Close(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		fmt.Fprintf(s.Err, "stopped in %d ms\n", time.Since(start).Milliseconds())
		return nil
	case <-force:
		cancel()
		return errors.New("forced exit: shutdown interrupted")
	}
}

// defaultDemoRate is the demo's pace: a rate the UI shows clearly at a few
// percent of one core (docs/benchmarks.md).
const defaultDemoRate = 1000

func submitDemo(ctx context.Context, c *localcluster.Cluster, rate int) (string, error) {
	topo, err := wordcount.Builder().Build()
	if err != nil {
		return "", err
	}
	// The cluster is in this process: nimbus takes this binary in place.
	return submit.Topology(ctx, c.Client(), topo, submit.Options{
		Name: "wordcount", Conf: map[string]any{submit.ConfBuiltin: "wordcount", wordcount.ConfRate: rate}, Upload: c.ImportCode})
}

func freshDir(dir string) error {
	if lock, err := localcluster.LockDataDir(dir); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	} else {
		lock.Close()
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == "localstorm.lock" || e.Name() == detachedLog { // the detached child logs there already
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("--fresh: clear %s: %w", dir, err)
		}
	}
	return nil
}

// addAPIHostFlag adds --api-host: the names, besides localhost and the
// loopback addresses, by which clients may reach the API.
func addAPIHostFlag(fs *pflag.FlagSet) *[]string {
	return fs.StringArray("api-host", nil, "a host name or address by which clients reach the API, besides localhost and loopback addresses (requests naming any other Host are refused); repeatable")
}

// warnIfExposed says, on stderr, that an API bound beyond loopback lets
// anyone who reaches it run code here: the API has no accounts.
func warnIfExposed(s cli.Streams, addr string) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "localhost" {
		return
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		return
	}
	fmt.Fprintf(s.Err, "warning: the API listens on %s, beyond this machine's loopback: anyone on the network who can reach it can submit code to run here, as you (the API has no authentication). "+
		"Keep it behind a container's loopback-published port or a firewall, or bind 127.0.0.1; clients that name this machine otherwise than localhost or 127.0.0.1 need --api-host NAME.\n", addr)
}

// checkListen checks that addr, the value of --flag, is a HOST:PORT this
// process can listen on now, and says which of the two it is not.
func checkListen(flag, addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return cli.Usagef("--%s %q is malformed (%v): give HOST:PORT, e.g. 127.0.0.1:8080, or port 0 for a free one", flag, addr, err)
	}
	l, err := net.Listen("tcp", addr)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("--%s %s: the port is in use; pick another with --%s 127.0.0.1:PORT or 127.0.0.1:0", flag, addr, flag)
	case err != nil:
		return fmt.Errorf("--%s %s: cannot listen: %w", flag, addr, err)
	}
	return l.Close()
}

func runDown(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "down", "[--cluster NAME | --all]")
	g.register(fs)
	wait := fs.Duration("timeout", 60*time.Second, "how long to wait for the cluster to stop")
	all := fs.Bool("all", false, "stop every running cluster of this user (those recorded in the state dir)")
	if err := cli.ParseNoArgs(fs, args); err != nil {
		return err
	}
	if *all && fs.Changed("cluster") {
		return cli.Usagef("--all stops every cluster: give --cluster NAME or --all, not both")
	}
	var clusters []registry.Record
	if *all {
		clusters = registry.Running()
		if len(clusters) == 0 {
			fmt.Fprintln(s.Err, "no running clusters")
			return nil
		}
	} else {
		r, err := registry.Find(g.cluster)
		if err != nil {
			return err
		}
		clusters = []registry.Record{*r}
	}
	// Every cluster is told first, so that they stop side by side.
	var errs []error
	for _, r := range clusters {
		if err := procs.Signal(r.PID, syscall.SIGTERM); err != nil {
			errs = append(errs, fmt.Errorf("stop cluster %q (pid %d): %w", r.Name, r.PID, err))
		}
	}
	deadline := time.Now().Add(*wait)
	for _, r := range clusters {
		if err := waitStopped(ctx, r, deadline); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(s.Out, "cluster %q stopped\n", r.Name)
	}
	return errlist.Join(errs...)
}

// waitStopped waits until the process of r has ended.
func waitStopped(ctx context.Context, r registry.Record, deadline time.Time) error {
	for time.Now().Before(deadline) {
		if !registry.Alive(r.PID, r.PIDStartTicks) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("cluster %q (pid %d) did not stop within the --timeout", r.Name, r.PID)
}
