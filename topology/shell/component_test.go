package shell

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localstorm/localstorm/topology"
)

// The component side of multilang (Serve), driven by a fake host that
// speaks as Storm's ShellSpout and ShellBolt do (the handshake built by the
// host's own newHandshake, tuples and commands as the host writes them, and
// what the component writes read back with the host's decodeShellMsg).

// record is what the test components saw, shared with the test.
type record struct {
	mu     sync.Mutex
	calls  []string
	ctx    *topology.Context
	tasks  [][]int
	tuples []*topology.Tuple
}

func (r *record) add(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf(format, a...))
}

func (r *record) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// mlSpout emits on NextTuple what each call asks for (by call number).
type mlSpout struct {
	rec *record
	out topology.SpoutCollector
	n   int
}

func (s *mlSpout) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"word"})
	d.DeclareStream("direct", true, topology.Fields{"word"})
}

func (s *mlSpout) Open(ctx *topology.Context, out topology.SpoutCollector) error {
	s.out = out
	s.rec.mu.Lock()
	s.rec.ctx = ctx
	s.rec.mu.Unlock()
	return nil
}

type msgKey struct{ n int } // a message id that is not JSON

func (s *mlSpout) NextTuple() {
	s.n++
	switch s.n {
	case 1:
		tasks := s.out.Emit(topology.Values{"reliable"}, msgKey{1})
		s.rec.mu.Lock()
		s.rec.tasks = append(s.rec.tasks, tasks)
		s.rec.mu.Unlock()
	case 2:
		s.out.EmitDirect(7, "direct", topology.Values{"direct"}, nil)
		slog.Warn("careful", "n", 2)
		s.out.ReportError(errors.New("spout trouble"))
	}
}

func (s *mlSpout) Ack(id any)  { s.rec.add("ack %v", id) }
func (s *mlSpout) Fail(id any) { s.rec.add("fail %v", id) }
func (s *mlSpout) Activate()   { s.rec.add("activate") }
func (s *mlSpout) Deactivate() { s.rec.add("deactivate") }
func (s *mlSpout) Close()      { s.rec.add("close") }

// mlBolt emits the upper-cased word anchored to its input and acks it; a
// word "fail" is failed, "direct" is sent direct, "panic" panics; ticks
// are recorded.
type mlBolt struct {
	rec *record
	out topology.BoltCollector
}

func (b *mlBolt) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"upper"})
	d.DeclareStream("direct", true, topology.Fields{"upper"})
}

func (b *mlBolt) Prepare(ctx *topology.Context, out topology.BoltCollector) error {
	b.out = out
	b.rec.mu.Lock()
	b.rec.ctx = ctx
	b.rec.mu.Unlock()
	return nil
}

func (b *mlBolt) Execute(t *topology.Tuple) {
	b.rec.mu.Lock()
	b.rec.tuples = append(b.rec.tuples, t)
	b.rec.mu.Unlock()
	if t.IsTick() {
		b.rec.add("tick")
		b.out.Ack(t)
		return
	}
	switch w := t.String(0); w {
	case "fail":
		b.out.Fail(t)
	case "direct":
		b.out.EmitDirect(9, "direct", []*topology.Tuple{t}, topology.Values{"DIRECT"})
		b.out.Ack(t)
	case "panic":
		panic("bolt blew up")
	case "metric":
		b.out.(MetricsSender).SendMetric("words", map[string]any{"n": 1})
		b.out.Ack(t)
	default:
		tasks := b.out.Emit([]*topology.Tuple{t}, topology.Values{strings.ToUpper(w)})
		b.rec.mu.Lock()
		b.rec.tasks = append(b.rec.tasks, tasks)
		b.rec.mu.Unlock()
		b.out.Ack(t)
	}
}

func (b *mlBolt) Cleanup() { b.rec.add("cleanup") }

