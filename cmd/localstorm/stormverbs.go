package main

// The verbs of Storm's `storm` command that localstorm speaks as Storm
// prints them (bin/storm.py and storm-core's org.apache.storm.command.*):
// get-errors, monitor, localconfvalue, remoteconfvalue, heartbeats and
// kill_workers, and the long flags of Storm's kill and rebalance.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/procs"
	"github.com/localstorm/localstorm/topology"
)

// stormFlagNames maps the long flags of Storm's storm.py to ours, so that
// `kill --wait-time-secs` and `rebalance --executor` work beside -w and -e.
func stormFlagNames(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	switch name {
	case "wait-time-secs":
		return "wait"
	case "executor":
		return "executors"
	}
	return pflag.NormalizedName(name)
}

// registerTopologyConf adds Storm's `rebalance -t/--topology-conf` (a JSON
// object of configuration keys to change, as Storm's Rebalance command
// parses it) and `-r/--resources`, and returns the check to run after
// parsing, which gives the keys to change (nil: none). localstorm does not
// schedule by resources, so a non-empty -r is refused.
func registerTopologyConf(fs *pflag.FlagSet) func() (map[string]any, error) {
	conf := fs.StringP("topology-conf", "t", "", `topology conf keys to change, as JSON: '{"topology.max.spout.pending": 100}'`)
	resources := fs.StringP("resources", "r", "", "Storm's resource overrides (JSON); not supported: refused when given")
	return func() (map[string]any, error) {
		if strings.TrimSpace(*resources) != "" {
			return nil, errors.New("rebalance --resources: localstorm does not schedule by resources; change parallelism with -e COMPONENT=N and workers with -n N")
		}
		if strings.TrimSpace(*conf) == "" {
			return nil, nil
		}
		var keys map[string]any
		if err := json.Unmarshal([]byte(*conf), &keys); err != nil || keys == nil {
			return nil, cli.Usagef(`rebalance --topology-conf %q: give a JSON object of configuration keys, such as '{"topology.max.spout.pending": 100}'`, *conf)
		}
		return keys, nil
	}
}

// printStormList prints the topology summary as Storm's `storm list` does
// (ListTopologies: the same columns, widths and rule). Owner is empty:
// localstorm has no accounts.
func printStormList(w io.Writer, sum *api.TopologySummary) {
	if len(sum.Topologies) == 0 {
		fmt.Fprintln(w, "No topologies running.")
		return
	}
	const row = "%-20s %-10s %-10s %-12s %-12s %-20s %-20s\n"
	fmt.Fprintf(w, row, "Topology_name", "Status", "Num_tasks", "Num_workers", "Uptime_secs", "Topology_Id", "Owner")
	fmt.Fprintln(w, strings.Repeat("-", 88))
	for _, t := range sum.Topologies {
		fmt.Fprintf(w, row, t.Name, t.Status, strconv.Itoa(t.TasksTotal), strconv.Itoa(t.WorkersTotal),
			strconv.FormatInt(t.UptimeSeconds, 10), t.ID, "")
	}
}

// topologyCommand parses a verb that takes one topology NAME (its own flags
// added by extra, checked by check) and finds its cluster.
func topologyCommand(s cli.Streams, g *globals, name, synopsis string, args []string, extra func(fs *pflag.FlagSet), check func() error) (*api.Client, string, error) {
	fs := newFlags(s, name, synopsis)
	g.register(fs)
	if extra != nil {
		extra(fs)
	}
	if err := cli.Parse(fs, args); err != nil {
		return nil, "", err
	}
	if fs.NArg() != 1 {
		return nil, "", cli.Usagef("%s needs exactly one topology NAME", name)
	}
	if check != nil {
		if err := check(); err != nil {
			return nil, "", err
		}
	}
	c, _, err := g.client()
	return c, fs.Arg(0), err
}

// runGetErrors is Storm's `get-errors NAME`: one line of JSON with the
// latest error of every component that has one, or Storm's "Failure" when
// no topology has that name (exit 0 then too, as Storm's).
func runGetErrors(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	c, name, err := topologyCommand(s, g, "get-errors", "NAME", args, nil, nil)
	if err != nil {
		return err
	}
	id, err := topologyID(ctx, c, name)
	if api.IsNotFound(err) {
		return printJSONLine(s.Out, map[string]any{"Failure": "No topologies running with name " + name})
	}
	if err != nil {
		return err
	}
	info, err := c.TopologyView(ctx, id, "", true)
	if err != nil {
		return err
	}
	errs := map[string]string{}
	for _, sp := range info.Spouts {
		if sp.LastError != "" {
			errs[sp.SpoutID] = sp.LastError
		}
	}
	for _, b := range info.Bolts {
		if b.LastError != "" {
			errs[b.BoltID] = b.LastError
		}
	}
	return printJSONLine(s.Out, map[string]any{"Topology Name": info.Name, "Comp-Errors": errs})
}

func printJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// monitorOptions are the flags of `monitor`.
type monitorOptions struct {
	interval  int
	component string
	stream    string
	watch     string
	count     int
}

