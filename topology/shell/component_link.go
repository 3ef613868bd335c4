package shell

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/localstorm/localstorm/topology"
)

// The component side of the multilang protocol: what a topology binary
// speaks when Storm's ShellSpout or ShellBolt (or localstorm's Spout and
// Bolt) runs it as a subprocess. link is its connection to the host: one
// reader goroutine and a writer that many goroutines may use.

// maxQueuedCommands is how many host messages the reader reads ahead of the
// component. Beyond it the reader waits, so that a host writing faster than
// the component works is held back by the pipe, except while an emit waits
// for its task ids: those may be behind queued tuples in the pipe, and the
// reader must reach them.
const maxQueuedCommands = 256

// hostMsg is one message from the host: a command or tuple (an object) or
// the task ids answering an emit (a list).
type hostMsg struct {
	obj     map[string]any
	taskIDs []int
}

// errHostClosed is a clean end of the host's messages: stdin ended between
// two messages (the host stops its subprocess by closing stdin).
var errHostClosed = errors.New("the host closed stdin")

// decodeHostMsg parses one message from the host.
func decodeHostMsg(raw []byte) (hostMsg, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var ids []int
		if err := json.Unmarshal(trimmed, &ids); err != nil {
			return hostMsg{}, fmt.Errorf("host sent %q: want a list of task ids: %w", truncate(raw, 200), err)
		}
		if ids == nil {
			ids = []int{}
		}
		return hostMsg{taskIDs: ids}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return hostMsg{}, fmt.Errorf("host sent invalid JSON %q: %w", truncate(raw, 200), err)
	}
	if obj == nil {
		return hostMsg{}, fmt.Errorf("host sent %q, want a JSON object or a list of task ids", truncate(raw, 200))
	}
	if dec.More() {
		return hostMsg{}, fmt.Errorf("host sent trailing data after a JSON object: %q", truncate(raw, 200))
	}
	plainNumbers(obj)
	return hostMsg{obj: obj}, nil
}

// link is the component's connection to its host.
type link struct {
	in  *bufio.Reader
	out *bufio.Writer

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []map[string]any // commands and tuples not yet handled
	ids     [][]int          // task-id replies not yet taken
	wantIDs int              // emits waiting for their task ids
	err     error            // why reading stopped (errHostClosed: cleanly)

	// wmu guards the writer; it is never taken with mu held, so that a
	// write blocked on a full pipe never stops the reader.
	wmu       sync.Mutex
	busy      bool // the main loop is in a component call: flush when it returns
	writeErr  error
	emitMu    sync.Mutex // an emit and the wait for its task ids, one at a time
	readerOut chan struct{}
}

