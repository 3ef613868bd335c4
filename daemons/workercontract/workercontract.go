// Package workercontract is the contract between a supervisor and the worker
// processes it starts, shared by both ends as go-plugin shares its
// HandshakeConfig: the worker's command line (Worker, Parse), the line a
// worker prints once it serves (Ready, ParseReady), and the directory layout
// under a daemon's local dir and a localcluster's data dir (LocalDir,
// DataDir). docs/internals.md describes the same contract in prose.
//
// Nimbus, supervisor and worker never import each other; besides ZooKeeper
// and HTTP, this package is where they meet. It imports only the standard
// library.
package workercontract

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Subcommand is the first argument of a worker command line: a Go topology
// binary runs `stormcode worker FLAGS`, localstorm runs Flux workers as
// `localstorm worker --flux FILE FLAGS`.
const Subcommand = "worker"

// FluxFlag names the Flux definition a localstorm worker runs.
const FluxFlag = "--flux"

// DefaultZKRoot is the ZooKeeper root of a worker not given --zookeeper-root.
const DefaultZKRoot = "/storm"

// Worker is what a supervisor tells a worker process on its command line.
type Worker struct {
	TopologyID, SupervisorID, WorkerID string
	Port                               int
	ZooKeeper                          []string // host:port
	ZKRoot                             string
	LocalDir                           string // the supervisor's storm.local.dir
	CodeDir                            string // holds stormconf.json and stormtopology.json
}

// Usage is the synopsis of the worker flags, added to every Parse error.
const Usage = "usage: worker --topology-id ID --supervisor-id SID --port P --worker-id WID --zookeeper HOST:PORT[,HOST:PORT] [--zookeeper-root /storm] --local-dir DIR --code-dir DIR"

// Args are the flags that Parse reads back into w.
func (w Worker) Args() []string {
	return []string{
		"--topology-id", w.TopologyID,
		"--supervisor-id", w.SupervisorID,
		"--port", strconv.Itoa(w.Port),
		"--worker-id", w.WorkerID,
		"--zookeeper", strings.Join(w.ZooKeeper, ","),
		"--zookeeper-root", w.ZKRoot,
		"--local-dir", w.LocalDir,
		"--code-dir", w.CodeDir,
	}
}

// Parse reads the flags of Worker.Args (without Subcommand and FluxFlag,
// see SplitFlux). Every flag but --zookeeper-root is required.
func Parse(args []string) (Worker, error) {
	var w Worker
	fs := flag.NewFlagSet(Subcommand, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var zk string
	fs.StringVar(&w.TopologyID, "topology-id", "", "topology id")
	fs.StringVar(&w.SupervisorID, "supervisor-id", "", "supervisor id")
	fs.IntVar(&w.Port, "port", 0, "slot port")
	fs.StringVar(&w.WorkerID, "worker-id", "", "worker id")
	fs.StringVar(&zk, "zookeeper", "", "ZooKeeper servers, host:port[,host:port]")
	fs.StringVar(&w.ZKRoot, "zookeeper-root", DefaultZKRoot, "ZooKeeper root")
	fs.StringVar(&w.LocalDir, "local-dir", "", "storm.local.dir")
	fs.StringVar(&w.CodeDir, "code-dir", "", "directory with stormconf.json and stormtopology.json")
	if err := fs.Parse(args); err != nil {
		return w, usageError(err)
	}
	if fs.NArg() > 0 {
		return w, usageError(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	for _, s := range strings.Split(zk, ",") {
		if s = strings.TrimSpace(s); s != "" {
			w.ZooKeeper = append(w.ZooKeeper, s)
		}
	}
	var missing []string
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"--topology-id", w.TopologyID != ""}, {"--supervisor-id", w.SupervisorID != ""},
		{"--port", w.Port != 0}, {"--worker-id", w.WorkerID != ""}, {"--zookeeper", len(w.ZooKeeper) > 0},
		{"--local-dir", w.LocalDir != ""}, {"--code-dir", w.CodeDir != ""},
	} {
		if !f.ok {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return w, usageError(fmt.Errorf("missing %s", strings.Join(missing, ", ")))
	}
	if w.Port < 1 || w.Port > 65535 {
		return w, usageError(fmt.Errorf("--port %d is not a TCP port (1-65535)", w.Port))
	}
	return w, nil
}

func usageError(err error) error { return fmt.Errorf("worker: %w\n%s", err, Usage) }

// GoCommand is the start of the command line of a Go topology's worker,
// run from its binary.
func GoCommand() []string { return []string{Subcommand} }

// FluxCommand is the start of the command line of a Flux topology's worker,
// run by localstorm (or a test binary standing in for it).
func FluxCommand(fluxFile string) []string { return []string{Subcommand, FluxFlag, fluxFile} }

// SplitFlux takes FluxFlag and its value (`--flux FILE` or `--flux=FILE`)
// out of a worker command line, leaving the flags Parse reads.
func SplitFlux(args []string) (fluxFile string, rest []string) {
	rest = make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == FluxFlag && i+1 < len(args):
			fluxFile = args[i+1]
			i++
		case strings.HasPrefix(args[i], FluxFlag+"="):
			fluxFile = strings.TrimPrefix(args[i], FluxFlag+"=")
		default:
			rest = append(rest, args[i])
		}
	}
	return fluxFile, rest
}

// ReadyPrefix starts the one line a worker prints on stdout once it serves:
// the supervisor's launch waits for it (procs.Spec.ReadyPrefix).
const ReadyPrefix = "localstorm-worker-ready"

// Ready is the content of a worker's ready line.
type Ready struct{ Port, Pid int }

// String is the ready line, without its newline:
// "localstorm-worker-ready port=P pid=N".
func (r Ready) String() string {
	return fmt.Sprintf("%s port=%d pid=%d", ReadyPrefix, r.Port, r.Pid)
}

// ParseReady reads a ready line written by Ready.String.
func ParseReady(line string) (Ready, error) {
	var r Ready
	rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), ReadyPrefix+" ")
	if !ok {
		return r, fmt.Errorf("not a worker ready line: %q", line)
	}
	fields := strings.Fields(rest)
	if len(fields) != 2 {
		return r, fmt.Errorf("worker ready line %q: want port=P pid=N", line)
	}
	var errs []error
	for i, f := range []struct {
		key string
		dst *int
	}{{"port", &r.Port}, {"pid", &r.Pid}} {
		v, ok := strings.CutPrefix(fields[i], f.key+"=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("%s: want %s=<positive number>", fields[i], f.key))
		}
		*f.dst = n
	}
	if err := errors.Join(errs...); err != nil {
		return Ready{}, fmt.Errorf("worker ready line %q: %w", line, err)
	}
	return r, nil
}
