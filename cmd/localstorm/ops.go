package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/localcluster/registry"
	"github.com/localstorm/localstorm/localcluster/submit"
	"github.com/localstorm/localstorm/topology"
)

// printOut prints v as JSON with -o json, else calls text.
func printOut(s cli.Streams, g *globals, v any, text func(w io.Writer)) error {
	switch g.output {
	case "json":
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "text", "":
		tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
		text(tw)
		return tw.Flush()
	default:
		return cli.Usagef("-o %q: use text or json", g.output)
	}
}

func runSubmit(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "submit", "PATH [flags]   (PATH: a topology binary, a Flux .yaml, or a .jar of BIN storm-package)")
	g.register(fs)
	name := fs.String("topology-name", "", "topology name (default: the topology's own)")
	overrides := fs.StringArrayP("config", "c", nil, "topology config key=value (YAML value); repeatable")
	wait := fs.Bool("wait", false, "wait until every executor runs")
	inactive := fs.Bool("inactive", false, "submit INACTIVE")
	timeout := fs.Duration("timeout", 2*time.Minute, "with --wait: how long to wait")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("submit needs exactly one PATH")
	}
	conf, err := cli.Overrides(*overrides)
	if err != nil {
		return err
	}
	c, _, err := g.client()
	if err != nil {
		return err
	}
	if *wait {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	warn := func(msg string) { fmt.Fprintln(s.Err, "warning:", msg) }
	id, err := submit.Path(ctx, c, fs.Arg(0), submit.Options{Name: *name, Conf: conf, Wait: *wait, Inactive: *inactive, Warn: warn})
	if err != nil {
		return err
	}
	fmt.Fprintln(s.Out, id)
	return nil
}

// readCommand parses the flags of a read command that takes no arguments and
// finds its cluster.
func readCommand(s cli.Streams, g *globals, name string, args []string) (*api.Client, *registry.Record, error) {
	fs := newFlags(s, name, "[flags]")
	g.register(fs)
	g.registerOutput(fs)
	if err := cli.ParseNoArgs(fs, args); err != nil {
		return nil, nil, err
	}
	return g.client()
}

func runList(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	c, _, err := readCommand(s, g, "list", args)
	if err != nil {
		return err
	}
	sum, err := c.TopologySummary(ctx)
	if err != nil {
		return err
	}
	return printOut(s, g, sum, func(w io.Writer) {
		printStormList(w, sum)
	})
}

// topologyAction is the shape of kill, activate and deactivate.
func topologyAction(ctx context.Context, s cli.Streams, g *globals, args []string, name string, withWait bool,
	do func(c *api.Client, id string, wait int) error) error {
	fs := newFlags(s, name, "NAME [flags]")
	fs.SetNormalizeFunc(stormFlagNames)
	g.register(fs)
	wait := -1
	if withWait {
		fs.IntVarP(&wait, "wait", "w", -1, "seconds to wait before acting (default: the topology's message timeout)")
	}
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("%s needs exactly one topology NAME", name)
	}
	c, _, err := g.client()
	if err != nil {
		return err
	}
	id, err := topologyID(ctx, c, fs.Arg(0))
	if err != nil {
		return err
	}
	if err := do(c, id, wait); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "%s %s: ok\n", name, fs.Arg(0))
	return nil
}

func runKill(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	return topologyAction(ctx, s, g, args, "kill", true, func(c *api.Client, id string, w int) error { return c.Kill(ctx, id, w) })
}

func runActivate(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	return topologyAction(ctx, s, g, args, "activate", false, func(c *api.Client, id string, _ int) error { return c.Activate(ctx, id) })
}

func runDeactivate(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	return topologyAction(ctx, s, g, args, "deactivate", false, func(c *api.Client, id string, _ int) error { return c.Deactivate(ctx, id) })
}

