package shell

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/localstorm/localstorm/topology"
)

// heartbeatPeriod is how often a shell bolt sends a heartbeat tuple and
// checks the subprocess's last message (Storm: every second).
var heartbeatPeriod = time.Second

// stopGrace is how long a subprocess has to exit after Cleanup asks it to.
const stopGrace = 2 * time.Second

// Bolt runs a bolt as a multilang subprocess speaking Storm's protocol, as
// Storm's ShellBolt. The subprocess answers asynchronously: a reader
// goroutine turns its emits, acks and fails into collector calls, and a
// writer goroutine feeds it tuples, task-id replies and heartbeats.
//
// Failure: when the subprocess dies, writes something that is not the
// protocol, or is silent (no message, not even the answer to a heartbeat)
// for longer than topology.subprocess.timeout.secs (falling back to
// supervisor.worker.timeout.secs), the bolt reports the error with
// ReportError, including the subprocess's exit state and stderr tail, and
// stops the worker: through Context.Fatal when the runtime gives one, and in
// any case by panicking in the next Execute, since Execute cannot return an
// error. Storm's ShellBolt exits the worker the same way; its supervisor
// restarts it.
type Bolt struct {
	command []string
	outputs map[string]topology.StreamDef

	ctx    *topology.Context
	out    topology.BoltCollector
	proc   *process
	logger *slog.Logger

	mu     sync.Mutex
	inputs map[string]*topology.Tuple // ids given to the subprocess → tuples
	nextID uint64

	tuples    chan boltMsg // bounded by topology.shellbolt.max.pending
	taskIDs   idQueue      // replies to emits; written before tuples
	heartbeat chan struct{}

	lastMsg  atomic.Int64 // unix nanos of the last message from the subprocess
	handling atomic.Bool  // the reader is handling a message (maybe blocked in the collector)
	timeout  time.Duration
	dead     chan struct{} // closed by die
	dieOnce  sync.Once
	err      error // why it died; read after dead is closed
	stopping atomic.Bool
	stop     chan struct{}
	wg       sync.WaitGroup
}

// boltMsg is a tuple as the subprocess receives it.
type boltMsg struct {
	ID     string          `json:"id"`
	Comp   string          `json:"comp"`
	Stream string          `json:"stream"`
	Task   int             `json:"task"`
	Tuple  topology.Values `json:"tuple"`
}

// heartbeatMsg is Storm's heartbeat tuple: from no component ("comp" is
// null), on __heartbeat, from task -1 (Storm's system task id).
type heartbeatMsg struct {
	ID     string          `json:"id"`
	Comp   *string         `json:"comp"`
	Stream string          `json:"stream"`
	Task   int             `json:"task"`
	Tuple  topology.Values `json:"tuple"`
}

// NewBolt returns a bolt running command (in the topology's code dir) that
// emits on outputs.
func NewBolt(command []string, outputs map[string]topology.StreamDef) topology.Bolt {
	return newBolt(command, outputs)
}

func newBolt(command []string, outputs map[string]topology.StreamDef) *Bolt {
	return &Bolt{command: command, outputs: outputs}
}

// DeclareOutputFields declares the streams given to NewBolt.
func (b *Bolt) DeclareOutputFields(d topology.OutputDeclarer) { declareOutputs(d, b.outputs) }

// Prepare starts the subprocess and performs the handshake.
func (b *Bolt) Prepare(ctx *topology.Context, out topology.BoltCollector) error {
	b.ctx, b.out = ctx, out
	b.logger = slog.Default().With("component", ctx.ComponentID, "task", ctx.TaskID)
	b.timeout = subprocessTimeout(ctx.Conf)
	b.inputs = map[string]*topology.Tuple{}
	b.tuples = make(chan boltMsg, maxPending(ctx.Conf))
	b.taskIDs.init()
	b.heartbeat = make(chan struct{}, 1)
	b.dead = make(chan struct{})
	b.stop = make(chan struct{})
	proc, err := launch(b.command, ctx, b.outputs, b.timeout, b.logger)
	if err != nil {
		return fmt.Errorf("prepare shell bolt %q: %w", ctx.ComponentID, err)
	}
	b.proc = proc
	b.lastMsg.Store(time.Now().UnixNano())
	b.wg.Add(3)
	go b.readLoop()
	go b.writeLoop()
	go b.heartbeatLoop()
	return nil
}

