package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/nimbus"
	"github.com/localstorm/localstorm/daemons/supervisor"
	"github.com/localstorm/localstorm/daemons/worker"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/daemons/zookeeper"
	"github.com/localstorm/localstorm/examples/wordcount"
	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/internal/daemonlog"
	"github.com/localstorm/localstorm/localcluster/submit"
	"github.com/localstorm/localstorm/topology"
)

func stderrLogger(s cli.Streams, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: level}))
}

// runZooKeeper is `storm dev-zookeeper`: the embedded server in the foreground.
func runZooKeeper(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "zookeeper", "[--port P] [--data-dir D] [--tick-time MS] | --config zoo.cfg")
	port := fs.Int("port", 2181, "client port (on 127.0.0.1)")
	host := fs.String("host", "127.0.0.1", "address to bind")
	dataDir := fs.String("data-dir", "", "data dir for the transaction log and snapshots (default: in memory)")
	tick := fs.Int("tick-time", 2000, "tick time in ms")
	cfgPath := fs.String("config", "", "a ZooKeeper zoo.cfg file (overrides the other flags)")
	if err := cli.ParseNoArgs(fs, args); err != nil {
		return err
	}
	if err := cli.Positive(fs, "tick-time"); err != nil {
		return err
	}
	logger := stderrLogger(s, slog.LevelInfo)
	opts := zookeeper.Options{
		Addr: fmt.Sprintf("%s:%d", *host, *port), DataDir: *dataDir,
		TickTime: time.Duration(*tick) * time.Millisecond, FourLetterWords: []string{"*"},
	}
	if *cfgPath != "" {
		f, err := os.Open(*cfgPath)
		if err != nil {
			return fmt.Errorf("--config: %w", err)
		}
		o, warnings, err := zookeeper.ParseZooCfg(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("--config %s: %w", *cfgPath, err)
		}
		for _, w := range warnings {
			logger.Warn(w)
		}
		opts = o
	}
	opts.Logger = logger
	return zookeeper.RunStandalone(ctx, opts, logger)
}

// daemonConf is a standalone daemon's configuration: Storm's defaults, the
// storm.yaml and -c overrides (sc), then the flags: --zookeeper for
// storm.zookeeper.servers and an explicit --dir for storm.local.dir.
func daemonConf(sc stormConf, zk, dir string) (config.Conf, []string, error) {
	conf := config.Defaults().Merge(sc.Conf)
	var servers []string
	if zk != "" {
		for _, s := range strings.Split(zk, ",") {
			if s = strings.TrimSpace(s); s != "" {
				servers = append(servers, s)
			}
		}
		conf[config.StormZookeeperServers] = hostsAny(servers)
	}
	if dir != "" {
		conf[config.StormLocalDir] = dir
	}
	if err := config.Validate(conf); err != nil {
		return nil, nil, err
	}
	opts, err := cluster.OptionsFromConf(conf)
	if err != nil {
		return nil, nil, err
	}
	return conf, opts.Servers, nil
}

func hostsAny(v []string) []any {
	out := make([]any, len(v))
	for i, s := range v {
		out[i] = s
	}
	return out
}

func connect(ctx context.Context, conf config.Conf, logger *slog.Logger, fatal func(error)) (cluster.StormClusterState, error) {
	opts, err := cluster.OptionsFromConf(conf)
	if err != nil {
		return nil, err
	}
	opts.Logger, opts.OnFatal = logger, fatal
	st, err := cluster.ConnectStorm(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to zookeeper %s: %w", strings.Join(opts.Servers, ","), err)
	}
	return st, nil
}

// daemonFlags are the flags nimbus and supervisor share: where ZooKeeper is,
// the local dir, and the configuration (Storm's --config and -c).
type daemonFlags struct {
	zk, dir, stormYAML *string
	conf               *stormConfFlags
}

func addDaemonFlags(fs *pflag.FlagSet) *daemonFlags {
	d := &daemonFlags{
		zk:        fs.String("zookeeper", "", "ZooKeeper servers (default: storm.zookeeper.servers)"),
		dir:       fs.String("dir", "", "local dir (default: storm.local.dir, from the storm.yaml or -c; Storm's default storm-local)"),
		stormYAML: fs.String("storm-yaml", "", "a storm.yaml to load"),
		conf:      addStormConfFlags(fs),
	}
	_ = fs.MarkDeprecated("storm-yaml", "use --config FILE, as Storm's storm command")
	return d
}

// daemonSetup is what a standalone daemon starts from.
type daemonSetup struct {
	conf     config.Conf
	localDir string // storm.local.dir: --dir, else the configuration's
	servers  []string
	logger   *slog.Logger
	fatal    chan error // the cluster state's fatal errors
	state    cluster.StormClusterState
	// logFile is the daemon's Storm log file (nimbus.log, supervisor.log)
	// in storm.log.dir, else {storm.local.dir}/logs; logger writes it too.
	logFile *daemonlog.File
}

// close disconnects the state and closes the log file.
func (ds *daemonSetup) close() {
	_ = ds.state.Disconnect()
	_ = ds.logFile.Close()
}

// config is the daemon's configuration (daemonConf) and ZooKeeper servers,
// and what it was read from.
func (d *daemonFlags) config() (config.Conf, []string, stormConf, error) {
	if *d.stormYAML != "" && *d.conf.file == "" {
		*d.conf.file = *d.stormYAML
	}
	sc, err := d.conf.load()
	if err != nil {
		return nil, nil, sc, err
	}
	conf, servers, err := daemonConf(sc, *d.zk, *d.dir)
	return conf, servers, sc, err
}