// check refuses what Storm's Monitor refuses, in its words.
func (o *monitorOptions) check() error {
	switch {
	case o.interval <= 0:
		return cli.Usagef("poll interval must be positive")
	case o.stream == "":
		return cli.Usagef("stream name must be something")
	case o.watch != "emitted" && o.watch != "transferred":
		return cli.Usagef("watch item must either be transferred or emitted")
	case o.count < 0:
		return cli.Usagef("--count %d: give 0 (until Ctrl-C) or more", o.count)
	}
	return nil
}

// runMonitor is Storm's `monitor NAME`: every interval, the component's
// emitted (or transferred) count on a stream since the last poll and its
// throughput in thousands of tuples per second, printed as Storm's Monitor
// prints them. It runs until Ctrl-C, or for --count lines.
func runMonitor(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	var o monitorOptions
	c, name, err := topologyCommand(s, g, "monitor", "NAME [-i SECS] [-m COMPONENT] [-s STREAM] [-w emitted|transferred] [--count N]", args, func(fs *pflag.FlagSet) {
		fs.IntVarP(&o.interval, "interval", "i", 4, "seconds between polls")
		fs.StringVarP(&o.component, "component", "m", "", "the component to watch (without it: list the components)")
		fs.StringVarP(&o.stream, "stream", "s", "default", "the stream to watch")
		fs.StringVarP(&o.watch, "watch", "w", "emitted", "what to count: emitted or transferred")
		fs.IntVar(&o.count, "count", 0, "stop after N lines (0: until Ctrl-C)")
	}, o.check)
	if err != nil {
		return err
	}
	id, err := c.TopologyIDByName(ctx, name)
	if api.IsNotFound(err) {
		return fmt.Errorf("topology: %s not found", name)
	}
	if err != nil {
		return err
	}
	if o.component == "" {
		if err := printComponents(ctx, s.Out, c, id, name); err != nil {
			return err
		}
		fmt.Fprintln(s.Out, "Please use -m to specify one component")
		return nil
	}
	fmt.Fprintf(s.Out, "topology\tcomponent\tparallelism\tstream\ttime-diff ms\t%s\tthroughput (Kt/s)\n", o.watch)
	poll := time.Duration(o.interval) * time.Second
	start := time.Now()
	last, lastCount := start, int64(0)
	now := start
	for n := 0; o.count == 0 || n < o.count; n++ {
		if n > 0 {
			// Storm's Poller: wake at the next multiple of the interval.
			next := start.Add(poll * (time.Since(start)/poll + 1))
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Until(next)):
			}
			now = time.Now()
		}
		page, err := c.ComponentPage(ctx, id, o.component, api.WindowAllTime, true)
		if api.IsNotFound(err) {
			if perr := printComponents(ctx, s.Out, c, id, name); perr != nil {
				return perr
			}
			return fmt.Errorf("component: %s not found", o.component)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		total, found := int64(0), false
		for _, st := range page.OutputStats {
			if st.Stream == o.stream {
				found = true
				if o.watch == "emitted" {
					total += st.Emitted
				} else {
					total += st.Transferred
				}
			}
		}
		if !found {
			return fmt.Errorf("stream: %s not found", o.stream)
		}
		diffMs, delta := now.Sub(last).Milliseconds(), total-lastCount
		last, lastCount = now, total
		throughput := 0.0
		if diffMs != 0 && delta != 0 {
			throughput = float64(delta) / float64(diffMs)
		}
		fmt.Fprintf(s.Out, "%s\t%s\t%d\t%s\t%d\t%d\t%s\n", name, o.component, page.Executors, o.stream, diffMs, delta, topology.JavaDouble(throughput))
	}
	return nil
}

// printComponents prints the components of a topology as Storm's Monitor
// lists them.
func printComponents(ctx context.Context, w io.Writer, c *api.Client, id, name string) error {
	info, err := c.TopologyView(ctx, id, "", true)
	if err != nil {
		return err
	}
	var comps []string
	for _, sp := range info.Spouts {
		comps = append(comps, sp.SpoutID)
	}
	for _, b := range info.Bolts {
		comps = append(comps, b.BoltID)
	}
	slices.Sort(comps)
	fmt.Fprintf(w, "Available components for %s :\n------------------\n", name)
	for _, comp := range comps {
		fmt.Fprintln(w, comp)
	}
	fmt.Fprintln(w, "------------------")
	return nil
}

// runLocalConfValue is Storm's `localconfvalue KEY`: the value Storm's
// defaults, the storm.yaml (see stormYAMLPath) and -c overrides give KEY,
// printed as "KEY: VALUE".
func runLocalConfValue(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "localconfvalue", "KEY [--config FILE] [-c key=value]...")
	g.registerOutput(fs)
	cf := addStormConfFlags(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("localconfvalue needs exactly one KEY")
	}
	sc, err := cf.load()
	if err != nil {
		return err
	}
	conf := config.Defaults().Merge(sc.Conf)
	return printConfValue(s, g, fs.Arg(0), conf)
}

