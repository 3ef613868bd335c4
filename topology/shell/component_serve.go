package shell

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/localstorm/localstorm/topology"
)

// MetricsSender sends Storm's {"command":"metrics","name":...,"params":...}
// from a component served as a multilang subprocess: the collectors Serve
// gives to components implement it. The host adds params to the IShellMetric
// it registered under name, and fails the component when it registered none
// ("Could not find metric by name"). Flux's FluxShellBolt and FluxShellSpout,
// which storm-package's YAML uses, register none: only a host of your own (a
// Java ShellBolt or ShellSpout subclass registering shell metrics in prepare
// or open) can take these. The SDK's metrics (Context.RegisterMetric) are
// never sent this way; see warnUncarriedMetrics.
type MetricsSender interface {
	SendMetric(name string, params any)
}

// UncarriedMetricsWarning starts the warning a component served as
// multilang logs to the host once, after Open or Prepare, when it
// registered metrics: it names them and says why their values are not
// reported.
const UncarriedMetricsWarning = "metrics registered in multilang mode are not reported"

// warnUncarriedMetrics closes the task's metric registration (as the
// worker does after Open or Prepare) and, when the component registered
// metrics, tells the host once, through a "log" warning, that their values
// stay in this process. Sending them as "metrics" commands would kill the
// component under Storm: the host registered no shell metric by those names.
func warnUncarriedMetrics(l *link, ctx *topology.Context) error {
	ctx.Metrics.Seal()
	names := ctx.Metrics.Names()
	if len(names) == 0 {
		return nil
	}
	level := 3
	msg := fmt.Sprintf("%s: component %q registered %s; its host (Storm's FluxShellSpout/FluxShellBolt, or localstorm's shell host) registers no shell metric by these names, so their values stay in the subprocess and reach no metrics consumer (Storm's built-in metrics of the component still do)",
		UncarriedMetricsWarning, ctx.ComponentID, strings.Join(names, ", "))
	return l.send(commandMsg{Command: "log", Level: &level, Msg: msg}, false)
}

// collectorBase is what the spout's and the bolt's collectors share: the
// link, and the first failure of a collector call (the collector methods
// cannot return one; the main loop does).
type collectorBase struct {
	l *link
	// noTaskIDs is ConfNoTaskIDs: emits do not ask for task ids (Emit
	// returns nil), so they need no round trip to the host.
	noTaskIDs bool
}

// ConfNoTaskIDs is the topology (or component) config key that, when true,
// makes the collectors of a component served as multilang emit with
// need_task_ids false: Emit and EmitStream return nil instead of the tasks
// the tuple went to, and an emit costs no round trip to the host. For
// components that ignore Emit's result (most do).
const ConfNoTaskIDs = "localstorm.multilang.no.task.ids"

func newCollectorBase(l *link, ctx *topology.Context) collectorBase {
	no, _ := ctx.Conf[ConfNoTaskIDs].(bool)
	return collectorBase{l: l, noTaskIDs: no}
}

func (c *collectorBase) fail(err error) {
	if err != nil {
		c.l.fail(err)
	}
}

// ReportError sends an "error" message (Storm reports it on the UI).
func (c *collectorBase) ReportError(err error) {
	c.fail(c.l.send(commandMsg{Command: "error", Msg: err.Error()}, false))
}

// SendMetric sends a "metrics" message (see MetricsSender: only for a name
// the host registered as a shell metric).
func (c *collectorBase) SendMetric(name string, params any) {
	c.fail(c.l.send(commandMsg{Command: "metrics", Name: name, Params: params}, false))
}

// emit sends an emit and returns the task ids the host replies.
func (c *collectorBase) emit(msg emitMsg) []int {
	msg.Command = "emit"
	if c.noTaskIDs {
		no := false
		msg.NeedTaskIDs = &no
	}
	if msg.Tuple == nil {
		msg.Tuple = topology.Values{}
	}
	ids, err := c.l.emit(msg)
	c.fail(err)
	return ids
}

// mlSpoutCollector maps the SDK's spout collector to multilang emits. Message
// ids become strings "1", "2", ... on the wire and back to the SDK's ids on
// ack and fail, so that any Go value can be a message id.
type mlSpoutCollector struct {
	collectorBase
	next    uint64
	pending map[string]any
}