// setup loads the configuration, opens the daemon's log file logName and
// connects to ZooKeeper; the caller closes the setup.
func (d *daemonFlags) setup(ctx context.Context, s cli.Streams, logName string) (*daemonSetup, error) {
	conf, servers, sc, err := d.config()
	if err != nil {
		return nil, err
	}
	localDir, _ := conf.String(config.StormLocalDir)
	logFile, err := daemonlog.Open(daemonlog.Dir(conf, workercontract.LocalDir(localDir).LogsRoot()), logName)
	if err != nil {
		return nil, err
	}
	ds := &daemonSetup{conf: conf, localDir: localDir, servers: servers, logger: logFile.Tee(stderrLogger(s, slog.LevelInfo)), fatal: make(chan error, 1), logFile: logFile}
	ds.logger.Info(sc.readFrom(), "storm.local.dir", ds.localDir)
	sc.warnNotUsed(s.Err)
	ds.state, err = connect(ctx, conf, ds.logger, func(err error) {
		select {
		case ds.fatal <- err:
		default:
		}
	})
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	return ds, nil
}

// runNimbus runs nimbus alone, for clusters spread over several machines.
func runNimbus(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "nimbus", "--zookeeper HOST:PORT[,...] [--dir D] [--api-addr A] [--api-host NAME]... [-c key=value]...")
	df := addDaemonFlags(fs)
	apiAddr := fs.String("api-addr", "", "address of the HTTP API, Storm UI's (default: 127.0.0.1:ui.port, Storm's default 8080)")
	apiHosts := addAPIHostFlag(fs)
	if err := cli.ParseNoArgs(fs, args); err != nil {
		return err
	}
	if *apiAddr == "" {
		conf, _, _, err := df.config()
		if err != nil {
			return initFailed(err)
		}
		*apiAddr = uiAddr(conf)
	}
	if err := checkListen("api-addr", *apiAddr); err != nil {
		return err
	}
	ds, err := df.setup(ctx, s, daemonlog.NimbusFile)
	if err != nil {
		return initFailed(err)
	}
	defer ds.close()
	n, err := nimbus.Start(ctx, nimbus.Options{Conf: ds.conf, LocalDir: ds.localDir, State: ds.state, APIAddr: *apiAddr, APIHosts: *apiHosts, ThriftAddr: standaloneThriftAddr(ds.conf), Logger: ds.logger})
	if err != nil {
		return initFailed(err)
	}
	fmt.Fprintf(s.Out, "nimbus serving %s (thrift %s)\n", n.APIURL(), n.ThriftAddr())
	warnIfExposed(s, *apiAddr)
	return serveUntilDone(ctx, n.Err(), ds.fatal, n.Close, 30*time.Second)
}

// runSupervisor runs a supervisor alone against a ZooKeeper and a nimbus.
func runSupervisor(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "supervisor", "--zookeeper HOST:PORT[,...] --nimbus URL [--dir D] [-c supervisor.slots.ports=[6700,6701]]")
	df := addDaemonFlags(fs)
	nimbusURL := fs.String("nimbus", "http://127.0.0.1:8080", "nimbus API URL (code downloads)")
	hostname := fs.String("hostname", "", "host name to advertise (default: os.Hostname)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	ds, err := df.setup(ctx, s, daemonlog.SupervisorFile)
	if err != nil {
		return initFailed(err)
	}
	defer ds.close()
	host := *hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	root, _ := ds.conf.String(config.StormZookeeperRoot)
	exe, _ := os.Executable()
	sup, err := supervisor.Start(ctx, supervisor.Options{
		Conf: ds.conf, LocalDir: ds.localDir, State: ds.state, Code: api.NewClient(strings.TrimRight(*nimbusURL, "/")),
		Hostname: host, Logger: ds.logger, ZooKeeper: ds.servers, ZKRoot: root, LocalstormPath: exe,
	})
	if err != nil {
		return initFailed(err)
	}
	fmt.Fprintf(s.Out, "supervisor %s running\n", sup.ID())
	return serveUntilDone(ctx, sup.Err(), ds.fatal, sup.Close, 60*time.Second)
}

// initFailed is a standalone daemon that could not start: Storm's daemons
// exit with code 13 ("Error on initialization"). A cancelled start (a
// signal) is no failure of the daemon and keeps code 1.
func initFailed(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return cluster.Exit(cluster.ExitInit, err)
}

// daemonDied is `up` after one of its daemons failed at run time: which one
// and why (localcluster names it), and Storm's exit code when it has one.
func daemonDied(err error) error {
	return fmt.Errorf("the cluster stopped because a daemon failed: %w", err)
}

// serveUntilDone blocks until ctx is done (a signal) or the daemon fails, then
// closes it within grace; the daemon's failure wins over a close error.
func serveUntilDone(ctx context.Context, daemonErr <-chan error, fatal <-chan error, closeFn func(context.Context) error, grace time.Duration) error {
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-daemonErr:
	case runErr = <-fatal:
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := closeFn(closeCtx); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// runWorker is the worker process of Flux and builtin topologies (supervisors
// start it; Go topology binaries run their own worker).
func runWorker(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fluxFile, rest := workercontract.SplitFlux(args)
	opts, err := worker.ParseArgs(rest)
	if err != nil {
		return cli.Usage(err)
	}
	topo, err := submit.WorkerTopology(opts.CodeDir, fluxFile, builtins)
	if err != nil {
		return err
	}
	opts.Topology = topo
	worker.UseProcessLogger(&opts, s.Err)
	opts.Ready = s.Out
	return worker.Run(ctx, opts)
}

// builtins are the topologies built into localstorm (for --demo).
var builtins = map[string]func() *topology.Builder{"wordcount": wordcount.Builder}