func runRebalance(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "rebalance", "NAME [-w SECS] [-n WORKERS] [-e COMPONENT=N]... [-t JSON]")
	g.register(fs)
	wait := fs.IntP("wait", "w", -1, "seconds to wait before rebalancing (default: the message timeout)")
	workers := fs.IntP("num-workers", "n", 0, "new number of workers")
	execs := fs.StringArrayP("executors", "e", nil, "COMPONENT=N new parallelism; repeatable")
	fs.SetNormalizeFunc(stormFlagNames)
	checkTopologyConf := registerTopologyConf(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	topologyConf, err := checkTopologyConf()
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("rebalance needs exactly one topology NAME")
	}
	parallelism := map[string]int{}
	for _, e := range *execs {
		comp, n, ok := strings.Cut(e, "=")
		v, err := strconv.Atoi(n)
		if !ok || comp == "" || err != nil || v < 1 {
			return cli.Usagef("-e %q: expected COMPONENT=N with N ≥ 1", e)
		}
		parallelism[comp] = v
	}
	c, _, err := g.client()
	if err != nil {
		return err
	}
	id, err := topologyID(ctx, c, fs.Arg(0))
	if err != nil {
		return err
	}
	o := api.RebalanceOptions{NumWorkers: *workers, Executors: parallelism, TopologyConf: topologyConf}
	if err := c.RebalanceWith(ctx, id, *wait, o); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "rebalance %s: ok\n", fs.Arg(0))
	return nil
}

func runStatus(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	c, rec, err := readCommand(s, g, "status", args)
	if err != nil {
		return err
	}
	sum, err := c.ClusterSummary(ctx)
	if err != nil {
		return err
	}
	doc := statusOf(sum, rec)
	topos, err := c.TopologySummary(ctx)
	if err != nil {
		return err
	}
	for _, t := range topos.Topologies {
		if len(t.TopologyErrors) > 0 {
			if doc.TopologyErrors == nil {
				doc.TopologyErrors = map[string][]string{}
			}
			doc.TopologyErrors[t.Name] = t.TopologyErrors
		}
	}
	return printOut(s, g, doc, func(w io.Writer) {
		if rec != nil {
			fmt.Fprintf(w, "cluster\t%s (pid %d)\n", rec.Name, rec.PID)
			writeAddresses(w, "", rec)
		}
		fmt.Fprintf(w, "nimbus uptime\t%s\n", sum.NimbusUptime)
		fmt.Fprintf(w, "supervisors\t%d\n", sum.Supervisors)
		fmt.Fprintf(w, "slots\t%d used, %d free, %d total\n", sum.SlotsUsed, sum.SlotsFree, sum.SlotsTotal)
		fmt.Fprintf(w, "topologies\t%d\n", sum.Topologies)
		fmt.Fprintf(w, "executors\t%d\n", sum.ExecutorsTotal)
		fmt.Fprintf(w, "tasks\t%d\n", sum.TasksTotal)
		for _, name := range slices.Sorted(maps.Keys(doc.TopologyErrors)) {
			for _, e := range doc.TopologyErrors[name] {
				fmt.Fprintf(w, "error\t%s: %s\n", name, e)
			}
		}
	})
}

func runTopology(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "topology", "NAME [flags]")
	g.register(fs)
	g.registerOutput(fs)
	window := fs.String("window", api.WindowAllTime, "stats window: 600, 10800, 86400 or :all-time")
	sys := fs.Bool("sys", false, "list the system components (__acker) too, as Storm UI's \"show system stats\"")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("topology needs exactly one topology NAME")
	}
	c, _, err := g.client()
	if err != nil {
		return err
	}
	id, err := topologyID(ctx, c, fs.Arg(0))
	if err != nil {
		return err
	}
	info, err := c.TopologyView(ctx, id, *window, *sys)
	if err != nil {
		return err
	}
	return printOut(s, g, info, func(w io.Writer) { printTopology(w, info) })
}