func (c *mlSpoutCollector) Emit(values topology.Values, msgID any) []int {
	return c.EmitStream(topology.DefaultStream, values, msgID)
}

func (c *mlSpoutCollector) EmitStream(stream string, values topology.Values, msgID any) []int {
	return c.emit(emitMsg{ID: c.track(msgID), Stream: stream, Tuple: values})
}

func (c *mlSpoutCollector) EmitDirect(task int, stream string, values topology.Values, msgID any) {
	c.emit(emitMsg{ID: c.track(msgID), Stream: stream, Task: task, Tuple: values})
}

// track gives a message id its wire id (nil: an unreliable emit).
func (c *mlSpoutCollector) track(msgID any) any {
	if msgID == nil {
		return nil
	}
	c.next++
	id := strconv.FormatUint(c.next, 10)
	c.pending[id] = msgID
	return id
}

// serveSpout opens the spout and answers each command with "sync".
func serveSpout(l *link, t *topology.Topology, ctx *topology.Context) error {
	spout, err := t.NewSpout(ctx.ComponentID)
	if err != nil {
		return err
	}
	out := &mlSpoutCollector{collectorBase: newCollectorBase(l, ctx), pending: map[string]any{}}
	var openErr error
	if err := l.call(func() { openErr = spout.Open(ctx, out) }); err != nil {
		return err
	}
	if openErr != nil {
		return fmt.Errorf("open: %w", openErr)
	}
	if err := warnUncarriedMetrics(l, ctx); err != nil {
		return err
	}
	defer func() { _ = callSafely(spout.Close) }()
	for {
		m, err := l.next()
		if err != nil {
			return err
		}
		command, _ := m["command"].(string)
		var call func()
		switch command {
		case "next":
			call = spout.NextTuple
		case "activate":
			call = spout.Activate
		case "deactivate":
			call = spout.Deactivate
		case "ack", "fail":
			call, err = out.ackOrFail(spout, command, m["id"])
		default:
			err = fmt.Errorf("unknown spout command %q in %v (want next, ack, fail, activate or deactivate)", command, m)
		}
		if err != nil {
			return err
		}
		if call != nil {
			if err := l.call(call); err != nil {
				return fmt.Errorf("%s: %w", command, err)
			}
		}
		if err := l.send(commandMsg{Command: "sync"}, true); err != nil {
			return err
		}
	}
}

// ackOrFail finds the SDK message id of a wire id; an id the spout never
// gave (or already settled) is logged and ignored.
func (c *mlSpoutCollector) ackOrFail(spout topology.Spout, command string, id any) (func(), error) {
	if id == nil {
		return nil, fmt.Errorf("%q without an id", command)
	}
	key := idString(id)
	msgID, ok := c.pending[key]
	if !ok {
		level := 3
		c.fail(c.l.send(commandMsg{Command: "log", Level: &level, Msg: fmt.Sprintf("%s of unknown message id %q ignored", command, key)}, false))
		return nil, nil
	}
	delete(c.pending, key)
	if command == "ack" {
		return func() { spout.Ack(msgID) }, nil
	}
	return func() { spout.Fail(msgID) }, nil
}

// mlBoltCollector maps the SDK's bolt collector to multilang emits, acks and
// fails; a bolt may call it from its own goroutines.
type mlBoltCollector struct {
	collectorBase
	mu  sync.Mutex
	ids map[*topology.Tuple]any // tuples given to the bolt → their host ids
}

func (c *mlBoltCollector) Emit(anchors []*topology.Tuple, values topology.Values) []int {
	return c.EmitStream(topology.DefaultStream, anchors, values)
}

func (c *mlBoltCollector) EmitStream(stream string, anchors []*topology.Tuple, values topology.Values) []int {
	return c.emit(emitMsg{Stream: stream, Anchors: c.anchorIDs(anchors), Tuple: values})
}

func (c *mlBoltCollector) EmitDirect(task int, stream string, anchors []*topology.Tuple, values topology.Values) {
	c.emit(emitMsg{Stream: stream, Task: task, Anchors: c.anchorIDs(anchors), Tuple: values})
}

