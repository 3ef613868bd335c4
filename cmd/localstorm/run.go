package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/version"
	"github.com/localstorm/localstorm/localcluster"
)

// command is one subcommand: it parses its own flags and calls libraries.
type command struct {
	summary string
	run     func(ctx context.Context, s Streams, g *globals, args []string) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"up":         {"boot a local cluster and block until Ctrl-C", supervising(runUp)},
		"down":       {"stop a running cluster", runDown},
		"submit":     {"submit a topology binary or a Flux YAML file", runSubmit},
		"list":       {"list topologies", runList},
		"kill":       {"kill a topology", runKill},
		"activate":   {"activate a topology", runActivate},
		"deactivate": {"deactivate a topology", runDeactivate},
		"rebalance":  {"rebalance a topology", runRebalance},
		"status":     {"cluster summary", runStatus},
		"topology":   {"components, workers and errors of a topology", runTopology},
		"logs":       {"show worker logs of a topology", runLogs},
		"zookeeper":  {"run the embedded ZooKeeper server standalone", runZooKeeper},
		"nimbus":     {"run nimbus standalone against a ZooKeeper", runNimbus},
		"supervisor": {"run a supervisor standalone against a ZooKeeper", supervising(runSupervisor)},
		"worker":     {"run a worker (started by supervisors)", supervising(runWorker)},
		"version":    {"print the version", runVersion},
	}
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

// Run runs the localstorm command line args.
func Run(ctx context.Context, s Streams, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if _, ok := commands[args[1]]; ok {
				return Run(ctx, s, []string{args[1], "--help"})
			}
		}
		printUsage(s)
		if len(args) == 0 {
			return usagef("no command given")
		}
		return errHelp
	}
	cmd, ok := commands[args[0]]
	if !ok {
		return usagef("unknown command %q", args[0])
	}
	return cmd.run(ctx, s, &globals{}, args[1:])
}

func printUsage(s Streams) {
	fmt.Fprintln(s.Err, "localstorm: a local Apache Storm cluster with real worker processes.\n\nUsage: localstorm COMMAND [flags]\n\nCommands:")
	names := slices.Sorted(maps.Keys(commands))
	for _, n := range names {
		fmt.Fprintf(s.Err, "  %-11s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(s.Err, "\nRun 'localstorm COMMAND --help' for a command's flags.")
}

// newFlags makes a command's flag set; parse errors become usage errors.
func newFlags(s Streams, name, usage string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(s.Err)
	fs.Usage = func() {
		fmt.Fprintf(s.Err, "Usage: localstorm %s %s\n\nFlags:\n%s", name, usage, fs.FlagUsages())
	}
	return fs
}

func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == pflag.ErrHelp {
			return errHelp
		}
		return usageError{err}
	}
	return nil
}

// client finds the cluster the command talks to: --api, else the running
// cluster named by --cluster.
func (g *globals) client() (*api.Client, *localcluster.Record, error) {
	if g.apiURL != "" {
		return api.NewClient(strings.TrimRight(g.apiURL, "/")), nil, nil
	}
	r, err := localcluster.Find(g.cluster)
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

func runVersion(ctx context.Context, s Streams, g *globals, args []string) error {
	fs := newFlags(s, "version", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "localstorm %s\n", version.String())
	return nil
}