func newLink(in io.Reader, out io.Writer) *link {
	l := &link{in: bufio.NewReaderSize(in, 64<<10), out: bufio.NewWriterSize(out, 64<<10), readerOut: make(chan struct{})}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// readFirst reads the handshake, before the reader goroutine starts.
func (l *link) readFirst() (map[string]any, error) {
	raw, err := readMessage(l.in)
	if err != nil {
		return nil, l.readError(err)
	}
	m, err := decodeHostMsg(raw)
	if err != nil {
		return nil, err
	}
	if m.obj == nil {
		return nil, fmt.Errorf("host sent a list of task ids before the handshake")
	}
	return m.obj, nil
}

func (l *link) readError(err error) error {
	if err == errNoOutput { // EOF at a message boundary
		return errHostClosed
	}
	if errors.Is(err, errNoOutput) {
		return fmt.Errorf("the host's input ended inside a message (no \"end\" line): %v", err)
	}
	return fmt.Errorf("read from the host: %w", err)
}

// start runs the reader goroutine.
func (l *link) start() { go l.readLoop() }

func (l *link) readLoop() {
	defer close(l.readerOut)
	for {
		l.mu.Lock()
		for len(l.queue) >= maxQueuedCommands && l.wantIDs == 0 && l.err == nil {
			l.cond.Wait()
		}
		stopped := l.err != nil
		l.mu.Unlock()
		if stopped {
			return
		}
		raw, err := readMessage(l.in)
		var m hostMsg
		if err == nil {
			m, err = decodeHostMsg(raw)
		} else {
			err = l.readError(err)
		}
		l.mu.Lock()
		switch {
		case err != nil:
			l.setErr(err)
		case m.taskIDs != nil:
			l.ids = append(l.ids, m.taskIDs)
		default:
			l.queue = append(l.queue, m.obj)
		}
		l.cond.Broadcast()
		l.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// setErr records why the link stops (the first reason wins); mu is held.
func (l *link) setErr(err error) {
	if l.err == nil {
		l.err = err
	}
}

// fail stops the link with err, waking every waiter.
func (l *link) fail(err error) {
	l.mu.Lock()
	l.setErr(err)
	l.cond.Broadcast()
	l.mu.Unlock()
}

// next returns the next command or tuple from the host, or why there is none.
func (l *link) next() (map[string]any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.queue) == 0 && l.err == nil {
		l.cond.Wait()
	}
	if len(l.queue) == 0 {
		return nil, l.err
	}
	m := l.queue[0]
	l.queue[0] = nil
	l.queue = l.queue[1:]
	l.cond.Broadcast()
	return m, nil
}

// send writes one message. It is flushed at once unless the main loop is in
// a component call (then when the call returns), or flush forces it.
func (l *link) send(v any, flush bool) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode message for the host: %w", err)
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.writeErr != nil {
		return l.writeErr
	}
	l.out.Write(raw)
	l.out.WriteString("\nend\n")
	if flush || !l.busy {
		l.flushLocked()
	}
	return l.writeErr
}

// flushLocked flushes the writer; wmu is held.
func (l *link) flushLocked() {
	if err := l.out.Flush(); err != nil && l.writeErr == nil {
		l.writeErr = fmt.Errorf("write to the host: %w", err)
		l.fail(l.writeErr)
	}
}

// call runs f as a component call: what f sends is flushed when it returns.
func (l *link) call(f func()) error {
	l.wmu.Lock()
	l.busy = true
	l.wmu.Unlock()
	defer func() {
		l.wmu.Lock()
		l.busy = false
		l.flushLocked()
		l.wmu.Unlock()
	}()
	return callSafely(f)
}

// callSafely turns a panic of component code into an error.
func callSafely(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("component panicked: %v", r)
		}
	}()
	f()
	return nil
}

// emit sends an emit; when it asks for task ids it waits for the host's
// reply and returns it.
func (l *link) emit(msg emitMsg) ([]int, error) {
	if msg.NeedTaskIDs != nil && !*msg.NeedTaskIDs || msg.Task != 0 {
		return nil, l.send(msg, false)
	}
	l.emitMu.Lock()
	defer l.emitMu.Unlock()
	if err := l.send(msg, true); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.wantIDs++
	l.cond.Broadcast()
	for len(l.ids) == 0 && l.err == nil {
		l.cond.Wait()
	}
	l.wantIDs--
	if len(l.ids) == 0 {
		return nil, l.err
	}
	ids := l.ids[0]
	l.ids = l.ids[1:]
	return ids, nil
}

// emitMsg is an emit as the host reads it (Storm's ShellMsg).
type emitMsg struct {
	Command     string          `json:"command"`
	ID          any             `json:"id,omitempty"`
	Stream      string          `json:"stream,omitempty"`
	Task        int             `json:"task,omitempty"`
	Anchors     []any           `json:"anchors,omitempty"`
	Tuple       topology.Values `json:"tuple"`
	NeedTaskIDs *bool           `json:"need_task_ids,omitempty"`
}

// commandMsg is any other message to the host: sync, ack, fail, log, error,
// metrics.
type commandMsg struct {
	Command string `json:"command"`
	ID      any    `json:"id,omitempty"`
	Msg     string `json:"msg,omitempty"`
	Level   *int   `json:"level,omitempty"`
	Name    string `json:"name,omitempty"`
	Params  any    `json:"params,omitempty"`
}
