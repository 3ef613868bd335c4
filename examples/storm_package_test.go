package examples_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/examples/exclamation"
	"github.com/localstorm/localstorm/examples/reliable"
	"github.com/localstorm/localstorm/examples/wordcount"
	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/localcluster/submit"
	"github.com/localstorm/localstorm/testkit"
	"github.com/localstorm/localstorm/topology"
	"github.com/localstorm/localstorm/topology/flux"
	"github.com/localstorm/localstorm/topology/fluxgen"
	"github.com/localstorm/localstorm/topology/run"
	"github.com/localstorm/localstorm/topology/shell"
)

// The same topologies, two ways: natively, and packaged for Storm (the Flux
// YAML `storm-package` writes, run by localstorm's Flux runner, every
// component a multilang subprocess of localstorm's shell host).

// exampleBuilders are the examples the multilang tests run, by name.
var exampleBuilders = map[string]func() *topology.Builder{
	"wordcount":   wordcount.Builder,
	"exclamation": exclamation.Builder,
	"reliable":    func() *topology.Builder { return reliable.Builder(0, 0.3) },
}

// serveMultilang makes the test binary a topology binary of the examples:
// `TESTBIN multilang --component ID` serves the example that has ID (their
// component ids differ), as the example's own binary would.
func serveMultilang(args []string) int {
	comp := ""
	for i, a := range args {
		if a == "--component" && i+1 < len(args) {
			comp = args[i+1]
		}
	}
	for name, b := range exampleBuilders {
		t, err := b().Build()
		if err != nil {
			continue
		}
		if t.Definition.Spouts[comp] != nil || t.Definition.Bolts[comp] != nil {
			return run.Execute(context.Background(), &run.Env{Name: name, Builder: b(), Streams: cli.StdStreams()}, args)
		}
	}
	fmt.Fprintf(os.Stderr, "no example has component %q\n", comp)
	return 1
}

// packagedBuilder is the example as Storm would run it from its package:
// the Flux YAML storm-package writes (here naming the binary the worker's
// code dir holds, the test binary: see serveMultilang), loaded by
// localstorm's Flux runner, as a builder of shell components.
func packagedBuilder(t *testing.T, name string) *topology.Builder {
	t.Helper()
	native, err := exampleBuilders[name]().Build()
	if err != nil {
		t.Fatal(err)
	}
	text, err := fluxgen.YAML(name, "stormcode", native.Definition)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "topology.yaml")
	if err := os.WriteFile(path, text, 0o644); err != nil {
		t.Fatal(err)
	}
	loaded, err := flux.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return shellBuilder(t, loaded.Definition)
}

// shellBuilder declares the shell components of d on a builder.
func shellBuilder(t *testing.T, d *topology.Definition) *topology.Builder {
	t.Helper()
	b := topology.NewBuilder()
	for k, v := range d.Conf {
		b.SetConf(k, v)
	}
	for _, id := range slices.Sorted(maps.Keys(d.Spouts)) {
		c := d.Spouts[id]
		s := b.SetShellSpout(id, c.Shell.Command, c.Outputs, c.Parallelism)
		for k, v := range c.Conf {
			s.AddConfig(k, v)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(d.Bolts)) {
		c := d.Bolts[id]
		bd := b.SetShellBolt(id, c.Shell.Command, c.Outputs, c.Parallelism)
		for k, v := range c.Conf {
			bd.AddConfig(k, v)
		}
		for _, in := range c.Inputs {
			switch in.Grouping.Type {
			case topology.GroupShuffle:
				bd.ShuffleGrouping(in.Component, in.Stream)
			case topology.GroupFields:
				bd.FieldsGrouping(in.Component, in.Grouping.Fields, in.Stream)
			default:
				t.Fatalf("shellBuilder: grouping %s not used by the examples", in.Grouping.Type)
			}
		}
	}
	return b
}

// sorted renders tuples as sorted JSON, to compare runs whose order differs.
func sorted(t *testing.T, tuples []topology.Values) []string {
	t.Helper()
	out := make([]string, len(tuples))
	for i, v := range tuples {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	slices.Sort(out)
	return out
}

// TestNativeAndPackagedGiveTheSameTuples: for word count, exclamation and
// reliable, CompleteTopology over the native SDK path and over the packaged
// multilang path yields the same tuples per component with every mocked
// input acked; the reliable example's bolt fails tuples across the multilang
// boundary and the spout replays them until all are acked.
func TestNativeAndPackagedGiveTheSameTuples(t *testing.T) {
	c := testkit.Start(t, testkit.Options{Supervisors: 1, Slots: 4})
	var sentences, words, messages []topology.Values
	for i := range 20 {
		sentences = append(sentences, topology.Values{wordcount.Sentences[i%len(wordcount.Sentences)]})
		words = append(words, topology.Values{exclamation.Words[i%len(exclamation.Words)]})
	}
	for i := range 60 {
		messages = append(messages, topology.Values{fmt.Sprintf("message-%d", i)})
	}
	cases := []struct {
		name    string
		spout   string
		mocks   []topology.Values
		outputs []string // component ids whose default stream is compared
	}{
		{"wordcount", "sentences", sentences, []string{"split", "count"}},
		{"exclamation", "word", words, []string{"exclaim1", "exclaim2"}},
		{"reliable", "messages", messages, []string{"flaky"}},
	}
	conf := map[string]any{"topology.workers": 1, "topology.message.timeout.secs": 30}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var native, packaged testkit.Results
			t.Run("native", func(t *testing.T) {
				native = testkit.CompleteTopology(t, c, exampleBuilders[tc.name](), testkit.MockedSources{tc.spout: tc.mocks},
					testkit.CompleteOptions{Conf: conf, Timeout: 2 * time.Minute})
			})
			t.Run("multilang", func(t *testing.T) {
				packaged = testkit.CompleteTopology(t, c, packagedBuilder(t, tc.name), testkit.MockedSources{tc.spout: tc.mocks},
					testkit.CompleteOptions{Conf: conf, Timeout: 2 * time.Minute})
			})
			if t.Failed() {
				return
			}
			for _, comp := range tc.outputs {
				n, p := sorted(t, native.Tuples(comp, "default")), sorted(t, packaged.Tuples(comp, "default"))
				t.Logf("%s: %d tuples natively, %d through multilang", comp, len(n), len(p))
				if len(n) == 0 || !slices.Equal(n, p) {
					t.Errorf("%s: native emitted %d tuples %v\nmultilang emitted %d tuples %v", comp, len(n), n, len(p), p)
				}
			}
			t.Logf("%s: replayed %d failures natively, %d through multilang", tc.spout, native.Failed(tc.spout), packaged.Failed(tc.spout))
			if tc.name == "reliable" {
				if packaged.Failed(tc.spout) == 0 || native.Failed(tc.spout) == 0 {
					t.Errorf("no failure replayed (native %d, multilang %d) at a 30%% failure rate", native.Failed(tc.spout), packaged.Failed(tc.spout))
				}
			}
		})
	}
}

