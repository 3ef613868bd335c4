// Package testkit runs end-to-end tests of topologies in plain `go test`, on a
// real localstorm cluster whose workers are real subprocesses.
//
// A test binary is also its topologies' worker: supervisors start the test
// binary itself with `worker FLAGS`; Main then re-runs the one test that
// submitted the topology, and the testkit call that submitted it (Submit or
// CompleteTopology) becomes the worker instead of submitting. So topologies are
// built in test code with no separate binary. Test code that runs before that
// call runs again in the worker: keep it to building the topology.
//
//	func TestMain(m *testing.M) { testkit.Main(m) }
//
//	func TestWordCount(t *testing.T) {
//		c := testkit.Start(t)
//		res := testkit.CompleteTopology(t, c, wordcount.Builder(), testkit.MockedSources{
//			"sentences": {{"the cow"}, {"the moon"}},
//		})
//		testkit.AssertTuples(t, res.Tuples("count", "default"), ...)
//	}
package testkit

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/localstorm/localstorm/daemons/worker"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/localcluster/submit"
	"github.com/localstorm/localstorm/topology"
	// Shell components may appear in tested topologies.
	_ "github.com/localstorm/localstorm/topology/shell"
)

// workerMode is set when this process is a worker started by a supervisor.
var workerMode *workerRun

type workerRun struct {
	opts worker.Options
	name string // the topology name the worker runs
}

// Main runs the package's tests, or the worker a supervisor asked for.
// Call it from TestMain.
func Main(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		os.Exit(startWorkerMode(m))
	}
	os.Exit(m.Run())
}

func startWorkerMode(m *testing.M) int {
	fluxFile, args := workercontract.SplitFlux(os.Args[2:])
	opts, err := worker.ParseArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	conf, err := submit.ReadTopologyConf(opts.CodeDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testkit worker:", err)
		return 1
	}
	if on, _ := conf[simTimeKey].(bool); on {
		bridgeURL, _ := conf[bridgeKey].(string)
		if opts.Clock, err = startSimulatedClock(bridgeURL, opts.Worker); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if _, isFlux := conf[submit.ConfFluxFile]; isFlux || fluxFile != "" {
		// The test binary stands in for localstorm as the Flux worker.
		topo, err := submit.WorkerTopology(opts.CodeDir, fluxFile, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return runWorker(opts, topo)
	}
	run, _ := conf[submit.ConfTestRun].(string)
	name, _ := conf["topology.name"].(string)
	if run == "" || name == "" {
		fmt.Fprintln(os.Stderr, "testkit worker: stormconf.json does not name the test that submitted the topology")
		return 1
	}
	workerMode = &workerRun{opts: opts, name: name}
	// Re-run only the submitting test; its testkit call becomes the worker
	// and exits the process.
	os.Args = []string{os.Args[0], "-test.run=" + run, "-test.count=1", "-test.timeout=0"}
	code := m.Run()
	fmt.Fprintf(os.Stderr, "testkit worker: test %s finished without reaching the submit of topology %q\n", run, name)
	if code == 0 {
		code = 1
	}
	return code
}

// runPattern is the -test.run pattern selecting exactly the test named name.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// serveAsWorker runs the worker for topology name if this process is the
// worker of that topology; it never returns then. Otherwise it returns.
func serveAsWorker(name string, topo *topology.Topology) {
	if workerMode == nil || workerMode.name != name {
		return
	}
	os.Exit(runWorker(workerMode.opts, topo))
}

// runWorker runs a worker until it is told to stop and returns the exit code.
func runWorker(opts worker.Options, topo *topology.Topology) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	opts.Topology = topo
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	opts.Ready = os.Stdout
	if err := worker.Run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// inWorker reports whether this process is a worker (and so starts no cluster).
func inWorker() bool { return workerMode != nil }

// InWorker reports whether this process is a worker that a supervisor
// started (the test is re-run only to build its topology). A test skips
// there what must happen once, such as starting a server the topology uses.
func InWorker() bool { return inWorker() }