// anchorIDs are the host ids of anchors; a tuple already acked or failed
// (or not given by the host) anchors nothing, as in Storm.
func (c *mlBoltCollector) anchorIDs(anchors []*topology.Tuple) []any {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []any
	for _, t := range anchors {
		if id, ok := c.ids[t]; ok {
			out = append(out, id)
		}
	}
	return out
}

func (c *mlBoltCollector) Ack(t *topology.Tuple)  { c.settle("ack", t) }
func (c *mlBoltCollector) Fail(t *topology.Tuple) { c.settle("fail", t) }

func (c *mlBoltCollector) settle(command string, t *topology.Tuple) {
	c.mu.Lock()
	id, ok := c.ids[t]
	delete(c.ids, t)
	c.mu.Unlock()
	if ok {
		c.fail(c.l.send(commandMsg{Command: command, ID: id}, false))
	}
}

// serveBolt prepares the bolt and hands it each tuple; heartbeats are
// answered with "sync".
func serveBolt(l *link, t *topology.Topology, ctx *topology.Context) error {
	bolt, err := t.NewBolt(ctx.ComponentID)
	if err != nil {
		return err
	}
	out := &mlBoltCollector{collectorBase: newCollectorBase(l, ctx), ids: map[*topology.Tuple]any{}}
	var prepErr error
	if err := l.call(func() { prepErr = bolt.Prepare(ctx, out) }); err != nil {
		return err
	}
	if prepErr != nil {
		return fmt.Errorf("prepare: %w", prepErr)
	}
	if err := warnUncarriedMetrics(l, ctx); err != nil {
		return err
	}
	defer func() { _ = callSafely(bolt.Cleanup) }()
	for {
		m, err := l.next()
		if err != nil {
			return err
		}
		tuple, id, err := tupleFromHost(ctx.Definition, m)
		if err != nil {
			return err
		}
		if tuple.Stream == topology.HeartbeatStream {
			if err := l.send(commandMsg{Command: "sync"}, true); err != nil {
				return err
			}
			continue
		}
		out.mu.Lock()
		out.ids[tuple] = id
		out.mu.Unlock()
		if err := l.call(func() { bolt.Execute(tuple) }); err != nil {
			return fmt.Errorf("execute a tuple from %s/%s: %w", tuple.Component, tuple.Stream, err)
		}
	}
}

// tupleFromHost reads a tuple message {"id","comp","stream","task","tuple"};
// its fields are the source stream's in the topology's definition.
func tupleFromHost(d *topology.Definition, m map[string]any) (*topology.Tuple, any, error) {
	id := m["id"]
	stream, _ := m["stream"].(string)
	values, ok := m["tuple"].([]any)
	task, taskOK := m["task"].(int64)
	if id == nil || stream == "" || !ok || !taskOK {
		return nil, nil, fmt.Errorf("host sent %v: want a tuple {\"id\",\"comp\",\"stream\",\"task\",\"tuple\":[...]}", m)
	}
	comp, _ := m["comp"].(string)
	t := &topology.Tuple{Values: topology.Values(values), Component: comp, Stream: stream, Task: int(task)}
	if src := d.Spouts[comp]; src != nil {
		t.Fields = src.Outputs[stream].Fields
	} else if src := d.Bolts[comp]; src != nil {
		t.Fields = src.Outputs[stream].Fields
	}
	return t, id, nil
}

// hostLogHandler sends log records to the host as "log" messages at their
// level (Storm's levels: 1 debug, 2 info, 3 warn, 4 error).
type hostLogHandler struct {
	l     *link
	attrs []slog.Attr
}

func (h *hostLogHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *hostLogHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	level := 2
	switch {
	case r.Level < slog.LevelInfo:
		level = 1
	case r.Level >= slog.LevelError:
		level = 4
	case r.Level >= slog.LevelWarn:
		level = 3
	}
	return h.l.send(commandMsg{Command: "log", Msg: b.String(), Level: &level}, false)
}

func (h *hostLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &hostLogHandler{l: h.l, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *hostLogHandler) WithGroup(string) slog.Handler { return h }