// TestStormPackagesRunOnACluster packages example binaries with their
// storm-package command and runs the packages as localstorm runs them:
// `submit PACKAGE.jar`, and `submit topology.yaml` next to its jar. The
// reliable example's spout and bolt are both multilang subprocesses: its
// failures reach the spout through the protocol and are replayed.
func TestStormPackagesRunOnACluster(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("a Storm package's linux/amd64 binary runs only there (localstorm submit refuses it elsewhere)")
	}
	bins := buildExamples(t, "./examples/wordcount/cmd/wordcount", "./examples/reliable/cmd/reliable")
	c := testkit.Start(t, testkit.Options{Supervisors: 1, Slots: 4})
	for _, ex := range []struct{ name, submitted string }{
		{"wordcount", "jar"},
		{"reliable", "yaml"},
	} {
		t.Run(ex.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(filepath.Join(bins, ex.name), "storm-package", "-o", dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("storm-package: %v\n%s", err, out)
			}
			path := filepath.Join(dir, ex.name+".jar")
			if ex.submitted == "yaml" {
				path = filepath.Join(dir, "topology.yaml")
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			id, err := submit.Path(ctx, c.Client(), path, submit.Options{Wait: true})
			if err != nil {
				t.Fatal(err)
			}
			c.WaitAcked(t, id, 50)
			if ex.name == "reliable" {
				c.WaitFor(t, "the multilang spout to see failures", func() (bool, string) {
					info, err := c.Client().Topology(ctx, id)
					if err != nil || len(info.Spouts) == 0 {
						return false, fmt.Sprint(err)
					}
					return info.Spouts[0].Failed > 0, fmt.Sprintf("spout %+v", info.Spouts[0])
				}, id)
			}
			if err := c.Client().Kill(ctx, id, 0); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestPackagedMetricsExample: the metrics example, packaged for Storm and
// run by localstorm's Flux runner and shell host as Storm runs it. Its
// count bolt registers metrics in multilang mode as natively, but the host
// (as Storm's FluxShellBolt) registers no shell metric, so the subprocess
// must send no "metrics" command (Storm's ShellBolt would kill it: "Could
// not find metric by name"): the bolt keeps counting, logs one warning
// naming its metrics, and the logging consumer, carried in the package's
// config, logs the built-in metrics of the count bolt but not its own.
func TestPackagedMetricsExample(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("a Storm package's linux/amd64 binary runs only there (localstorm submit refuses it elsewhere)")
	}
	bins := buildExamples(t, "./examples/metrics/cmd/metrics")
	c := testkit.Start(t, testkit.Options{Supervisors: 1, Slots: 2})
	dir := t.TempDir()
	if out, err := exec.Command(filepath.Join(bins, "metrics"), "storm-package", "-o", dir).CombinedOutput(); err != nil {
		t.Fatalf("storm-package: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	id, err := submit.Path(ctx, c.Client(), filepath.Join(dir, "metrics.jar"), submit.Options{Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	c.WaitAcked(t, id, 50)
	testutil.Eventually(t, 60*time.Second, "the count bolt's built-in metrics in the metrics log", func() bool {
		return strings.Contains(workerFiles(c, id, workercontract.MetricsLogName), "__execute-count        \t{split:default=")
	})
	logs := workerFiles(c, id, workercontract.WorkerLogPattern)
	if strings.Contains(logs, "Could not find metric") {
		t.Errorf("a subprocess sent a metrics command the host never registered:\n%.3000s", logs)
	}
	for _, want := range []string{shell.UncarriedMetricsWarning, `component "count" registered word-length, words-counted`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the worker log lacks %q:\n%.3000s", want, logs)
		}
	}
	if m := workerFiles(c, id, workercontract.MetricsLogName); strings.Contains(m, "words-counted") {
		t.Errorf("the metrics log has the subprocess's own metric:\n%.2000s", m)
	}
	if err := c.Client().Kill(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
}
