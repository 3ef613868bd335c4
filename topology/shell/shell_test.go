package shell

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/topology"
)

func TestMain(m *testing.M) {
	if comp := os.Getenv(serveEnv); comp != "" {
		os.Exit(serveForHost(comp)) // the test binary as a multilang component
	}
	// Heartbeats and timeout checks every 100 ms keep failure tests short.
	heartbeatPeriod = 100 * time.Millisecond
	// Subprocess logs would interleave with benchmark output; what matters
	// is asserted through the collectors.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// resourcesDir is examples/multilang/resources, holding storm.py.
func resourcesDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../examples/multilang/resources")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func needPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("python3 is needed by the multilang tests and is not on PATH")
	}
}

// newContext is the context of task 3 of component comp, running in codeDir.
func newContext(t *testing.T, comp, codeDir string, timeoutSecs int) *topology.Context {
	t.Helper()
	t.Setenv("STORM_PY_DIR", resourcesDir(t))
	def := &topology.Definition{
		Spouts: map[string]*topology.ComponentDef{
			"sentences": {ID: "sentences", Parallelism: 1, Outputs: map[string]topology.StreamDef{"default": {Fields: topology.Fields{"sentence"}}}},
		},
		Bolts: map[string]*topology.ComponentDef{
			comp: {ID: comp, Parallelism: 1, Inputs: []topology.InputDef{
				{Component: "sentences", Stream: "default", Grouping: topology.Grouping{Type: topology.GroupShuffle}},
			}, Outputs: map[string]topology.StreamDef{"default": {Fields: topology.Fields{"word"}}}},
			"count": {ID: "count", Parallelism: 2, Inputs: []topology.InputDef{
				{Component: comp, Stream: "default", Grouping: topology.Grouping{Type: topology.GroupFields, Fields: topology.Fields{"word"}}},
			}},
		},
	}
	return &topology.Context{
		TopologyID:      "test-1-1",
		ComponentID:     comp,
		TaskID:          3,
		TaskToComponent: map[int]string{1: "count", 2: "count", 3: comp, 4: "sentences"},
		Conf:            map[string]any{confSubprocessTimeout: timeoutSecs, "topology.name": "test"},
		PidDir:          t.TempDir(),
		CodeDir:         codeDir,
		Definition:      def,
	}
}

// emitted is one emit seen by a fake collector.
type emitted struct {
	stream  string
	task    int // direct target, 0 otherwise
	values  topology.Values
	anchors []*topology.Tuple
	msgID   any
}

// fakeCollector implements both collectors, recording every call; safe for
// the shell components' goroutines.
type fakeCollector struct {
	mu     sync.Mutex
	emits  []emitted
	acked  []*topology.Tuple
	failed []*topology.Tuple
	errs   []error
	tasks  []int // returned by non-direct emits
	delay  time.Duration
}

func (f *fakeCollector) record(e emitted) []int {
	if f.delay > 0 {
		time.Sleep(f.delay) // a slow downstream (backpressure)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.emits = append(f.emits, e)
	return f.tasks
}

func (f *fakeCollector) Emit(anchors []*topology.Tuple, values topology.Values) []int {
	return f.EmitStream(topology.DefaultStream, anchors, values)
}

func (f *fakeCollector) EmitStream(stream string, anchors []*topology.Tuple, values topology.Values) []int {
	return f.record(emitted{stream: stream, values: values, anchors: anchors})
}

func (f *fakeCollector) EmitDirect(task int, stream string, anchors []*topology.Tuple, values topology.Values) {
	f.record(emitted{stream: stream, task: task, values: values, anchors: anchors})
}

func (f *fakeCollector) Ack(t *topology.Tuple) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acked = append(f.acked, t)
}

func (f *fakeCollector) Fail(t *topology.Tuple) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = append(f.failed, t)
}

func (f *fakeCollector) ReportError(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, err)
}

// spoutCollector adapts fakeCollector to SpoutCollector.
type spoutCollector struct{ *fakeCollector }

func (s spoutCollector) Emit(values topology.Values, msgID any) []int {
	return s.EmitStream(topology.DefaultStream, values, msgID)
}

func (s spoutCollector) EmitStream(stream string, values topology.Values, msgID any) []int {
	return s.record(emitted{stream: stream, values: values, msgID: msgID})
}

func (s spoutCollector) EmitDirect(task int, stream string, values topology.Values, msgID any) {
	s.record(emitted{stream: stream, task: task, values: values, msgID: msgID})
}

