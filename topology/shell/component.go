package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/localstorm/localstorm/topology"
)

// ServeOptions says which component of which topology Serve runs, and over
// what streams.
type ServeOptions struct {
	Topology  *topology.Topology
	Component string
	In        io.Reader // the host's messages (stdin)
	Out       io.Writer // to the host (stdout); nothing else may write here
	// Pid is what the handshake reply reports and the pid file is named
	// after (os.Getpid() when 0).
	Pid int
	// OnLogger, when set, receives the logger that sends records to the host
	// as multilang "log" messages, before the component starts (a topology
	// binary makes it slog's default).
	OnLogger func(*slog.Logger)
}

// Serve runs one spout or bolt of a topology as a multilang subprocess, as
// Storm's ShellSpout and ShellBolt expect: it answers the handshake (writes
// the pid file, replies with the pid), then serves the spout's commands or
// the bolt's tuples until the host closes its input or ctx ends (nil), or
// until the protocol breaks or the component fails (an error saying what
// went wrong, for stderr and a non-zero exit).
func Serve(ctx context.Context, o ServeOptions) error {
	def, isSpout, err := findComponent(o.Topology, o.Component)
	if err != nil {
		return err
	}
	l := newLink(o.In, o.Out)
	hs, err := l.readFirst()
	if err != nil {
		if errors.Is(err, errHostClosed) {
			return fmt.Errorf("multilang %q: the host closed stdin before the handshake", o.Component)
		}
		return fmt.Errorf("multilang %q: handshake: %w", o.Component, err)
	}
	pid := o.Pid
	if pid == 0 {
		pid = os.Getpid()
	}
	tctx, err := contextFromHandshake(o.Topology.Definition, def, o.Component, hs)
	if err != nil {
		return fmt.Errorf("multilang %q: handshake: %w", o.Component, err)
	}
	if err := writePidFile(tctx.PidDir, pid); err != nil {
		return fmt.Errorf("multilang %q: %w", o.Component, err)
	}
	if o.OnLogger != nil {
		o.OnLogger(slog.New(&hostLogHandler{l: l}))
	}
	if err := l.send(map[string]int{"pid": pid}, true); err != nil {
		return fmt.Errorf("multilang %q: %w", o.Component, err)
	}
	l.start()
	stop := context.AfterFunc(ctx, func() { l.fail(errHostClosed) })
	defer stop()
	tctx.Fatal = func(err error) { l.fail(fmt.Errorf("fatal: %w", err)) }
	if isSpout {
		err = serveSpout(l, o.Topology, tctx)
	} else {
		err = serveBolt(l, o.Topology, tctx)
	}
	if err != nil && !errors.Is(err, errHostClosed) {
		return fmt.Errorf("multilang %s %q: %w", kindName(isSpout), o.Component, err)
	}
	return nil
}

func kindName(isSpout bool) string {
	if isSpout {
		return "spout"
	}
	return "bolt"
}

// findComponent finds id among the topology's spouts and bolts; shell
// components cannot be served (they are subprocesses already).
func findComponent(t *topology.Topology, id string) (*topology.ComponentDef, bool, error) {
	if t == nil || t.Definition == nil {
		return nil, false, fmt.Errorf("multilang: no topology")
	}
	d := t.Definition
	def, isSpout := d.Spouts[id], true
	if def == nil {
		def, isSpout = d.Bolts[id], false
	}
	if def == nil {
		ids := slices.Sorted(maps.Keys(d.Spouts))
		ids = append(ids, slices.Sorted(maps.Keys(d.Bolts))...)
		return nil, false, fmt.Errorf("multilang: no component %q in the topology; its components are %s", id, strings.Join(ids, ", "))
	}
	if def.Shell != nil {
		return nil, false, fmt.Errorf("multilang: component %q is itself a shell component (%q); only Go components can be served", id, def.Shell.Command)
	}
	return def, isSpout, nil
}

// contextFromHandshake builds the task's context from the handshake
// (conf, pidDir, context) and the topology's own definition: the streams and
// fields come from the definition, the task layout from the host.
func contextFromHandshake(d *topology.Definition, def *topology.ComponentDef, id string, hs map[string]any) (*topology.Context, error) {
	hctx, ok := hs["context"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the handshake has no \"context\" object (want {\"conf\":{...},\"pidDir\":\"...\",\"context\":{...}})")
	}
	pidDir, ok := hs["pidDir"].(string)
	if !ok || pidDir == "" {
		return nil, fmt.Errorf("the handshake has no \"pidDir\" string")
	}
	hostConf, _ := hs["conf"].(map[string]any)
	if v, ok := hs["conf"]; ok && v != nil && hostConf == nil {
		return nil, fmt.Errorf("the handshake's \"conf\" is %v, want an object", v)
	}
	if comp, ok := hctx["componentid"].(string); ok && comp != id {
		return nil, fmt.Errorf("the host runs this process as component %q, but it was started with --component %q", comp, id)
	}
	taskID, ok := hctx["taskid"].(int64)
	if !ok {
		return nil, fmt.Errorf("the handshake's context has no integer \"taskid\"")
	}
	t2c, err := taskToComponent(hctx["task->component"])
	if err != nil {
		return nil, err
	}
	conf := map[string]any{}
	maps.Copy(conf, d.Conf)
	maps.Copy(conf, hostConf)
	maps.Copy(conf, def.Conf)
	topoID, _ := conf["storm.id"].(string)
	ctx := &topology.Context{
		TopologyID: topoID, ComponentID: id, TaskID: int(taskID),
		TaskToComponent: t2c, ComponentTasks: componentTasks(t2c),
		Outputs: map[string]map[string]topology.StreamDef{}, Conf: conf,
		PidDir: pidDir, Definition: d, Metrics: topology.NewTaskMetrics(),
	}
	if wd, err := os.Getwd(); err == nil {
		ctx.CodeDir = wd // Storm runs shell components in the code dir's resources
	}
	for _, comps := range []map[string]*topology.ComponentDef{d.Spouts, d.Bolts} {
		for cid, c := range comps {
			if c != nil {
				ctx.Outputs[cid] = c.Outputs
			}
		}
	}
	return ctx, nil
}

func taskToComponent(v any) (map[int]string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the handshake's context has no \"task->component\" object")
	}
	out := make(map[int]string, len(m))
	for k, c := range m {
		task, err := strconv.Atoi(k)
		comp, ok := c.(string)
		if err != nil || !ok {
			return nil, fmt.Errorf("the handshake's \"task->component\" has %q: %v, want a task id and a component id", k, c)
		}
		out[task] = comp
	}
	return out, nil
}

func componentTasks(t2c map[int]string) map[string][]int {
	out := map[string][]int{}
	for task, comp := range t2c {
		out[comp] = append(out[comp], task)
	}
	for _, tasks := range out {
		sort.Ints(tasks)
	}
	return out
}

// writePidFile creates the empty file pidDir/pid, as Storm's multilang
// libraries do; the supervisor kills what it lists.
func writePidFile(pidDir string, pid int) error {
	if err := os.MkdirAll(pidDir, 0o755); err != nil {
		return fmt.Errorf("create the pid dir of the handshake: %w", err)
	}
	f, err := os.Create(filepath.Join(pidDir, strconv.Itoa(pid)))
	if err != nil {
		return fmt.Errorf("write the pid file: %w", err)
	}
	return f.Close()
}