// mlTopology is words (spout) → upper (bolt), with configuration in code.
func mlTopology(t *testing.T, rec *record) *topology.Topology {
	t.Helper()
	top, err := mlBuilder(rec).Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

func mlBuilder(rec *record) *topology.Builder {
	b := topology.NewBuilder()
	b.SetSpout("words", func() topology.Spout { return &mlSpout{rec: rec} }, 1)
	b.SetBolt("upper", func() topology.Bolt { return &mlBolt{rec: rec} }, 2).
		ShuffleGrouping("words").AddConfig("component.key", "bolt-own")
	b.SetConf("code.key", "from-code")
	return b
}

// serveEnv makes the test binary serve the component it names (see
// TestMain): the component side run by the host side, both localstorm's.
const serveEnv = "LOCALSTORM_TEST_SERVE"

func serveForHost(comp string) int {
	top, err := mlBuilder(&record{}).Build()
	if err == nil {
		err = Serve(context.Background(), ServeOptions{Topology: top, Component: comp, In: os.Stdin, Out: os.Stdout})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestServeUnderTheHost runs Serve as a subprocess of localstorm's own
// shell spout and bolt: what one writes, the other reads.
func TestServeUnderTheHost(t *testing.T) {
	top := mlTopology(t, &record{})
	t.Setenv(serveEnv, "words")
	sctx := &topology.Context{ComponentID: "words", TaskID: 3, PidDir: t.TempDir(), Definition: top.Definition,
		TaskToComponent: map[int]string{1: "upper", 2: "upper", 3: "words"}, Conf: map[string]any{}}
	sout := &fakeCollector{tasks: []int{1}}
	spout := newSpout([]string{os.Args[0]}, top.Definition.Spouts["words"].Outputs)
	if err := spout.Open(sctx, spoutCollector{sout}); err != nil {
		t.Fatal(err)
	}
	defer spout.Close()
	spout.NextTuple()
	spout.NextTuple()
	if len(sout.emits) != 2 || sout.emits[0].msgID != "1" || !reflect.DeepEqual(sout.emits[0].values, topology.Values{"reliable"}) ||
		sout.emits[1].task != 7 || len(sout.errs) != 1 {
		t.Fatalf("spout emits %+v errs %v", sout.emits, sout.errs)
	}
	spout.Fail("1")
	spout.Ack("1")

	t.Setenv(serveEnv, "upper")
	bctx := *sctx
	bctx.ComponentID, bctx.TaskID = "upper", 1
	bout := &fakeCollector{tasks: []int{5}}
	bolt := newBolt([]string{os.Args[0]}, top.Definition.Bolts["upper"].Outputs)
	if err := bolt.Prepare(&bctx, bout); err != nil {
		t.Fatal(err)
	}
	defer bolt.Cleanup()
	in := []*topology.Tuple{
		{Values: topology.Values{"hi"}, Component: "words", Stream: "default", Task: 3},
		{Values: topology.Values{"fail"}, Component: "words", Stream: "default", Task: 3},
		{Values: topology.Values{int64(1)}, Component: topology.SystemComponent, Stream: topology.TickStream, Task: -1},
	}
	for _, tu := range in {
		bolt.Execute(tu)
	}
	bout.waitFor(t, "the bolt's emit, acks and fail", func() bool { return len(bout.acked) == 2 && len(bout.failed) == 1 })
	if len(bout.emits) != 1 || bout.emits[0].anchors[0] != in[0] || !reflect.DeepEqual(bout.emits[0].values, topology.Values{"HI"}) ||
		bout.acked[0] != in[0] || bout.failed[0] != in[1] || bout.acked[1] != in[2] {
		t.Fatalf("bolt emits %+v acked %v failed %v", bout.emits, bout.acked, bout.failed)
	}
}

// fakeHost is the host's end of the pipes to a Serve.
type fakeHost struct {
	t    *testing.T
	in   *io.PipeWriter // to the component
	out  *bufio.Reader  // from the component
	w    *bufio.Writer
	done chan error
}

func startServe(t *testing.T, top *topology.Topology, comp string, logger func(*slog.Logger)) *fakeHost {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	h := &fakeHost{t: t, in: inW, out: bufio.NewReader(outR), w: bufio.NewWriter(inW), done: make(chan error, 1)}
	go func() {
		err := Serve(context.Background(), ServeOptions{Topology: top, Component: comp, In: inR, Out: outW, Pid: 4242, OnLogger: logger})
		outW.CloseWithError(io.EOF)
		h.done <- err
	}()
	t.Cleanup(func() { inW.Close(); outR.Close() })
	return h
}

func (h *fakeHost) send(v any) {
	h.t.Helper()
	if err := writeMessage(h.w, v); err != nil {
		h.t.Fatalf("host write: %v", err)
	}
}

// recv reads the component's next message as the host decodes it.
func (h *fakeHost) recv() shellMsg {
	h.t.Helper()
	type result struct {
		m   shellMsg
		err error
	}
	ch := make(chan result, 1)
	go func() {
		raw, err := readMessage(h.out)
		if err != nil {
			ch <- result{err: err}
			return
		}
		m, err := decodeShellMsg(raw)
		ch <- result{m, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			h.t.Fatalf("host read: %v", r.err)
		}
		return r.m
	case <-time.After(10 * time.Second):
		h.t.Fatal("no message from the component within 10 s")
	}
	return shellMsg{}
}

// finish closes the host's side and returns what Serve returned.
func (h *fakeHost) finish() error {
	h.t.Helper()
	h.in.Close()
	select {
	case err := <-h.done:
		return err
	case <-time.After(10 * time.Second):
		h.t.Fatal("Serve did not return within 10 s of its input closing")
	}
	return nil
}

// handshake sends the host's handshake for task of comp and checks the
// reply and the pid file.
func (h *fakeHost) handshake(top *topology.Topology, comp string, task int) string {
	h.t.Helper()
	pidDir := filepath.Join(h.t.TempDir(), "pids")
	ctx := &topology.Context{ComponentID: comp, TaskID: task, PidDir: pidDir, Definition: top.Definition,
		TaskToComponent: map[int]string{1: "upper", 2: "upper", 3: "words"}}
	conf := map[string]any{"host.key": "from-host", "code.key": "overridden-by-host", "storm.id": "t-1-2"}
	h.send(newHandshake(ctx, conf, top.Definition.Spouts["words"].Outputs))
	if m := h.recv(); m.PID != 4242 {
		h.t.Fatalf("handshake reply %+v, want pid 4242", m)
	}
	if _, err := os.Stat(filepath.Join(pidDir, "4242")); err != nil {
		h.t.Fatalf("pid file: %v", err)
	}
	return pidDir
}

func TestServeHandshakeGivesTheContext(t *testing.T) {
	rec := &record{}
	top := mlTopology(t, rec)
	h := startServe(t, top, "upper", nil)
	pidDir := h.handshake(top, "upper", 2)
	h.send(map[string]any{"id": "1", "comp": "words", "stream": "default", "task": 3, "tuple": []any{"x"}})
	h.recv() // emit
	h.send([]int{5})
	h.recv() // ack
	if err := h.finish(); err != nil {
		t.Fatal(err)
	}
	ctx := rec.ctx
	if ctx.TaskID != 2 || ctx.ComponentID != "upper" || ctx.PidDir != pidDir || ctx.TopologyID != "t-1-2" {
		t.Errorf("context %+v", ctx)
	}
	if !reflect.DeepEqual(ctx.ComponentTasks, map[string][]int{"upper": {1, 2}, "words": {3}}) {
		t.Errorf("component tasks %v", ctx.ComponentTasks)
	}
	// Code's conf < the host's conf < the component's own conf.
	for k, want := range map[string]any{"code.key": "overridden-by-host", "host.key": "from-host", "component.key": "bolt-own"} {
		if ctx.Conf[k] != want {
			t.Errorf("conf %s = %v, want %v", k, ctx.Conf[k], want)
		}
	}
	if got := ctx.OutputFields("default"); !reflect.DeepEqual(got, topology.Fields{"upper"}) {
		t.Errorf("output fields %v", got)
	}
	if tu := rec.tuples[0]; tu.Value("word") != "x" || tu.Component != "words" || tu.Task != 3 {
		t.Errorf("tuple %+v: fields come from the definition", tu)
	}
	if got := rec.snapshot(); !reflect.DeepEqual(got, []string{"cleanup"}) {
		t.Errorf("calls %v, want the bolt cleaned up when the host closes stdin", got)
	}
}

func TestServeSpoutCommands(t *testing.T) {
	rec := &record{}
	top := mlTopology(t, rec)
	var logger *slog.Logger
	h := startServe(t, top, "words", func(l *slog.Logger) { logger = l })
	h.handshake(top, "words", 3)
	prev := slog.Default()
	slog.SetDefault(logger)
	defer slog.SetDefault(prev)

	h.send(map[string]any{"command": "activate"})
	if m := h.recv(); m.Command != "sync" {
		t.Fatalf("after activate: %+v", m)
	}
	h.send(map[string]any{"command": "next"})
	emit := h.recv()
	if emit.Command != "emit" || emit.Stream != "default" || !reflect.DeepEqual(emit.Tuple, topology.Values{"reliable"}) || emit.ID != "1" || !emit.NeedTaskIDs {
		t.Fatalf("reliable emit %+v", emit)
	}
	h.send([]int{1, 2})
	if m := h.recv(); m.Command != "sync" {
		t.Fatalf("after next: %+v", m)
	}
	h.send(map[string]any{"command": "next"})
	direct := h.recv()
	if direct.Task != 7 || direct.Stream != "direct" || direct.ID != nil {
		t.Fatalf("direct unreliable emit %+v", direct)
	}
	if m := h.recv(); m.Command != "log" || m.Level != 3 || m.Msg != "careful n=2" {
		t.Fatalf("log %+v", m)
	}
	if m := h.recv(); m.Command != "error" || m.Msg != "spout trouble" {
		t.Fatalf("error %+v", m)
	}
	if m := h.recv(); m.Command != "sync" {
		t.Fatalf("after next: %+v", m)
	}
	for _, cmd := range []map[string]any{{"command": "fail", "id": "1"}, {"command": "ack", "id": "1"}, {"command": "deactivate"}} {
		h.send(cmd)
		m := h.recv()
		if cmd["command"] == "ack" {
			// Already settled by the fail: logged, not passed on.
			if m.Command != "log" || !strings.Contains(m.Msg, "unknown message id") {
				t.Fatalf("second settle of id 1: %+v", m)
			}
			m = h.recv()
		}
		if m.Command != "sync" {
			t.Fatalf("after %v: %+v", cmd, m)
		}
	}
	if err := h.finish(); err != nil {
		t.Fatal(err)
	}
	// The second ack of id 1 was already settled by its fail: ignored.
	want := []string{"activate", "fail {1}", "deactivate", "close"}
	if got := rec.snapshot(); !reflect.DeepEqual(got, want) {
		t.Errorf("spout calls %v, want %v", got, want)
	}
	if !reflect.DeepEqual(rec.tasks, [][]int{{1, 2}}) {
		t.Errorf("Emit returned %v, want the host's task ids", rec.tasks)
	}
}

func TestServeBoltTuples(t *testing.T) {
	rec := &record{}
	top := mlTopology(t, rec)
	h := startServe(t, top, "upper", nil)
	h.handshake(top, "upper", 1)
	tuple := func(id, word string) map[string]any {
		return map[string]any{"id": id, "comp": "words", "stream": "default", "task": 3, "tuple": []any{word}}
	}
	// Two tuples in flight: the second waits in the pipe while the first's
	// emit waits for its task ids.
	h.send(tuple("10", "hello"))
	h.send(tuple("11", "fail"))
	emit := h.recv()
	if emit.Command != "emit" || !reflect.DeepEqual(emit.Anchors, []string{"10"}) || !reflect.DeepEqual(emit.Tuple, topology.Values{"HELLO"}) {
		t.Fatalf("emit %+v", emit)
	}
	h.send([]int{4})
	if m := h.recv(); m.Command != "ack" || m.ID != "10" {
		t.Fatalf("ack %+v", m)
	}
	if m := h.recv(); m.Command != "fail" || m.ID != "11" {
		t.Fatalf("fail %+v", m)
	}
	h.send(map[string]any{"id": "12", "comp": nil, "stream": "__heartbeat", "task": -1, "tuple": []any{}})
	if m := h.recv(); m.Command != "sync" {
		t.Fatalf("heartbeat answer %+v", m)
	}
	h.send(map[string]any{"id": "13", "comp": "__system", "stream": "__tick", "task": -1, "tuple": []any{1}})
	if m := h.recv(); m.Command != "ack" || m.ID != "13" {
		t.Fatalf("tick ack %+v", m)
	}
	h.send(tuple("14", "direct"))
	if m := h.recv(); m.Task != 9 || m.Stream != "direct" || !reflect.DeepEqual(m.Anchors, []string{"14"}) {
		t.Fatalf("direct emit %+v", m)
	}
	if m := h.recv(); m.Command != "ack" || m.ID != "14" {
		t.Fatalf("ack %+v", m)
	}
	h.send(tuple("15", "metric"))
	if m := h.recv(); m.Command != "metrics" || m.Name != "words" || !reflect.DeepEqual(m.Params, map[string]any{"n": int64(1)}) {
		t.Fatalf("metrics %+v", m)
	}
	h.recv() // ack
	if err := h.finish(); err != nil {
		t.Fatal(err)
	}
	if got := rec.snapshot(); !reflect.DeepEqual(got, []string{"tick", "cleanup"}) {
		t.Errorf("bolt calls %v", got)
	}
	if !reflect.DeepEqual(rec.tasks, [][]int{{4}}) {
		t.Errorf("Emit returned %v, want the host's task ids", rec.tasks)
	}
}

// TestServeMalformedInput: every broken input ends Serve with an error
// saying what was wrong, never a hang.
func TestServeMalformedInput(t *testing.T) {
	rec := &record{}
	top := mlTopology(t, rec)
	hs := func(comp string, task int) string {
		ctx := &topology.Context{ComponentID: comp, TaskID: task, PidDir: t.TempDir(), Definition: top.Definition,
			TaskToComponent: map[int]string{1: "upper", 3: "words"}}
		raw, _ := jsonLine(newHandshake(ctx, nil, nil))
		return raw
	}
	tests := []struct {
		name, comp, input, want string
	}{
		{"empty input", "upper", "", "closed stdin before the handshake"},
		{"not JSON", "upper", "hello\nend\n", "invalid JSON"},
		{"no end line", "upper", `{"conf":{}`, "no \"end\" line"},
		{"ids before handshake", "upper", "[1]\nend\n", "before the handshake"},
		{"no context", "upper", "{\"conf\":{},\"pidDir\":\"/tmp\"}\nend\n", "no \"context\""},
		{"no pid dir", "upper", "{\"conf\":{},\"context\":{}}\nend\n", "pidDir"},
		{"wrong component", "words", hs("upper", 1), "--component \"words\""},
		{"unknown component", "nope", hs("upper", 1), "no component \"nope\""},
		{"unknown spout command", "words", hs("words", 3) + "{\"command\":\"jump\"}\nend\n", "unknown spout command"},
		{"bad tuple", "upper", hs("upper", 1) + "{\"id\":\"1\",\"stream\":\"default\"}\nend\n", "want a tuple"},
		{"bad ids", "words", hs("words", 3) + "{\"command\":\"next\"}\nend\n[\"x\"]\nend\n", "task ids"},
		{"cut mid-message", "upper", hs("upper", 1) + "{\"id\":\"1\",", "no \"end\" line"},
		{"component panics", "upper", hs("upper", 1) + "{\"id\":\"1\",\"comp\":\"words\",\"stream\":\"default\",\"task\":3,\"tuple\":[\"panic\"]}\nend\n", "bolt blew up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				done <- Serve(context.Background(), ServeOptions{Topology: top, Component: tt.comp, In: strings.NewReader(tt.input), Out: io.Discard})
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Serve: %v, want an error containing %q", err, tt.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Serve hung on malformed input")
			}
		})
	}
}