// waitFor polls cond (under the collector's lock) until it holds or 10 s pass.
func (f *fakeCollector) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, what, func() (bool, string) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return cond(), fmt.Sprintf("emits %+v acked %d failed %d errs %v", f.emits, len(f.acked), len(f.failed), f.errs)
	})
}

var boltOutputs = map[string]topology.StreamDef{
	"default": {Fields: topology.Fields{"word"}},
	"ids":     {Fields: topology.Fields{"text"}},
	"direct":  {Fields: topology.Fields{"word"}, Direct: true},
}

// startBolt prepares a shell bolt running script (from testdata) or a
// resources script, cleaned up at the end of the test.
func startBolt(t *testing.T, command []string, codeDir string, timeoutSecs int) (*Bolt, *fakeCollector, *topology.Context) {
	t.Helper()
	needPython(t)
	ctx := newContext(t, "split", codeDir, timeoutSecs)
	out := &fakeCollector{tasks: []int{1, 2}}
	b := newBolt(command, boltOutputs)
	if err := b.Prepare(ctx, out); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	t.Cleanup(b.Cleanup)
	return b, out, ctx
}

func testdataDir(t *testing.T) string {
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSplitSentenceBolt(t *testing.T) {
	b, out, ctx := startBolt(t, []string{"python3", "splitsentence.py"}, resourcesDir(t), 30)
	in := &topology.Tuple{Values: topology.Values{"the cow jumped"}, Component: "sentences", Stream: "default", Task: 4}
	b.Execute(in)
	out.waitFor(t, "the input acked", func() bool { return len(out.acked) == 1 })
	var words []string
	for _, e := range out.emits {
		if len(e.anchors) != 1 || e.anchors[0] != in {
			t.Errorf("emit %v anchored to %v, want the input", e.values, e.anchors)
		}
		words = append(words, e.values[0].(string))
	}
	if !reflect.DeepEqual(words, []string{"the", "cow", "jumped"}) {
		t.Errorf("words = %v", words)
	}
	if out.acked[0] != in {
		t.Error("acked another tuple than the input")
	}
	// The subprocess recorded its pid in the pid dir.
	pidFile := filepath.Join(ctx.PidDir, strconv.Itoa(b.proc.pid))
	if _, err := os.Stat(pidFile); err != nil {
		t.Errorf("pid file: %v", err)
	}
}

func TestBoltMessageKinds(t *testing.T) {
	b, out, _ := startBolt(t, []string{"python3", "protocol_bolt.py"}, testdataDir(t), 30)
	tuple := func(values ...any) *topology.Tuple {
		return &topology.Tuple{Values: values, Component: "sentences", Stream: "default", Task: 4}
	}
	t.Run("emit with anchors and the task-ids reply", func(t *testing.T) {
		in := tuple("emit", "hello")
		b.Execute(in)
		out.waitFor(t, "ack", func() bool { return len(out.acked) == 1 })
		if e := out.emits[0]; e.stream != "default" || e.values[0] != "hello" || len(e.anchors) != 1 || e.anchors[0] != in {
			t.Errorf("emit = %+v", e)
		}
		// The subprocess got the collector's task ids and echoed them.
		if e := out.emits[1]; e.stream != "ids" || e.values[0] != "[1, 2]" || len(e.anchors) != 0 {
			t.Errorf("echo of task ids = %+v", e)
		}
	})
	t.Run("emit with need_task_ids false", func(t *testing.T) {
		in := tuple("emit-no-ids", "quiet")
		b.Execute(in)
		// No reply is written: a following emit still gets its own ids.
		b.Execute(tuple("emit", "after"))
		out.waitFor(t, "acks", func() bool { return len(out.acked) == 3 })
		if e := out.emits[2]; e.values[0] != "quiet" || e.anchors[0] != in {
			t.Errorf("emit = %+v", e)
		}
		if e := out.emits[4]; e.values[0] != "[1, 2]" {
			t.Errorf("echo after a no-ids emit = %+v", e)
		}
	})
	t.Run("emit direct", func(t *testing.T) {
		in := tuple("direct", 9, "to-nine")
		b.Execute(in)
		out.waitFor(t, "ack", func() bool { return len(out.acked) == 4 })
		if e := out.emits[5]; e.task != 9 || e.stream != "direct" || e.values[0] != "to-nine" || e.anchors[0] != in {
			t.Errorf("direct emit = %+v", e)
		}
	})
	t.Run("ack and fail", func(t *testing.T) {
		a, f := tuple("ack"), tuple("fail")
		b.Execute(a)
		b.Execute(f)
		out.waitFor(t, "fail", func() bool { return len(out.failed) == 1 })
		out.waitFor(t, "ack", func() bool { return len(out.acked) == 5 })
		if out.acked[4] != a || out.failed[0] != f {
			t.Error("ack or fail of the wrong tuple")
		}
	})
	t.Run("log, metrics and error", func(t *testing.T) {
		b.Execute(tuple("log", "a log line"))
		b.Execute(tuple("metrics"))
		b.Execute(tuple("error", "something broke"))
		out.waitFor(t, "error", func() bool { return len(out.errs) == 1 })
		out.waitFor(t, "acks", func() bool { return len(out.acked) == 8 })
		if !strings.Contains(out.errs[0].Error(), "something broke") {
			t.Errorf("error = %v", out.errs[0])
		}
	})
	t.Run("tuple fields and values survive", func(t *testing.T) {
		b.Execute(&topology.Tuple{Values: topology.Values{"values", 42, 1.5, true, nil, "x"}, Component: "sentences", Stream: "s2", Task: 4})
		out.waitFor(t, "ack", func() bool { return len(out.acked) == 9 })
		got := out.emits[len(out.emits)-1].values[0]
		if want := `[42, 1.5, true, null, "x"]|sentences|s2|4`; got != want {
			t.Errorf("subprocess saw %q, want %q", got, want)
		}
	})
	t.Run("heartbeats are answered", func(t *testing.T) {
		// Heartbeats go every 100 ms: the last message time keeps moving.
		before := b.lastMsg.Load()
		out.waitFor(t, "a heartbeat answer", func() bool { return b.lastMsg.Load() > before })
		if len(out.errs) != 1 {
			t.Errorf("errors: %v", out.errs)
		}
	})
}

func TestBoltHandshakeContext(t *testing.T) {
	b, out, ctx := startBolt(t, []string{"python3", "protocol_bolt.py"}, testdataDir(t), 30)
	b.Execute(&topology.Tuple{Values: topology.Values{"context"}, Component: "sentences", Stream: "default"})
	out.waitFor(t, "ack", func() bool { return len(out.acked) == 1 })
	var got struct {
		Conf    map[string]any `json:"conf"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal([]byte(out.emits[0].values[0].(string)), &got); err != nil {
		t.Fatal(err)
	}
	if got.Conf["topology.name"] != "test" {
		t.Errorf("conf = %v", got.Conf)
	}
	want := map[string]any{
		"task->component":          map[string]any{"1": "count", "2": "count", "3": "split", "4": "sentences"},
		"taskid":                   float64(3),
		"componentid":              "split",
		"streams":                  []any{"default", "direct", "ids"},
		"stream->outputfields":     map[string]any{"default": []any{"word"}, "direct": []any{"word"}, "ids": []any{"text"}},
		"stream->target->grouping": map[string]any{"default": map[string]any{"count": map[string]any{"type": "FIELDS", "fields": []any{"word"}}}},
		"source->stream->grouping": map[string]any{"sentences": map[string]any{"default": map[string]any{"type": "SHUFFLE"}}},
		"source->stream->fields":   map[string]any{"sentences": map[string]any{"default": []any{"sentence"}}},
	}
	for key, w := range want {
		if !reflect.DeepEqual(got.Context[key], w) {
			t.Errorf("context[%q] = %#v, want %#v", key, got.Context[key], w)
		}
	}
	_ = ctx
}

// expectPanic runs f and returns the panic's message ("" if none).
func expectPanic(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

func TestBoltFailures(t *testing.T) {
	tests := []struct {
		name    string
		command []string
		action  topology.Values
		timeout int
		want    []string // in the reported error and the panic
	}{
		{"subprocess exits", []string{"python3", "protocol_bolt.py"}, topology.Values{"exit"}, 30,
			[]string{"dying on purpose", "exit status 3", "broken"}},
		{"subprocess is silent", []string{"python3", "silent_bolt.py"}, topology.Values{"x"}, 1,
			[]string{"heartbeat timeout"}},
		{"subprocess writes garbage", []string{"python3", "protocol_bolt.py"}, topology.Values{"garbage"}, 30,
			[]string{"invalid JSON", "this is not json"}},
		{"ack of an already acked id", []string{"python3", "protocol_bolt.py"}, topology.Values{"ack-twice"}, 30,
			[]string{"non-existent or already acked/failed id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, out, ctx := startBolt(t, tt.command, testdataDir(t), tt.timeout)
			var fatal error
			var fatalMu sync.Mutex
			ctx.Fatal = func(err error) { fatalMu.Lock(); fatal = err; fatalMu.Unlock() }
			b.Execute(&topology.Tuple{Values: tt.action, Component: "sentences", Stream: "default"})
			out.waitFor(t, "the failure reported", func() bool { return len(out.errs) > 0 })
			msg := expectPanic(func() { b.Execute(&topology.Tuple{Values: topology.Values{"ack"}}) })
			for _, w := range tt.want {
				if !strings.Contains(out.errs[0].Error(), w) {
					t.Errorf("reported error %q does not contain %q", out.errs[0], w)
				}
				if !strings.Contains(msg, w) {
					t.Errorf("panic %q does not contain %q", msg, w)
				}
			}
			// Fatal comes after the report and the kill, on the bolt's reader.
			out.waitFor(t, "Context.Fatal called", func() bool {
				fatalMu.Lock()
				defer fatalMu.Unlock()
				return fatal != nil
			})
			fatalMu.Lock()
			defer fatalMu.Unlock()
			if fatal.Error() != out.errs[0].Error() {
				t.Errorf("Context.Fatal got %v, the report %v", fatal, out.errs[0])
			}
		})
	}
}

func TestPrepareFails(t *testing.T) {
	needPython(t)
	for _, tt := range []struct {
		name    string
		command []string
		want    string
	}{
		{"no handshake reply", []string{"python3", "no_handshake.py"}, "missing configuration"},
		{"script not found", []string{"python3", "nope.py"}, "nope.py"},
		{"program not found", []string{"/nonexistent/program"}, "/nonexistent/program"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBolt(tt.command, boltOutputs)
			err := b.Prepare(newContext(t, "split", testdataDir(t), 30), &fakeCollector{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Prepare error %v, want one containing %q", err, tt.want)
			}
			b.Cleanup()
		})
	}
	t.Run("silent at the handshake", func(t *testing.T) {
		dir := t.TempDir()
		script := filepath.Join(dir, "mute.py")
		if err := os.WriteFile(script, []byte("import time\ntime.sleep(3600)\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		minHandshakeTimeout = 0
		defer func() { minHandshakeTimeout = 10 * time.Second }()
		start := time.Now()
		err := NewSpout([]string{"python3", script}, nil).Open(newContext(t, "s", dir, 1), spoutCollector{&fakeCollector{}})
		if err == nil || !strings.Contains(err.Error(), "no pid reply within 1s") {
			t.Fatalf("Open error %v", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("handshake timeout took %v", time.Since(start))
		}
	})
}

var spoutOutputs = map[string]topology.StreamDef{
	"default": {Fields: topology.Fields{"n"}},
	"events":  {Fields: topology.Fields{"event"}},
	"direct":  {Fields: topology.Fields{"n"}, Direct: true},
}

func startSpout(t *testing.T, command []string, codeDir string, timeoutSecs int, outputs map[string]topology.StreamDef) (*Spout, *fakeCollector) {
	t.Helper()
	needPython(t)
	out := &fakeCollector{tasks: []int{5, 6}}
	s := newSpout(command, outputs)
	if err := s.Open(newContext(t, "spout", codeDir, timeoutSecs), spoutCollector{out}); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s, out
}

func TestSpoutMessageKinds(t *testing.T) {
	s, out := startSpout(t, []string{"python3", "protocol_spout.py"}, testdataDir(t), 30, spoutOutputs)
	s.Activate()
	s.NextTuple()
	s.Ack(int64(0))
	s.Fail("x")
	s.Deactivate()
	// Each command is synchronous: everything is recorded when it returns.
	want := []emitted{
		{stream: "events", values: topology.Values{"activate"}},
		{stream: "default", values: topology.Values{"n0"}, msgID: int64(0)},
		{stream: "events", values: topology.Values{"[5, 6]"}},
		{stream: "direct", task: 7, values: topology.Values{"direct0"}},
		{stream: "events", values: topology.Values{"no-ids"}},
		{stream: "events", values: topology.Values{"ack 0"}},
		{stream: "events", values: topology.Values{`fail "x"`}},
		{stream: "events", values: topology.Values{"deactivate"}},
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if !reflect.DeepEqual(out.emits, want) {
		t.Errorf("emits\n got %+v\nwant %+v", out.emits, want)
	}
}

func TestRandomSentenceSpoutReplaysFailures(t *testing.T) {
	s, out := startSpout(t, []string{"python3", "randomsentence.py", "3"}, resourcesDir(t), 30,
		map[string]topology.StreamDef{"default": {Fields: topology.Fields{"sentence"}}})
	s.Activate()
	for i := 0; i < 5; i++ {
		s.NextTuple()
	}
	s.Fail("s1")
	s.Ack("s0")
	s.NextTuple()
	s.NextTuple()
	var ids []any
	for _, e := range out.emits {
		ids = append(ids, e.msgID)
	}
	if want := []any{"s0", "s1", "s2", "s1"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("message ids emitted %v, want %v", ids, want)
	}
}

func TestSpoutFailures(t *testing.T) {
	for _, tt := range []struct {
		mode    string
		timeout int
		want    []string
	}{
		{"hang", 1, []string{"heartbeat timeout", "no sync within 1s"}},
		{"die", 30, []string{"spout dying on purpose", "exit status 4"}},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			t.Setenv("SPOUT_MODE", tt.mode)
			s, out := startSpout(t, []string{"python3", "protocol_spout.py"}, testdataDir(t), tt.timeout, spoutOutputs)
			s.NextTuple() // the first one works
			msg := expectPanic(s.NextTuple)
			if msg == "" {
				t.Fatal("NextTuple did not panic")
			}
			if len(out.errs) != 1 {
				t.Fatalf("reported errors: %v", out.errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) || !strings.Contains(out.errs[0].Error(), w) {
					t.Errorf("panic %q / error %q: want %q", msg, out.errs[0], w)
				}
			}
			if again := expectPanic(s.NextTuple); again == "" {
				t.Error("a dead spout's next call did not panic")
			}
		})
	}
}

func TestRegisteredWithTopology(t *testing.T) {
	needPython(t)
	b := topology.NewBuilder()
	b.SetShellSpout("spout", []string{"python3", "randomsentence.py"}, map[string]topology.StreamDef{"default": {Fields: topology.Fields{"sentence"}}}, 1)
	b.SetShellBolt("split", []string{"python3", "splitsentence.py"}, map[string]topology.StreamDef{"default": {Fields: topology.Fields{"word"}}}, 1).ShuffleGrouping("spout")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	spout, err := topo.NewSpout("spout")
	if err != nil {
		t.Fatal(err)
	}
	bolt, err := topo.NewBolt("split")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := spout.(*Spout); !ok {
		t.Errorf("NewSpout gave %T", spout)
	}
	if _, ok := bolt.(*Bolt); !ok {
		t.Errorf("NewBolt gave %T", bolt)
	}
}

// TestBackpressureIsNotSilence: a collector that blocks longer than the
// subprocess timeout does not make the shell components give up.
func TestBackpressureIsNotSilence(t *testing.T) {
	t.Run("bolt", func(t *testing.T) {
		b, out, _ := startBolt(t, []string{"python3", "splitsentence.py"}, resourcesDir(t), 1)
		out.delay = 1500 * time.Millisecond
		b.Execute(&topology.Tuple{Values: topology.Values{"slow"}, Component: "sentences", Stream: "default"})
		out.waitFor(t, "the ack", func() bool { return len(out.acked) == 1 })
		if len(out.errs) != 0 {
			t.Errorf("errors: %v", out.errs)
		}
	})
	t.Run("spout", func(t *testing.T) {
		s, out := startSpout(t, []string{"python3", "randomsentence.py"}, resourcesDir(t), 1,
			map[string]topology.StreamDef{"default": {Fields: topology.Fields{"sentence"}}})
		out.delay = 2500 * time.Millisecond
		if msg := expectPanic(s.NextTuple); msg != "" {
			t.Fatalf("NextTuple panicked: %s", msg)
		}
		if len(out.emits) != 1 || len(out.errs) != 0 {
			t.Errorf("emits %v errors %v", out.emits, out.errs)
		}
	})
}

// TestTaskIDsInterleavedWithTuples pipelines many tuples, so that task-id
// replies and new tuples interleave on the subprocess's stdin: every emit
// must still get its own reply, in order.
func TestTaskIDsInterleavedWithTuples(t *testing.T) {
	b, out, _ := startBolt(t, []string{"python3", "protocol_bolt.py"}, testdataDir(t), 30)
	const n = 300
	for i := 0; i < n; i++ {
		b.Execute(&topology.Tuple{Values: topology.Values{"emit", fmt.Sprint(i)}, Component: "sentences", Stream: "default"})
	}
	out.waitFor(t, "all acks", func() bool { return len(out.acked) == n })
	var words []string
	for _, e := range out.emits {
		switch e.stream {
		case "default":
			words = append(words, e.values[0].(string))
		case "ids":
			if e.values[0] != "[1, 2]" {
				t.Fatalf("task ids echoed as %v", e.values[0])
			}
		}
	}
	if len(words) != n {
		t.Fatalf("%d words emitted, want %d", len(words), n)
	}
	for i, w := range words {
		if w != fmt.Sprint(i) {
			t.Fatalf("word %d is %q: order lost", i, w)
		}
	}
}