// Execute hands t to the subprocess. It blocks while
// topology.shellbolt.max.pending tuples wait to be written (backpressure).
func (b *Bolt) Execute(t *topology.Tuple) {
	b.checkAlive()
	b.mu.Lock()
	b.nextID++
	id := strconv.FormatUint(b.nextID, 10)
	b.inputs[id] = t
	b.mu.Unlock()
	msg := boltMsg{ID: id, Comp: t.Component, Stream: t.Stream, Task: t.Task, Tuple: t.Values}
	if msg.Tuple == nil {
		msg.Tuple = topology.Values{}
	}
	select {
	case b.tuples <- msg:
	case <-b.dead:
		b.checkAlive()
	}
}

// checkAlive panics when the subprocess has died (see the type's comment).
func (b *Bolt) checkAlive() {
	select {
	case <-b.dead:
		panic(fmt.Sprintf("shell bolt %q: %v", b.ctx.ComponentID, b.err))
	default:
	}
}

// Cleanup stops the subprocess and the bolt's goroutines.
func (b *Bolt) Cleanup() {
	if b.proc == nil {
		return
	}
	b.stopping.Store(true)
	close(b.stop)
	b.proc.stop(stopGrace)
	b.wg.Wait()
	b.proc.close()
	b.mu.Lock()
	clear(b.inputs)
	b.mu.Unlock()
}

// die records the first failure, reports it and kills the subprocess.
func (b *Bolt) die(err error) {
	if b.stopping.Load() {
		return
	}
	b.dieOnce.Do(func() {
		b.err = b.proc.failure("shell bolt died", err)
		b.logger.Error("halting: shell bolt died", "err", b.err)
		b.out.ReportError(b.err)
		close(b.dead)
		b.proc.kill()
		if b.ctx.Fatal != nil {
			b.ctx.Fatal(b.err)
		}
	})
}

// readLoop handles what the subprocess writes.
func (b *Bolt) readLoop() {
	defer b.wg.Done()
	for {
		msg, err := b.proc.read()
		if err != nil {
			b.die(err)
			return
		}
		// Time spent in the collector (a slow downstream applies
		// backpressure) is not the subprocess's silence.
		b.handling.Store(true)
		err = b.handle(msg)
		b.lastMsg.Store(time.Now().UnixNano())
		b.handling.Store(false)
		if err != nil {
			b.die(err)
			return
		}
	}
}

func (b *Bolt) handle(msg shellMsg) error {
	switch msg.Command {
	case "ack", "fail":
		id := idString(msg.ID)
		b.mu.Lock()
		t, ok := b.inputs[id]
		delete(b.inputs, id)
		b.mu.Unlock()
		if !ok {
			return fmt.Errorf("%sed a non-existent or already acked/failed id %q", msg.Command, id)
		}
		if msg.Command == "ack" {
			b.out.Ack(t)
		} else {
			b.out.Fail(t)
		}
	case "error":
		b.out.ReportError(fmt.Errorf("shell process exception: %s", msg.Msg))
	case "log":
		logShell(b.logger, msg)
	case "emit":
		anchors := make([]*topology.Tuple, 0, len(msg.Anchors))
		b.mu.Lock()
		for _, id := range msg.Anchors {
			t, ok := b.inputs[id]
			if !ok {
				b.mu.Unlock()
				return fmt.Errorf("anchored onto %q after ack/fail (or an id never given)", id)
			}
			anchors = append(anchors, t)
		}
		b.mu.Unlock()
		if err := checkStream(b.outputs, msg); err != nil {
			return err
		}
		if msg.Task != 0 {
			b.out.EmitDirect(msg.Task, msg.Stream, anchors, msg.Tuple)
			return nil
		}
		tasks := b.out.EmitStream(msg.Stream, anchors, msg.Tuple)
		if msg.NeedTaskIDs {
			b.taskIDs.push(tasks)
		}
	case "metrics":
		return updateMetric(b.ctx, msg)
	case "sync":
		// The answer to a heartbeat; lastMsg is already updated.
	case "":
		return errors.New("message without a command")
	default:
		b.logger.Warn("ignoring unknown multilang command", "command", msg.Command)
	}
	return nil
}