func jsonLine(v any) (string, error) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	err := writeMessage(w, v)
	return buf.String(), err
}

// TestServeStopsWithItsContext: SIGTERM (the host's stop) cancels the
// context; Serve cleans up and returns nil.
func TestServeStopsWithItsContext(t *testing.T) {
	rec := &record{}
	top := mlTopology(t, rec)
	inR, inW := io.Pipe()
	defer inW.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ServeOptions{Topology: top, Component: "upper", In: inR, Out: io.Discard})
	}()
	raw, _ := jsonLine(newHandshake(&topology.Context{ComponentID: "upper", TaskID: 1, PidDir: t.TempDir(), Definition: top.Definition,
		TaskToComponent: map[int]string{1: "upper"}}, nil, nil))
	if _, err := io.WriteString(inW, raw); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop with its context")
	}
	if got := rec.snapshot(); !reflect.DeepEqual(got, []string{"cleanup"}) {
		t.Errorf("calls %v", got)
	}
}

// FuzzServeInput: whatever the host sends after a valid handshake, Serve
// returns (no hang, no panic) once the input ends.
func FuzzServeInput(f *testing.F) {
	rec := &record{}
	b := topology.NewBuilder()
	b.SetSpout("words", func() topology.Spout { return &mlSpout{rec: rec} }, 1)
	b.SetBolt("upper", func() topology.Bolt { return &mlBolt{rec: rec} }, 1).ShuffleGrouping("words")
	top, err := b.Build()
	if err != nil {
		f.Fatal(err)
	}
	pidDir := f.TempDir()
	f.Add(true, []byte("{\"command\":\"next\"}\nend\n[1]\nend\n{\"command\":\"ack\",\"id\":\"1\"}\nend\n"))
	f.Add(false, []byte("{\"id\":\"1\",\"comp\":\"words\",\"stream\":\"default\",\"task\":3,\"tuple\":[\"a\"]}\nend\n[2]\nend\n"))
	f.Add(false, []byte("{\"id\":1,\"stream\":\"__heartbeat\",\"task\":-1,\"tuple\":[]}\nend\n"))
	f.Fuzz(func(t *testing.T, spout bool, input []byte) {
		comp := "upper"
		if spout {
			comp = "words"
		}
		raw, _ := jsonLine(newHandshake(&topology.Context{ComponentID: comp, TaskID: 1, PidDir: pidDir, Definition: top.Definition,
			TaskToComponent: map[int]string{1: comp}}, nil, nil))
		in := io.MultiReader(strings.NewReader(raw), bytes.NewReader(input))
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = Serve(context.Background(), ServeOptions{Topology: top, Component: comp, In: in, Out: io.Discard, Pid: 1})
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Serve hung on input %q", input)
		}
	})
}

