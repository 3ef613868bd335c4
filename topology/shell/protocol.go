package shell

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/localstorm/localstorm/topology"
)

// Storm's multilang wire format: each message is JSON text followed by a
// line holding only "end" (Storm's JsonSerializer). The JSON may span lines.

// maxMessageBytes bounds one message read from a subprocess, so a runaway
// child cannot make the worker buffer without limit.
const maxMessageBytes = 64 << 20

var endLine = []byte("end")

// errNoOutput is returned when the subprocess's stdout ends (it died or
// closed it), as Storm's NoOutputException.
var errNoOutput = errors.New("pipe to subprocess seems to be broken: no output")

// readMessage reads the lines of one message up to its "end" line and returns
// them joined by newlines.
func readMessage(r *bufio.Reader) ([]byte, error) {
	var msg []byte
	first := true
	for {
		line, err := readLine(r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				if len(msg) == 0 {
					return nil, errNoOutput
				}
				return nil, fmt.Errorf("%w; output read so far: %q", errNoOutput, truncate(msg, 200))
			}
			return nil, err
		}
		if bytes.Equal(line, endLine) {
			return msg, nil
		}
		if !first {
			msg = append(msg, '\n')
		}
		first = false
		if len(msg)+len(line) > maxMessageBytes {
			return nil, fmt.Errorf("subprocess message longer than %d bytes without an \"end\" line", maxMessageBytes)
		}
		msg = append(msg, line...)
	}
}

// readLine reads one line without its newline (and a \r before it), bounded
// by maxMessageBytes.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > maxMessageBytes {
			return nil, fmt.Errorf("subprocess line longer than %d bytes", maxMessageBytes)
		}
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				break // a last line without newline
			}
			return nil, err
		}
		break
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return line, nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// writeMessage writes v as one message (JSON, then the "end" line).
func writeMessage(w *bufio.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode message for subprocess: %w", err)
	}
	w.Write(raw)
	w.WriteString("\nend\n")
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write to subprocess: %w", err)
	}
	return nil
}

// shellMsg is one message from a subprocess (Storm's ShellMsg).
type shellMsg struct {
	Command string
	// ID is the tuple id of ack/fail (a string given to the subprocess) or
	// the message id of a spout emit (string or number; nil: unreliable).
	ID     any
	Msg    string
	Stream string // DefaultStream when absent
	// Task is the target of an emit direct; 0 for a normal emit.
	Task        int
	NeedTaskIDs bool
	Tuple       topology.Values
	Anchors     []string
	// Metric name and params of a "metrics" message.
	Name   string
	Params any
	// Level of a "log" message: 0 trace, 1 debug, 2 info (default), 3 warn, 4 error.
	Level int
	// PID is the pid of the handshake reply.
	PID int
}

// decodeShellMsg parses one message from a subprocess. Numbers become int64
// when integral and in range, else float64, as Storm's JSON reader gives
// Long and Double.
func decodeShellMsg(raw []byte) (shellMsg, error) {
	m := shellMsg{Stream: topology.DefaultStream, NeedTaskIDs: true, Level: 2}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return m, fmt.Errorf("subprocess sent invalid JSON %q: %w", truncate(raw, 200), err)
	}
	if obj == nil {
		return m, fmt.Errorf("subprocess sent %q, want a JSON object", truncate(raw, 200))
	}
	if dec.More() {
		return m, fmt.Errorf("subprocess sent trailing data after a JSON object: %q", truncate(raw, 200))
	}
	var err error
	str := func(key string) string {
		v, ok := obj[key]
		if !ok || v == nil {
			return ""
		}
		s, ok := v.(string)
		if !ok && err == nil {
			err = fmt.Errorf("%q is %v, want a string", key, v)
		}
		return s
	}
	integer := func(key string) int {
		v, ok := obj[key]
		if !ok || v == nil {
			return 0
		}
		n, ok := v.(json.Number)
		i, perr := n.Int64()
		if !ok || perr != nil || i > math.MaxInt32 || i < math.MinInt32 {
			if err == nil {
				err = fmt.Errorf("%q is %v, want an integer", key, v)
			}
			return 0
		}
		return int(i)
	}
	m.Command = str("command")
	if s := str("stream"); s != "" {
		m.Stream = s
	}
	m.Msg = str("msg")
	m.Name = str("name")
	m.Task = integer("task")
	m.PID = integer("pid")
	if _, ok := obj["level"]; ok {
		m.Level = integer("level")
	}
	if v, ok := obj["need_task_ids"]; ok && v != nil {
		b, ok := v.(bool)
		if !ok && err == nil {
			err = fmt.Errorf("\"need_task_ids\" is %v, want a boolean", v)
		}
		m.NeedTaskIDs = b
	}
	m.ID = plainNumbers(obj["id"])
	m.Params = plainNumbers(obj["params"])
	if v, ok := obj["tuple"]; ok && v != nil {
		list, ok := v.([]any)
		if !ok && err == nil {
			err = fmt.Errorf("\"tuple\" is %v, want a list", v)
		}
		m.Tuple = topology.Values(plainNumbers(list).([]any))
	}
	// anchors: a list of ids, or one id alone (Storm accepts both).
	switch a := obj["anchors"].(type) {
	case nil:
	case string:
		m.Anchors = []string{a}
	case []any:
		for _, id := range a {
			s, ok := id.(string)
			if !ok {
				if n, isNum := id.(json.Number); isNum {
					s, ok = n.String(), true
				}
			}
			if !ok && err == nil {
				err = fmt.Errorf("anchor %v is not a tuple id", id)
			}
			m.Anchors = append(m.Anchors, s)
		}
	default:
		if err == nil {
			err = fmt.Errorf("\"anchors\" is %v, want a list of tuple ids", a)
		}
	}
	if err != nil {
		return m, fmt.Errorf("subprocess message %q: %w", truncate(raw, 200), err)
	}
	return m, nil
}

// plainNumbers replaces json.Numbers in v (recursively) with int64 or float64.
func plainNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case []any:
		for i := range x {
			x[i] = plainNumbers(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = plainNumbers(x[k])
		}
		return x
	default:
		return v
	}
}

// idString renders a tuple id of an ack/fail the way it was given out.
func idString(id any) string {
	switch x := id.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	default:
		return fmt.Sprint(id)
	}
}