func printTopology(w io.Writer, t *api.TopologyInfo) {
	fmt.Fprintf(w, "%s\t%s\t%s\tuptime %s\tworkers %d\texecutors %d\ttasks %d\n", t.Name, t.ID, t.Status, t.Uptime, t.WorkersTotal, t.ExecutorsTotal, t.TasksTotal)
	if t.SchedulerInfo != "" {
		fmt.Fprintf(w, "scheduler\t%s\n", t.SchedulerInfo)
	}
	for _, e := range t.TopologyErrors {
		fmt.Fprintf(w, "error\t%s\n", e)
	}
	for _, st := range t.TopologyStats {
		if st.Window == t.Window || (t.Window == "" && st.Window == api.WindowAllTime) {
			fmt.Fprintf(w, "totals (%s)\temitted %d\ttransferred %d\tacked %d\tfailed %d\tcomplete latency %s ms\n", st.WindowPretty, st.Emitted, st.Transferred, st.Acked, st.Failed, st.CompleteLatency)
		}
	}
	fmt.Fprintln(w, "\nSPOUT\tEXECUTORS\tTASKS\tEMITTED\tACKED\tFAILED\tLATENCY(ms)\tLAST ERROR")
	for _, sp := range t.Spouts {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", sp.SpoutID, sp.Executors, sp.Tasks, sp.Emitted, sp.Acked, sp.Failed, sp.CompleteLatency, oneLine(sp.LastError))
	}
	fmt.Fprintln(w, "\nBOLT\tEXECUTORS\tTASKS\tEXECUTED\tEMITTED\tACKED\tFAILED\tCAPACITY\tLAST ERROR")
	for _, b := range t.Bolts {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", b.BoltID, b.Executors, b.Tasks, b.Executed, b.Emitted, b.Acked, b.Failed, b.Capacity, oneLine(b.LastError))
	}
	fmt.Fprintln(w, "\nWORKER\tSUPERVISOR\tEXECUTORS\tUPTIME")
	for _, wk := range t.Workers {
		fmt.Fprintf(w, "%s:%d\t%s\t%d\t%s\n", wk.Host, wk.Port, wk.SupervisorID, wk.ExecutorsTotal, wk.Uptime)
	}
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

func runLogs(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "logs", "NAME [--port P] [-f] [--metrics | --events]")
	g.register(fs)
	port := fs.Int("port", 0, "only the worker on this slot port")
	follow := fs.BoolP("follow", "f", false, "keep printing new lines")
	metrics := fs.Bool("metrics", false, "the metrics log (topology.metrics.consumer.register with "+topology.LoggingMetricsConsumerClass+")")
	events := fs.Bool("events", false, "the event log of sampled tuples (localstorm debug NAME enable)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("logs needs exactly one topology NAME")
	}
	if *metrics && *events {
		return cli.Usagef("logs: give --metrics or --events, not both")
	}
	pattern, what := workercontract.WorkerLogPattern, "worker logs"
	switch {
	case *metrics:
		pattern, what = workercontract.MetricsLogName, "metrics log (is a metrics consumer registered? topology.metrics.consumer.register)"
	case *events:
		pattern, what = workercontract.EventsLogName, "event log (is debug enabled? localstorm debug NAME enable; topology.eventlogger.executors > 0)"
	}
	c, rec, err := g.client()
	if err != nil {
		return err
	}
	if rec == nil {
		return cli.Usagef("logs reads files from the cluster's data dir: use --cluster NAME, not --api")
	}
	id, err := topologyID(ctx, c, fs.Arg(0))
	if err != nil {
		return err
	}
	files, err := logFiles(rec.DataDir, id, *port, pattern)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no %s of %s yet under %s", what, fs.Arg(0), rec.DataDir)
	}
	offsets := map[string]int64{}
	for {
		for _, f := range files {
			off, err := printFrom(s.Out, f, offsets[f], len(files) > 1)
			if err == nil {
				offsets[f] = off
			}
		}
		if !*follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
		if more, err := logFiles(rec.DataDir, id, *port, pattern); err == nil {
			files = more
		}
	}
}

// logFiles lists the current worker files matching pattern of a topology in
// every supervisor's local dir.
func logFiles(dataDir, id string, port int, pattern string) ([]string, error) {
	files, err := filepath.Glob(workercontract.DataDir(dataDir).WorkerFiles(id, port, pattern))
	sort.Strings(files)
	return files, err
}

func printFrom(w io.Writer, path string, off int64, prefix bool) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return off, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() < off {
		off = 0 // rotated
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return off, err
	}
	r := bufio.NewReader(f)
	label := filepath.Base(filepath.Dir(path)) + " " + strings.TrimSuffix(filepath.Base(path), ".log")
	for {
		line, err := r.ReadString('\n')
		if len(line) > 0 && strings.HasSuffix(line, "\n") {
			off += int64(len(line))
			if prefix {
				fmt.Fprintf(w, "[%s] %s", label, line)
			} else {
				fmt.Fprint(w, line)
			}
		}
		if err != nil {
			return off, nil
		}
	}
}

// writeAddresses writes where the cluster of rec is reached, a line each,
// each line starting with indent.
func writeAddresses(w io.Writer, indent string, rec *registry.Record) {
	fmt.Fprintf(w, "%sapi\t%s\n", indent, rec.APIURL)
	if rec.ThriftAddr != "" {
		fmt.Fprintf(w, "%sthrift\t%s\n", indent, rec.ThriftAddr)
	}
	fmt.Fprintf(w, "%szookeeper\t%s (%s)\n", indent, rec.ZooKeeper, rec.ZooKeeperMode)
	fmt.Fprintf(w, "%sdata dir\t%s\n", indent, rec.DataDir)
}