// TestServeWithoutTaskIDs: with ConfNoTaskIDs, emits ask for no task ids
// (no round trip) and Emit returns nil.
func TestServeWithoutTaskIDs(t *testing.T) {
	rec := &record{}
	top := mlTopology(t, rec)
	h := startServe(t, top, "upper", nil)
	ctx := &topology.Context{ComponentID: "upper", TaskID: 1, PidDir: t.TempDir(), Definition: top.Definition,
		TaskToComponent: map[int]string{1: "upper", 3: "words"}}
	h.send(newHandshake(ctx, map[string]any{ConfNoTaskIDs: true}, nil))
	h.recv() // pid
	h.send(map[string]any{"id": "1", "comp": "words", "stream": "default", "task": 3, "tuple": []any{"a"}})
	if m := h.recv(); m.Command != "emit" || m.NeedTaskIDs {
		t.Fatalf("emit %+v, want need_task_ids false", m)
	}
	if m := h.recv(); m.Command != "ack" { // no task ids were sent: the bolt did not wait
		t.Fatalf("ack %+v", m)
	}
	if err := h.finish(); err != nil {
		t.Fatal(err)
	}
	if len(rec.tasks) != 1 || rec.tasks[0] != nil {
		t.Errorf("Emit returned %v, want nil", rec.tasks)
	}
}