// writeLoop feeds the subprocess: task-id replies first (the subprocess may
// be waiting for them), then heartbeats and tuples.
func (b *Bolt) writeLoop() {
	defer b.wg.Done()
	for {
		if ids, ok := b.taskIDs.pop(); ok {
			if err := b.proc.write(ids); err != nil {
				b.die(err)
				return
			}
			continue
		}
		var err error
		select {
		case <-b.stop:
			return
		case <-b.dead:
			return
		case <-b.taskIDs.ready:
			continue
		case <-b.heartbeat:
			b.mu.Lock()
			b.nextID++
			id := strconv.FormatUint(b.nextID, 10)
			b.mu.Unlock()
			err = b.proc.write(heartbeatMsg{ID: id, Stream: topology.HeartbeatStream, Task: -1, Tuple: topology.Values{}})
		case msg := <-b.tuples:
			err = b.proc.write(msg)
		}
		if err != nil {
			b.die(err)
			return
		}
	}
}

// heartbeatLoop checks the subprocess's last message every period and asks
// for the next heartbeat.
func (b *Bolt) heartbeatLoop() {
	defer b.wg.Done()
	ticker := time.NewTicker(heartbeatPeriod)
	defer ticker.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-b.dead:
			return
		case now := <-ticker.C:
			if b.handling.Load() {
				continue
			}
			if silent := now.Sub(time.Unix(0, b.lastMsg.Load())); silent > b.timeout {
				b.die(fmt.Errorf("%w: no message for %v (limit %v)", errTimeout, silent.Round(time.Millisecond), b.timeout))
				return
			}
			select {
			case b.heartbeat <- struct{}{}:
			default:
			}
		}
	}
}

// idQueue is the unbounded queue of task-id replies: the reader must never
// block on it, or reader and writer could wait on each other through the
// subprocess's pipes.
type idQueue struct {
	mu    sync.Mutex
	items [][]int
	ready chan struct{} // has a value when items may be non-empty
}

func (q *idQueue) init() { q.ready = make(chan struct{}, 1) }

func (q *idQueue) push(ids []int) {
	reply := make([]int, len(ids)) // the collector's slice may be reused
	copy(reply, ids)
	q.mu.Lock()
	q.items = append(q.items, reply)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *idQueue) pop() ([]int, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return nil, false
	}
	ids := q.items[0]
	q.items = q.items[1:]
	return ids, true
}

// logShell logs a "log" message at its level (0 trace … 4 error).
func logShell(logger *slog.Logger, msg shellMsg) {
	level := slog.LevelInfo
	switch {
	case msg.Level <= 1:
		level = slog.LevelDebug
	case msg.Level == 3:
		level = slog.LevelWarn
	case msg.Level >= 4:
		level = slog.LevelError
	}
	logger.Log(context.Background(), level, msg.Msg, "source", "subprocess")
}

// checkStream rejects an emit on an undeclared stream with a clear error
// rather than leaving the router to drop it.
func checkStream(outputs map[string]topology.StreamDef, msg shellMsg) error {
	def, ok := outputs[msg.Stream]
	if !ok {
		return fmt.Errorf("emit on stream %q, which the component does not declare", msg.Stream)
	}
	if def.Direct != (msg.Task != 0) {
		if def.Direct {
			return fmt.Errorf("emit without a task on direct stream %q", msg.Stream)
		}
		return fmt.Errorf("emit direct (task %d) on stream %q, which is not direct", msg.Task, msg.Stream)
	}
	return nil
}

// declareOutputs declares outputs in a stable order.
func declareOutputs(d topology.OutputDeclarer, outputs map[string]topology.StreamDef) {
	for _, stream := range slices.Sorted(maps.Keys(outputs)) {
		def := outputs[stream]
		d.DeclareStream(stream, def.Direct, def.Fields)
	}
}
