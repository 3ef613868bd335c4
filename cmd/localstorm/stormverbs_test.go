package main

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/topology"
)

// runInProcess runs a localstorm command line in process and returns its
// stdout, stderr and exit code.
func runInProcess(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Run(context.Background(), cli.Streams{Out: &out, Err: &errb}, args)
	code := cli.Exit(&errb, err)
	return out.String(), errb.String(), code
}

// Storm's verbs check their arguments before they reach any cluster, with
// Storm's wording where Storm has one; Storm's long flags are accepted
// beside ours (they get as far as looking for the cluster).
func TestStormVerbsArguments(t *testing.T) {
	t.Setenv("LOCALSTORM_STATE_DIR", t.TempDir())
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"get-errors"}, 2, "get-errors needs exactly one topology NAME"},
		{[]string{"monitor", "wc", "-i", "0"}, 2, "poll interval must be positive"},
		{[]string{"monitor", "wc", "-w", "acked"}, 2, "watch item must either be transferred or emitted"},
		{[]string{"monitor", "wc", "-s", ""}, 2, "stream name must be something"},
		{[]string{"monitor", "wc", "--count", "-1"}, 2, "--count -1"},
		{[]string{"monitor"}, 2, "monitor needs exactly one topology NAME"},
		{[]string{"heartbeats", "list"}, 2, "Command and path arguments must be provided"},
		{[]string{"heartbeats", "put", "/workerbeats"}, 2, `heartbeats "put": use list or get`},
		{[]string{"heartbeats", "list", "workerbeats"}, 2, "PATH starts with /"},
		{[]string{"localconfvalue"}, 2, "localconfvalue needs exactly one KEY"},
		{[]string{"remoteconfvalue"}, 2, "remoteconfvalue needs exactly one KEY"},
		{[]string{"kill_workers", "extra"}, 2, "takes no arguments"},
		{[]string{"kill_workers", "--api", "http://127.0.0.1:1"}, 2, "use --cluster NAME, not --api"},
		{[]string{"rebalance", "wc", "-t", `topology.debug=true`}, 2, "give a JSON object of configuration keys"},
		{[]string{"rebalance", "wc", "-t", `[1]`}, 2, "give a JSON object of configuration keys"},
		{[]string{"rebalance", "wc", "-t", `{"topology.debug": true}`, "--cluster", "nothere"}, 1, "no running cluster"},
		{[]string{"rebalance", "wc", "--executor", "split"}, 2, "COMPONENT=N"},
		{[]string{"rebalance", "wc", "-r", `{"split": {"memory.mb": 256}}`}, 1, "does not schedule by resources"},
		{[]string{"rebalance", "wc", "--resources", `{}`}, 1, "does not schedule by resources"},
		// Storm's long flags parse: the command gets as far as the cluster.
		{[]string{"rebalance", "wc", "--executor", "split=3", "--wait-time-secs", "0", "--topology-conf", "", "--cluster", "nothere"}, 1, "no running cluster"},
		{[]string{"kill", "wc", "--wait-time-secs", "0", "--cluster", "nothere"}, 1, "no running cluster"},
		{[]string{"get-errors", "wc", "--cluster", "nothere"}, 1, "no running cluster"},
		{[]string{"set_log_level", "wc"}, 2, "give -l LOGGER=LEVEL[:TIMEOUT] or -r LOGGER"},
		{[]string{"set_log_level", "wc", "-l", "ROOT"}, 2, "expected LOGGER=LEVEL[:TIMEOUT-SECS]"},
		{[]string{"set_log_level", "wc", "-l", "ROOT=LOUD"}, 2, `level "LOUD"`},
		{[]string{"set_log_level", "wc", "-l", "ROOT=DEBUG:soon"}, 2, `timeout "soon"`},
		{[]string{"set_log_level", "-l", "ROOT=DEBUG"}, 2, "set_log_level needs exactly one topology NAME"},
		{[]string{"set_log_level", "wc", "-l", "ROOT=debug:30", "-r", "count", "--cluster", "nothere"}, 1, "no running cluster"},
	} {
		_, stderr, code := runInProcess(t, tc.args...)
		if code != tc.code || !strings.HasPrefix(stderr, "error: ") || !strings.Contains(stderr, tc.want) {
			t.Errorf("localstorm %q: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

// localconfvalue reads storm.yaml as Storm's client does: --config FILE,
// else storm.conf.file, else ~/.storm/storm.yaml, over Storm's defaults,
// with -c on top; it prints "KEY: VALUE" as storm.py does.
// set_log_level's flags become Storm UI's logconfig body: a level (upper
// case) with its timeout, or a removal (no target level).
func TestParseLogLevelFlags(t *testing.T) {
	req, err := parseLogLevelFlags([]string{"ROOT=debug:30", "count=WARN"}, []string{"split"})
	if err != nil {
		t.Fatal(err)
	}
	root, count, split := req.NamedLoggerLevels["ROOT"], req.NamedLoggerLevels["count"], req.NamedLoggerLevels["split"]
	if root.TargetLevel == nil || *root.TargetLevel != "DEBUG" || root.Timeout != 30 {
		t.Errorf("ROOT %+v", root)
	}
	if count.TargetLevel == nil || *count.TargetLevel != "WARN" || count.Timeout != 0 {
		t.Errorf("count %+v", count)
	}
	if _, ok := req.NamedLoggerLevels["split"]; !ok || split.TargetLevel != nil {
		t.Errorf("split %+v, want a removal", split)
	}
}

func TestLocalConfValue(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	write := func(path, text string) string { return writeFile(t, path, text) }
	dir := t.TempDir()
	flagFile := write(filepath.Join(dir, "flag.yaml"), "nimbus.seeds: [\"flag\"]\n")
	propFile := write(filepath.Join(dir, "prop.yaml"), "nimbus.seeds: [\"prop\"]\n")

	check := func(want string, args ...string) {
		t.Helper()
		out, stderr, code := runInProcess(t, append([]string{"localconfvalue"}, args...)...)
		if code != 0 || out != want {
			t.Errorf("localconfvalue %q: exit %d, stdout %q, stderr %q; want %q", args, code, out, stderr, want)
		}
	}
	check("topology.message.timeout.secs: 30\n", "topology.message.timeout.secs")
	check("supervisor.slots.ports: [6700, 6701, 6702, 6703]\n", "supervisor.slots.ports")
	check("topology.stats.sample.rate: 0.05\n", "topology.stats.sample.rate")
	check("no.such.key: null\n", "no.such.key")
	check("nimbus.seeds: [localhost]\n", "nimbus.seeds")
	write(filepath.Join(home, ".storm", "storm.yaml"), "nimbus.seeds: [\"home\"]\nstorm.zookeeper.root: /home-root\n")
	check("nimbus.seeds: [home]\n", "nimbus.seeds")
	check("nimbus.seeds: [prop]\n", "nimbus.seeds", "-c", "storm.conf.file="+propFile)
	check("nimbus.seeds: [flag]\n", "nimbus.seeds", "--config", flagFile, "-c", "storm.conf.file="+propFile)
	check("storm.zookeeper.root: /over\n", "storm.zookeeper.root", "-c", "storm.zookeeper.root=/over")
	check("{\n  \"nimbus.seeds\": [\n    \"home\"\n  ]\n}\n", "nimbus.seeds", "-o", "json")
	if _, stderr, code := runInProcess(t, "localconfvalue", "x", "--config", filepath.Join(dir, "missing.yaml")); code != 1 || !strings.Contains(stderr, "missing.yaml") {
		t.Errorf("a missing --config file: exit %d, stderr %q; want 1 naming the file", code, stderr)
	}
}

func TestJavaFormatting(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{0, "0.0"}, {1, "1.0"}, {1429.614, "1429.614"}, {0.05, "0.05"}, {0.0001, "1.0E-4"},
		{1.5e-5, "1.5E-5"}, {12345678, "1.2345678E7"}, {math.Inf(1), "Infinity"},
	} {
		if got := topology.JavaDouble(tc.f); got != tc.want {
			t.Errorf("javaDouble(%v) = %q, want %q", tc.f, got, tc.want)
		}
	}
	for _, tc := range []struct {
		v    any
		want string
	}{
		{nil, "null"}, {"x", "x"}, {float64(6700), "6700"}, {2.5, "2.5"}, {true, "true"}, {7, "7"},
		{[]any{"a", 1}, "[a, 1]"}, {map[string]any{"b": 1, "a": []any{}}, "{a=[], b=1}"},
	} {
		if got := topology.JavaConfString(tc.v); got != tc.want {
			t.Errorf("JavaConfString(%#v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// list prints Storm's ListTopologies columns.
func TestStormList(t *testing.T) {
	var b bytes.Buffer
	printStormList(&b, &api.TopologySummary{})
	if b.String() != "No topologies running.\n" {
		t.Errorf("no topologies: %q", b.String())
	}
	b.Reset()
	printStormList(&b, &api.TopologySummary{Topologies: []api.TopologyBrief{
		{ID: "wordcount-1-1700000000", Name: "wordcount", Status: "ACTIVE", TasksTotal: 7, WorkersTotal: 2, UptimeSeconds: 42},
	}})
	want := "Topology_name        Status     Num_tasks  Num_workers  Uptime_secs  Topology_Id          Owner               \n" +
		strings.Repeat("-", 88) + "\n" +
		"wordcount            ACTIVE     7          2            42           wordcount-1-1700000000                     \n"
	if b.String() != want {
		t.Errorf("list:\n%q\nwant\n%q", b.String(), want)
	}
}