// sumWindow emits the number of tuples of each window.
type sumWindow struct{ out topology.WindowCollector }

func (s *sumWindow) DeclareOutputFields(d topology.OutputDeclarer) { d.Declare(topology.Fields{"n"}) }
func (s *sumWindow) Prepare(_ *topology.Context, out topology.WindowCollector) error {
	s.out = out
	return nil
}
func (s *sumWindow) Execute(w *topology.TupleWindow) { s.out.Emit(topology.Values{len(w.Tuples)}) }
func (s *sumWindow) Cleanup()                        {}

// TestServeWindowedBolt: a windowed bolt is carried inside the subprocess:
// its window configuration comes from the definition; its emits are
// anchored to the window's tuples, which are acked when they expire.
func TestServeWindowedBolt(t *testing.T) {
	b := topology.NewBuilder()
	b.SetSpout("words", func() topology.Spout { return &mlSpout{rec: &record{}} }, 1)
	b.SetWindowedBolt("win", func() topology.WindowedBolt { return &sumWindow{} }, 1, topology.WithTumblingWindow(topology.Count(2))).
		ShuffleGrouping("words")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	h := startServe(t, top, "win", nil)
	ctx := &topology.Context{ComponentID: "win", TaskID: 1, PidDir: t.TempDir(), Definition: top.Definition,
		TaskToComponent: map[int]string{1: "win", 3: "words"}}
	h.send(newHandshake(ctx, map[string]any{"topology.message.timeout.secs": 30}, nil))
	h.recv() // pid
	for i, w := range []string{"a", "b"} {
		h.send(map[string]any{"id": strconv.Itoa(i + 1), "comp": "words", "stream": "default", "task": 3, "tuple": []any{w}})
	}
	emit := h.recv()
	if emit.Command != "emit" || !reflect.DeepEqual(emit.Tuple, topology.Values{int64(2)}) || !reflect.DeepEqual(emit.Anchors, []string{"1", "2"}) {
		t.Fatalf("window emit %+v", emit)
	}
	h.send([]int{7})
	// The next window expires the first one's tuples: they are acked.
	for i, w := range []string{"c", "d"} {
		h.send(map[string]any{"id": strconv.Itoa(i + 3), "comp": "words", "stream": "default", "task": 3, "tuple": []any{w}})
	}
	acked := map[any]bool{}
	for range 3 {
		switch m := h.recv(); m.Command {
		case "ack":
			acked[m.ID] = true
		case "emit":
			if !reflect.DeepEqual(m.Anchors, []string{"3", "4"}) {
				t.Errorf("second window emit %+v", m)
			}
			h.send([]int{7})
		}
	}
	if !acked["1"] || !acked["2"] {
		t.Errorf("acked %v, want the expired window's tuples 1 and 2", acked)
	}
	if err := h.finish(); err != nil {
		t.Fatal(err)
	}
}

