// Package topology is the SDK for topology authors: spouts, bolts, tuples,
// groupings and the builder whose result a worker runs. It imports no daemon;
// the entry point that turns a program into a topology binary is topology/run.
package topology

import (
	"strings"
	"time"
)

// Values are the values of one tuple, in the order of the stream's fields.
type Values []any

// Fields are the field names of a stream.
type Fields []string

// Index returns the position of name in f, or -1.
func (f Fields) Index(name string) int {
	for i, n := range f {
		if n == name {
			return i
		}
	}
	return -1
}

// DefaultStream is the stream used when none is named.
const DefaultStream = "default"

// Anchor is one entry of a tuple's message id: the id of a spout tuple tree
// (Root) and the id of this tuple's edge in it (Edge). Storm's MessageId.
type Anchor struct {
	Root uint64
	Edge uint64
}

// Tuple is one tuple as a bolt receives it.
type Tuple struct {
	Values    Values
	Component string // the component that emitted it
	Stream    string
	Task      int    // the task that emitted it
	Fields    Fields // the stream's declared fields; shared, do not modify
	// Anchors place the tuple in spout tuple trees; set and read by the runtime.
	Anchors []Anchor
}

// Value returns the value of field name, nil when the stream has no such field.
func (t *Tuple) Value(name string) any {
	if i := t.Fields.Index(name); i >= 0 && i < len(t.Values) {
		return t.Values[i]
	}
	return nil
}

// String returns value i as a string ("" when it is not one).
func (t *Tuple) String(i int) string {
	s, _ := t.Values[i].(string)
	return s
}

// IsTick reports whether t is a tick tuple from __system on __tick.
func (t *Tuple) IsTick() bool { return t.Component == SystemComponent && t.Stream == TickStream }

// System component and stream names (reserved: user ids may not start with "__").
const (
	SystemComponent = "__system"
	AckerComponent  = "__acker"
	TickStream      = "__tick"
	AckInitStream   = "__ack_init"
	AckAckStream    = "__ack_ack"
	AckFailStream   = "__ack_fail"
	// AckResetTimeoutStream carries OutputCollector.resetTimeout to ackers and spouts.
	AckResetTimeoutStream = "__ack_reset_timeout"
	HeartbeatStream       = "__heartbeat"
)

// IsSystemID reports a system component or stream id: one starting with
// "__" (Storm's Utils.isSystemId).
func IsSystemID(id string) bool { return strings.HasPrefix(id, "__") }

// OutputDeclarer receives a component's output streams.
type OutputDeclarer interface {
	// Declare declares the default stream.
	Declare(fields Fields)
	// DeclareStream declares a named stream; direct streams take EmitDirect only.
	DeclareStream(stream string, direct bool, fields Fields)
}

// Component is what every spout and bolt declares.
type Component interface {
	DeclareOutputFields(d OutputDeclarer)
}

// SpoutCollector is how a spout emits. Emit returns the ids of the tasks the
// tuple was sent to. A non-nil msgID makes the tuple tracked: Ack or Fail is
// called with it once the tuple tree completes, fails or times out.
type SpoutCollector interface {
	Emit(values Values, msgID any) []int
	EmitStream(stream string, values Values, msgID any) []int
	EmitDirect(task int, stream string, values Values, msgID any)
	ReportError(err error)
}

// Spout is a source of tuples. One instance runs per task; NextTuple, Ack and
// Fail are called from one goroutine and must not block for long.
type Spout interface {
	Component
	Open(ctx *Context, out SpoutCollector) error
	Close()
	Activate()
	Deactivate()
	NextTuple()
	Ack(msgID any)
	Fail(msgID any)
}

