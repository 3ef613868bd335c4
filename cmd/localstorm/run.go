package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/internal/version"
	"github.com/localstorm/localstorm/localcluster/registry"
)

// progName is the command as users type it.
const progName = "localstorm"

var program = &cli.Program{
	Name:  progName,
	About: "localstorm: a local Apache Storm cluster with real worker processes.",
	Commands: map[string]cli.Command{
		"up":         command("boot a local cluster and block until Ctrl-C", supervising(runUp)),
		"down":       command("stop a running cluster", runDown),
		"submit":     command("submit a topology binary, a Flux YAML file or a storm-package jar", runSubmit),
		"local":      command("run a topology on a cluster of its own for a while, as `storm local`", supervising(runLocal)),
		"list":       command("list topologies", runList),
		"kill":       command("kill a topology", runKill),
		"activate":   command("activate a topology", runActivate),
		"deactivate": command("deactivate a topology", runDeactivate),
		"rebalance":  command("rebalance a topology", runRebalance),
		"status":     command("cluster summary", runStatus),
		"topology":   command("components, workers and errors of a topology", runTopology),
		"logs":       command("show worker logs of a topology", runLogs),
		"zookeeper":  command("run the embedded ZooKeeper server standalone", runZooKeeper),
		"nimbus":     command("run nimbus standalone against a ZooKeeper", runNimbus),
		"supervisor": command("run a supervisor standalone against a ZooKeeper", supervising(runSupervisor)),
		"worker":     command("run a worker (started by supervisors)", supervising(runWorker)),
		"version":    command("print the version", runVersion),
		"events":     command("the cluster's event timeline (-f: follow it)", runEvents),
		"fault":      command("break the cluster of `up` on purpose: kill-worker, stop-supervisor, restart-nimbus, ...", runFault),
		// Storm's own verbs (stormverbs.go).
		"get-errors":      command("the latest error of each component, as Storm's get-errors prints it", runGetErrors),
		"monitor":         command("a component's throughput on a stream, as Storm's monitor", runMonitor),
		"localconfvalue":  command("a key of the local Storm configuration (storm.yaml)", runLocalConfValue),
		"remoteconfvalue": command("a key of the running nimbus's configuration", runRemoteConfValue),
		"heartbeats":      command("list or get worker heartbeats in ZooKeeper", runHeartbeats),
		"kill_workers":    command("kill every worker process of the cluster (supervisors relaunch them)", runKillWorkers),
		"set_log_level":   command("set or reset log levels of a topology's workers, as Storm's set_log_level", runSetLogLevel),
		"export":          command("export the logs, topology documents and ZooKeeper dump of a cluster (for CI artifacts)", runExport),
		"wait":            command("wait until a cluster or topology reaches a state (for scripts)", runWait),
		"zk":              command("read the cluster's ZooKeeper tree: zk ls|get PATH, Storm's records decoded", runZK),
		"debug":           command("sample the tuples a topology's components emit into its event log (Storm UI's debug)", runDebug),
	},
}

// runFunc is a localstorm command: it parses its own flags, the global ones
// into g, and calls libraries.
type runFunc func(ctx context.Context, s cli.Streams, g *globals, args []string) error

// command gives run fresh globals at every call.
func command(summary string, run runFunc) cli.Command {
	return cli.Command{Summary: summary, Run: func(ctx context.Context, s cli.Streams, args []string) error {
		return run(ctx, s, &globals{}, args)
	}}
}

// globals are the flags every command takes.
type globals struct {
	cluster string
	apiURL  string
	output  string
}

func (g *globals) register(fs *pflag.FlagSet) {
	def := os.Getenv("LOCALSTORM_CLUSTER")
	if def == "" {
		def = "default"
	}
	fs.StringVar(&g.cluster, "cluster", def, "cluster name (env LOCALSTORM_CLUSTER)")
	fs.StringVar(&g.apiURL, "api", "", "nimbus API URL of a cluster started elsewhere")
}

func (g *globals) registerOutput(fs *pflag.FlagSet) {
	fs.StringVarP(&g.output, "output", "o", "text", "output format: text or json")
}

// newFlags makes a localstorm command's flag set.
func newFlags(s cli.Streams, name, synopsis string) *pflag.FlagSet {
	return cli.NewFlags(s, progName, name, synopsis)
}

// client finds the cluster the command talks to: --api, else the running
// cluster named by --cluster.
func (g *globals) client() (*api.Client, *registry.Record, error) {
	if g.apiURL != "" {
		return api.NewClient(strings.TrimRight(g.apiURL, "/")), nil, nil
	}
	r, err := registry.Find(g.cluster)
	if err != nil {
		return nil, nil, err
	}
	return api.NewClient(r.APIURL), r, nil
}

// topologyID resolves a topology name (or id) on the cluster.
func topologyID(ctx context.Context, c *api.Client, nameOrID string) (string, error) {
	id, err := c.TopologyIDByName(ctx, nameOrID)
	if err == nil {
		return id, nil
	}
	if _, err2 := c.Topology(ctx, nameOrID); err2 == nil {
		return nameOrID, nil
	}
	return "", err
}

func runVersion(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "version", "")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "localstorm %s\n", version.String())
	return nil
}