// meteredBolt registers two metrics in Prepare and updates one per tuple;
type meteredBolt struct {
	out  topology.BoltCollector
	seen *topology.CountMetric
}

func (b *meteredBolt) DeclareOutputFields(d topology.OutputDeclarer) { d.Declare(topology.Fields{"w"}) }
func (b *meteredBolt) Prepare(ctx *topology.Context, out topology.BoltCollector) error {
	b.out, b.seen = out, &topology.CountMetric{}
	if _, err := ctx.RegisterMetric("seen", b.seen, 5); err != nil {
		return err
	}
	_, err := ctx.RegisterMetric("lengths", topology.NewReducedMetric(topology.MeanReducer{}), 5)
	return err
}
func (b *meteredBolt) Execute(t *topology.Tuple) {
	b.seen.Incr()
	b.out.Ack(t)
}
func (b *meteredBolt) Cleanup() {}

// meteredSpout registers a metric in Open and emits one tuple per next.
type meteredSpout struct{ out topology.SpoutCollector }

func (s *meteredSpout) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"w"})
}
func (s *meteredSpout) Open(ctx *topology.Context, out topology.SpoutCollector) error {
	s.out = out
	_, err := ctx.RegisterMetric("emitted", &topology.CountMetric{}, 1)
	return err
}
func (s *meteredSpout) NextTuple()  { s.out.Emit(topology.Values{"x"}, nil) }
func (s *meteredSpout) Ack(any)     {}
func (s *meteredSpout) Fail(any)    {}
func (s *meteredSpout) Activate()   {}
func (s *meteredSpout) Deactivate() {}
func (s *meteredSpout) Close()      {}

