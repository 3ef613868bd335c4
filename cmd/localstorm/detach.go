package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/localstorm/localstorm/internal/cli"
	"github.com/localstorm/localstorm/localcluster"
	"github.com/localstorm/localstorm/localcluster/registry"
	"github.com/localstorm/localstorm/procs"
)

// detachedEnv marks the `up` that `up --detach` re-executes: that one runs
// in the foreground of its own session, its output in its log file, whose
// path is the variable's value.
const detachedEnv = "LOCALSTORM_DETACHED"

// detachedLog is the name of a detached cluster's log in its --dir.
const detachedLog = "localstorm.log"

// detachedChild tells the re-executed `up` that it is the detached one, and
// the path of its log (and forgets it, so that nothing it starts inherits
// the mark).
func detachedChild() (logPath string, ok bool) {
	logPath = os.Getenv(detachedEnv)
	if logPath == "" {
		return "", false
	}
	os.Unsetenv(detachedEnv)
	return logPath, true
}

// detachedLogPath is where a detached cluster logs: in its data dir when
// --dir gives one (the log stays with the state it describes), else in the
// state dir, by the cluster's name.
func detachedLogPath(name, dataDir string) (string, error) {
	if dataDir == "" {
		if err := os.MkdirAll(registry.StateDir(), 0o700); err != nil {
			return "", fmt.Errorf("detach: create state dir: %w", err)
		}
		return registry.LogPath(name), nil
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", fmt.Errorf("detach: create --dir %s: %w", dataDir, err)
	}
	// A cluster running on the dir keeps its log: this one is refused
	// before it truncates it.
	lock, err := localcluster.LockDataDir(dataDir)
	if err != nil {
		return "", err
	}
	lock.Close()
	abs, err := filepath.Abs(filepath.Join(dataDir, detachedLog))
	if err != nil {
		return "", fmt.Errorf("detach: %w", err)
	}
	return abs, nil
}

// detachedCluster is what `up --detach -o json` prints: how to reach the
// cluster it started and where it logs.
type detachedCluster struct {
	Name          string `json:"name"`
	PID           int    `json:"pid"`
	API           string `json:"api"`
	Thrift        string `json:"thrift,omitempty"`
	ThriftPort    int    `json:"thriftPort,omitempty"`
	ZooKeeper     string `json:"zookeeper"`
	ZooKeeperMode string `json:"zookeeperMode"`
	DataDir       string `json:"dataDir"`
	LogFile       string `json:"logFile"`
}

// upDetached re-executes `up ARGS` in a session of its own (so it survives
// the shell that started it and its terminal's signals), its stdin
// /dev/null and its stdout and stderr its log file, and returns when that
// cluster is usable: recorded in the registry, which `up` does only after
// localcluster.Start returned. The child is a plain exec: it holds no
// lifeline of this process (procs.Launch's), which would kill it when this
// command exits. If it exits, or is not up within timeout, it is stopped
// (its workers die with it) and the error carries its log's last lines.
// The log is in dataDir when one is given, else in the state dir.
func upDetached(ctx context.Context, s cli.Streams, g *globals, args []string, dataDir string, timeout time.Duration) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("detach: find this program: %w", err)
	}
	logPath, err := detachedLogPath(g.cluster, dataDir)
	if err != nil {
		return err
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("detach: open log file: %w", err)
	}
	defer logFile.Close()
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	defer devNull.Close()

	cmd := exec.Command(exe, append([]string{"up"}, args...)...)
	cmd.Env = append(withoutEnv(os.Environ(), procs.LifelineEnv), detachedEnv+"="+logPath)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devNull, logFile, logFile
	cmd.SysProcAttr = sessionAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("detach: start cluster %q: %w", g.cluster, err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fmt.Fprintf(s.Err, "starting cluster %q in the background (pid %d, log %s)\n", g.cluster, pid, logPath)

	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			return startFailed(s, logPath, fmt.Errorf("cluster %q did not start: `up` exited (%v)", g.cluster, err))
		case <-deadline.C:
			stopChild(pid, exited)
			return startFailed(s, logPath, fmt.Errorf("cluster %q was not up within --wait-timeout %s; it is stopped", g.cluster, timeout))
		case <-ctx.Done():
			stopChild(pid, exited)
			return startFailed(s, logPath, fmt.Errorf("cluster %q: interrupted while starting; it is stopped", g.cluster))
		case <-tick.C:
			r, err := registry.Find(g.cluster)
			if err != nil || r.PID != pid {
				continue
			}
			return printDetached(s, g, r, logPath)
		}
	}
}

// stopChild stops the detached `up` that did not come up: SIGTERM (it shuts
// down in order), then after a grace period SIGKILL of its session's group
// (its workers die with it by their lifeline).
func stopChild(pid int, exited <-chan error) {
	_ = procs.Signal(pid, syscall.SIGTERM)
	select {
	case <-exited:
		return
	case <-time.After(20 * time.Second):
	}
	_ = procs.SignalGroup(pid, syscall.SIGKILL)
	<-exited
}

// startFailed prints the last lines of the log on stderr and returns err.
func startFailed(s cli.Streams, logPath string, err error) error {
	if b, rerr := os.ReadFile(logPath); rerr == nil && len(b) > 0 {
		fmt.Fprintf(s.Err, "the last lines of %s:\n%s\n", logPath, lastLines(string(b), 20))
	}
	return err
}

// lastLines is the last n lines of text, indented so that none reads as
// this command's own `error:` line.
func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  | " + strings.Join(lines, "\n  | ")
}

func printDetached(s cli.Streams, g *globals, r *registry.Record, logPath string) error {
	d := detachedCluster{Name: r.Name, PID: r.PID, API: r.APIURL, Thrift: r.ThriftAddr, ZooKeeper: r.ZooKeeper,
		ZooKeeperMode: r.ZooKeeperMode, DataDir: r.DataDir, LogFile: logPath}
	if _, port, err := net.SplitHostPort(r.ThriftAddr); err == nil {
		d.ThriftPort, _ = strconv.Atoi(port)
	}
	return printOut(s, g, d, func(w io.Writer) {
		fmt.Fprintf(w, "localstorm cluster %q is up (detached, pid %d)\n", d.Name, d.PID)
		writeAddresses(w, "  ", r)
		fmt.Fprintf(w, "  log\t%s\n", d.LogFile)
		fmt.Fprintf(w, "Stop with `localstorm down --cluster %s`.\n", d.Name)
	})
}

// withoutEnv is env without the variable name.
func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// errDetachOutput is for -o on an `up` that does not detach: its banner is
// text, followed by the cluster's life.
var errDetachOutput = errors.New("-o json describes a detached cluster: use it with --detach")