// ReadySpout is a Spout that tells its executor when it has something to
// emit, so that an idle spout costs nothing. A plain spout with nothing to
// emit is called again after a pause (1 ms, doubling up to
// localstorm.spout.wait.max.ms, as Storm's spout wait strategy); a
// ReadySpout is not called again until the channel Ready returned receives
// a value or is closed, or until an ack, a fail, an activation or a
// deactivation reaches it.
//
// The executor calls Ready, from the spout's goroutine, after a NextTuple
// that emitted nothing. A spout fed by another goroutine keeps a channel of
// capacity 1 and sends on it without blocking when a tuple arrives; a spout
// paced by time returns ReadyAfter(the time to its next tuple); nil means
// nothing comes until an ack or a fail (a finite spout that is done). A value left over from a
// tuple NextTuple already took only costs one more call.
type ReadySpout interface {
	Spout
	Ready() <-chan struct{}
}

// ReadyAfter returns a channel closed after d (at once when d ≤ 0): the
// Ready of a spout paced by time.
func ReadyAfter(d time.Duration) <-chan struct{} {
	ch := make(chan struct{})
	if d <= 0 {
		close(ch)
	} else {
		time.AfterFunc(d, func() { close(ch) })
	}
	return ch
}

// BoltCollector is how a bolt emits, acks and fails. Anchoring an emitted tuple
// to input tuples makes it part of their trees. A bolt may call its collector
// from a goroutine of its own (one call at a time), as the shell bolt does
// with what its subprocess writes, like Storm's ShellBolt.
type BoltCollector interface {
	Emit(anchors []*Tuple, values Values) []int
	EmitStream(stream string, anchors []*Tuple, values Values) []int
	EmitDirect(task int, stream string, anchors []*Tuple, values Values)
	Ack(t *Tuple)
	Fail(t *Tuple)
	ReportError(err error)
}

// Bolt processes tuples. One instance runs per task.
type Bolt interface {
	Component
	Prepare(ctx *Context, out BoltCollector) error
	Execute(t *Tuple)
	Cleanup()
}

// BasicCollector emits anchored to the input tuple; the tuple is acked when
// Execute returns nil and failed when it returns an error.
type BasicCollector interface {
	Emit(values Values) []int
	EmitStream(stream string, values Values) []int
	EmitDirect(task int, stream string, values Values)
	ReportError(err error)
}

// BasicBolt is a bolt whose anchoring and acking is done for it.
type BasicBolt interface {
	Component
	Prepare(ctx *Context) error
	Execute(t *Tuple, out BasicCollector) error
	Cleanup()
}

// Context tells a task where it is in the topology.
type Context struct {
	TopologyID  string
	ComponentID string
	TaskID      int
	// TaskToComponent maps every task id of the topology to its component.
	TaskToComponent map[int]string
	// ComponentTasks maps every component to its sorted task ids.
	ComponentTasks map[string][]int
	// Outputs maps component → stream → declared stream.
	Outputs map[string]map[string]StreamDef
	// Conf is the topology configuration merged with the component's.
	Conf map[string]any
	// WorkerPort is the slot port of the worker running the task.
	WorkerPort int
	// PidDir is a directory where multilang subprocesses record their pids.
	PidDir string
	// CodeDir is the topology's resources directory (Flux YAML's directory).
	CodeDir string
	// Definition is the whole topology (its subscriptions tell a task its
	// sources and targets, as multilang handshakes report them). Optional:
	// nil when the runtime does not give it.
	Definition *Definition
	// Fatal, when set by the runtime, stops the worker with err (it exits
	// non-zero and its supervisor restarts it). Components call it from their
	// own goroutines for failures no Execute or NextTuple call can report,
	// such as a shell bolt's dead subprocess (Storm exits the worker then).
	Fatal func(err error)
	// Metrics holds the metrics this task registers (RegisterMetric); the
	// runtime sets it and collects them. Nil until the first registration
	// when no runtime set it.
	Metrics *TaskMetrics
	// Clock is the time the task runs on (windowed bolts take their
	// processing time and timers from it): WallClock, or a SimulatedClock
	// when the topology runs on testkit's simulated time. The worker always
	// sets it; a Context made by hand without it means WallClock.
	Clock Clock
}

// OutputFields returns the fields of stream of this task's component.
func (c *Context) OutputFields(stream string) Fields {
	return c.Outputs[c.ComponentID][stream].Fields
}