// TestServeMetricsAreNotCarried: a component served as multilang registers
// metrics as it does natively (Prepare/Open succeed), but their values are
// never sent as "metrics" commands: Storm's FluxShellBolt/FluxShellSpout
// register no shell metric, and ShellBolt kills a component that sends one
// ("Could not find metric by name"). One "log" warning names them instead.
func TestServeMetricsAreNotCarried(t *testing.T) {
	b := topology.NewBuilder()
	b.SetSpout("src", func() topology.Spout { return &meteredSpout{} }, 1)
	b.SetBolt("metered", func() topology.Bolt { return &meteredBolt{} }, 1).ShuffleGrouping("src")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	warning := func(h *fakeHost, comp string, names ...string) {
		t.Helper()
		m := h.recv()
		if m.Command != "log" || m.Level != 3 || !strings.Contains(m.Msg, UncarriedMetricsWarning) || !strings.Contains(m.Msg, fmt.Sprintf("%q", comp)) {
			t.Fatalf("first message after the handshake: %+v, want a warning log about %s's metrics", m, comp)
		}
		for _, n := range names {
			if !strings.Contains(m.Msg, n) {
				t.Errorf("the warning %q does not name metric %q", m.Msg, n)
			}
		}
	}

	h := startServe(t, top, "metered", nil)
	ctx := &topology.Context{ComponentID: "metered", TaskID: 1, PidDir: t.TempDir(), Definition: top.Definition,
		TaskToComponent: map[int]string{1: "metered", 2: "src"}}
	h.send(newHandshake(ctx, nil, nil))
	h.recv() // pid
	warning(h, "metered", "seen", "lengths")
	for i := range 3 {
		h.send(map[string]any{"id": strconv.Itoa(i), "comp": "src", "stream": "default", "task": 2, "tuple": []any{"w"}})
		if m := h.recv(); m.Command != "ack" || m.ID != strconv.Itoa(i) {
			t.Fatalf("tuple %d: got %+v, want only its ack (no metrics command)", i, m)
		}
	}
	if err := h.finish(); err != nil {
		t.Fatal(err)
	}

	h = startServe(t, top, "src", nil)
	ctx = &topology.Context{ComponentID: "src", TaskID: 2, PidDir: t.TempDir(), Definition: top.Definition,
		TaskToComponent: map[int]string{1: "metered", 2: "src"}}
	h.send(newHandshake(ctx, nil, top.Definition.Spouts["src"].Outputs))
	h.recv() // pid
	warning(h, "src", "emitted")
	h.send(map[string]any{"command": "next"})
	if m := h.recv(); m.Command != "emit" {
		t.Fatalf("next: %+v, want an emit", m)
	}
	h.send([]int{1})
	if m := h.recv(); m.Command != "sync" {
		t.Fatalf("next: %+v, want sync", m)
	}
	if err := h.finish(); err != nil {
		t.Fatal(err)
	}
}