// runRemoteConfValue is Storm's `remoteconfvalue KEY`: the value in the
// running nimbus's configuration.
func runRemoteConfValue(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "remoteconfvalue", "KEY")
	g.register(fs)
	g.registerOutput(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("remoteconfvalue needs exactly one KEY")
	}
	c, _, err := g.client()
	if err != nil {
		return err
	}
	conf, err := c.ClusterConfiguration(ctx)
	if err != nil {
		return err
	}
	return printConfValue(s, g, fs.Arg(0), conf)
}

func printConfValue(s cli.Streams, g *globals, key string, conf map[string]any) error {
	v := conf[key]
	return printOut(s, g, map[string]any{key: v}, func(w io.Writer) {
		fmt.Fprintf(w, "%s: %s\n", key, topology.JavaConfString(v))
	})
}

// runHeartbeats is Storm's `heartbeats list|get PATH`: the worker
// heartbeats in ZooKeeper (PATH under storm.zookeeper.root, e.g.
// /workerbeats/TOPOLOGY-ID and /workerbeats/TOPOLOGY-ID/NODE-PORT).
func runHeartbeats(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "heartbeats", "list|get PATH   (e.g. list /workerbeats, get /workerbeats/ID/NODE-PORT)")
	g.register(fs)
	g.registerOutput(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return cli.Usagef("Command and path arguments must be provided: heartbeats list|get PATH")
	}
	cmd, path := fs.Arg(0), fs.Arg(1)
	if cmd != "list" && cmd != "get" {
		return cli.Usagef("heartbeats %q: use list or get", cmd)
	}
	if !strings.HasPrefix(path, "/") {
		return cli.Usagef("heartbeats %s %q: PATH starts with /, e.g. /workerbeats", cmd, path)
	}
	c, rec, err := g.client()
	if err != nil {
		return err
	}
	conf, err := c.ClusterConfiguration(ctx)
	if err != nil {
		return err
	}
	opts, err := cluster.OptionsFromConf(conf)
	if err != nil {
		return err
	}
	if rec != nil && rec.ZooKeeper != "" {
		opts.Servers = strings.Split(rec.ZooKeeper, ",")
	}
	opts.ConnectionTimeout = 15 * time.Second
	state, err := cluster.Connect(ctx, opts)
	if err != nil {
		return err
	}
	defer state.Close()
	if cmd == "list" {
		children, err := state.GetChildren(path, false)
		if err != nil {
			return err
		}
		slices.Sort(children)
		return printOut(s, g, append([]string{}, children...), func(w io.Writer) {
			fmt.Fprintf(w, "list %s:\n", path)
			for _, ch := range children {
				fmt.Fprintln(w, ch)
			}
		})
	}
	data, err := state.GetData(path, false)
	if err != nil {
		return err
	}
	var hb any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &hb); err != nil {
			return fmt.Errorf("heartbeat at %s: %w", path, err)
		}
	}
	return printOut(s, g, hb, func(w io.Writer) {
		if hb == nil {
			fmt.Fprintln(w, "No Heartbeats found")
			return
		}
		b, _ := json.Marshal(hb)
		fmt.Fprintf(w, "%s\n", b)
	})
}

// runKillWorkers is Storm's `kill_workers`: kill every worker process of
// the cluster's supervisors (all on this machine) with its subprocesses;
// the supervisors relaunch the ones their assignments still hold, as Storm's
// do.
func runKillWorkers(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "kill_workers", "[flags]")
	g.register(fs)
	if err := cli.ParseNoArgs(fs, args); err != nil {
		return err
	}
	_, rec, err := g.client()
	if err != nil {
		return err
	}
	if rec == nil {
		return cli.Usagef("kill_workers finds the workers in the cluster's data dir: use --cluster NAME, not --api")
	}
	killed := 0
	data := workercontract.DataDir(rec.DataDir)
	for i := 0; ; i++ {
		sup := data.Supervisor(i)
		if _, err := os.Stat(string(sup)); err != nil {
			break
		}
		workers, err := os.ReadDir(sup.Workers())
		if err != nil {
			continue
		}
		for _, w := range workers {
			n := killRecorded(sup.Pids(w.Name()))
			if n > 0 {
				fmt.Fprintf(s.Out, "killed worker %s of supervisor-%d (%d processes)\n", w.Name(), i, n)
				killed++
			}
		}
	}
	if killed == 0 {
		fmt.Fprintln(s.Out, "no workers running")
	}
	return nil
}

// killRecorded SIGKILLs the process group of every live process recorded in
// pidDir and returns how many it signalled.
func killRecorded(pidDir string) int {
	entries, err := os.ReadDir(pidDir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(pidDir, e.Name()))
		if err != nil {
			continue
		}
		r, err := procs.ParsePidRecord(b)
		if err != nil || !procs.Alive(r.Pid, r.StartTicks) {
			continue
		}
		if procs.SignalGroup(r.Pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}