// TestServeMetricsRegistrationClosesAfterPrepare: as in the worker,
// RegisterMetric after Prepare is refused in multilang mode too.
func TestServeMetricsRegistrationClosesAfterPrepare(t *testing.T) {
	rec := &record{}
	top := mlTopology(t, rec)
	h := startServe(t, top, "upper", nil)
	h.handshake(top, "upper", 1)
	h.send(map[string]any{"id": "1", "comp": "words", "stream": "__heartbeat", "task": -1, "tuple": []any{}})
	h.recv() // sync: Prepare has returned
	rec.mu.Lock()
	ctx := rec.ctx
	rec.mu.Unlock()
	if _, err := ctx.RegisterMetric("late", &topology.CountMetric{}, 5); err == nil || !strings.Contains(err.Error(), "Prepare") {
		t.Errorf("RegisterMetric after Prepare: %v, want Storm's refusal", err)
	}
	if err := h.finish(); err != nil {
		t.Fatal(err)
	}
}

// TestServeHasNoResetTimeout: multilang has no resetTimeout command (Storm's
// ShellBolt knows none), so the bolt collector Serve gives does not offer
// one: topology.ResetTimeout reports it did nothing.
func TestServeHasNoResetTimeout(t *testing.T) {
	var out topology.BoltCollector = &mlBoltCollector{}
	if topology.ResetTimeout(out, &topology.Tuple{}) {
		t.Error("the multilang bolt collector claims to reset timeouts, which no multilang host can do")
	}
}
