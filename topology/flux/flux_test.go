package flux

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/topology"
)

func TestLoadWordCount(t *testing.T) {
	topo, err := Load("testdata/wordcount.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	d := topo.Definition
	if d.Name != "flux-wordcount" {
		t.Errorf("name = %q", d.Name)
	}
	if d.Conf["topology.workers"] != 1 || d.Conf["topology.message.timeout.secs"] != 20 {
		t.Errorf("conf = %v", d.Conf)
	}
	words := d.Spouts["words"]
	if words.Parallelism != 2 || !reflect.DeepEqual(words.Outputs, map[string]topology.StreamDef{"default": {Fields: topology.Fields{"word"}}}) {
		t.Errorf("words = %+v", words)
	}
	counter := d.Bolts["counter"]
	if counter.Parallelism != 2 || counter.NumTasks != 4 || counter.Conf["topology.tick.tuple.freq.secs"] != 5 {
		t.Errorf("counter = %+v", counter)
	}
	want := []topology.InputDef{{Component: "words", Stream: "default", Grouping: topology.Grouping{Type: topology.GroupFields, Fields: topology.Fields{"word"}}}}
	if !reflect.DeepEqual(counter.Inputs, want) {
		t.Errorf("counter inputs = %+v", counter.Inputs)
	}
	logger := d.Bolts["logger"]
	if logger.Parallelism != 1 || logger.NumTasks != 0 || len(logger.Outputs) != 0 ||
		!reflect.DeepEqual(logger.Inputs, []topology.InputDef{{Component: "counter", Stream: "default", Grouping: topology.Grouping{Type: topology.GroupShuffle}}}) {
		t.Errorf("logger = %+v", logger)
	}
	if !reflect.DeepEqual(counter.Outputs["default"].Fields, topology.Fields{"word", "count"}) {
		t.Errorf("counter outputs = %+v", counter.Outputs)
	}
}

// collector records what the built-in components do.
type collector struct {
	mu     sync.Mutex
	emits  []topology.Values
	acked  int
	failed int
	errs   []error
}

func (c *collector) Emit(values topology.Values, _ any) []int {
	return c.EmitStream("default", values, nil)
}
func (c *collector) EmitStream(_ string, values topology.Values, _ any) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.emits = append(c.emits, values)
	return []int{1}
}
func (c *collector) EmitDirect(int, string, topology.Values, any) {}
func (c *collector) ReportError(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, err)
}

// boltCollector adapts collector to BoltCollector.
type boltCollector struct{ *collector }

func (b boltCollector) Emit(_ []*topology.Tuple, values topology.Values) []int {
	return b.collector.EmitStream("default", values, nil)
}
func (b boltCollector) EmitStream(s string, _ []*topology.Tuple, values topology.Values) []int {
	return b.collector.EmitStream(s, values, nil)
}
func (b boltCollector) EmitDirect(int, string, []*topology.Tuple, topology.Values) {}
func (b boltCollector) Ack(*topology.Tuple) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.acked++
}
func (b boltCollector) Fail(*topology.Tuple) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failed++
}

func TestBuiltInComponents(t *testing.T) {
	topo, err := Load("testdata/wordcount.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	spout, err := topo.NewSpout("words")
	if err != nil {
		t.Fatal(err)
	}
	out := &collector{}
	if err := spout.Open(&topology.Context{}, out); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < 3; i++ {
		spout.NextTuple()
	}
	// Three tuples take at least two periods of 100 ms.
	if elapsed := time.Since(start); elapsed < 2*testWordPeriod {
		t.Errorf("3 tuples in %v: TestWordSpout emits one per 100 ms", elapsed)
	}
	if len(out.emits) != 3 {
		t.Fatalf("emits = %v", out.emits)
	}
	for _, v := range out.emits {
		if len(v) != 1 || !slices.Contains(testWordWords, v[0].(string)) {
			t.Errorf("TestWordSpout emitted %v", v)
		}
	}

	counter, err := topo.NewBolt("counter")
	if err != nil {
		t.Fatal(err)
	}
	cout := &collector{}
	if err := counter.Prepare(&topology.Context{}, boltCollector{cout}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"golda", "mike", "golda"} {
		counter.Execute(&topology.Tuple{Values: topology.Values{w}, Fields: topology.Fields{"word"}})
	}
	want := []topology.Values{{"golda", 1}, {"mike", 1}, {"golda", 2}}
	if !reflect.DeepEqual(cout.emits, want) || cout.acked != 3 {
		t.Errorf("TestWordCounter emitted %v, acked %d", cout.emits, cout.acked)
	}

	logger, err := topo.NewBolt("logger")
	if err != nil {
		t.Fatal(err)
	}
	lout := &collector{}
	if err := logger.Prepare(&topology.Context{}, boltCollector{lout}); err != nil {
		t.Fatal(err)
	}
	logger.Execute(&topology.Tuple{Values: topology.Values{"golda", 2}, Component: "counter"})
	if lout.acked != 1 || len(lout.emits) != 0 {
		t.Errorf("LogInfoBolt acked %d, emitted %v", lout.acked, lout.emits)
	}
}

func resources(t *testing.T) string {
	dir, err := filepath.Abs("../../examples/multilang/resources")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestMultilangFlux loads the multilang example and runs its shell spout
// and shell bolt one after the other.
func TestMultilangFlux(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("python3 is needed by the multilang Flux test and is not on PATH")
	}
	dir := resources(t)
	topo, err := Load(filepath.Join(dir, "multilang.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := topo.Definition
	if d.Name != "multilang-flux" || d.Spouts["sentence-spout"].Shell == nil ||
		!reflect.DeepEqual(d.Bolts["splitsentence"].Shell.Command, []string{"python3", "splitsentence.py"}) ||
		d.Bolts["splitsentence"].Parallelism != 2 {
		t.Fatalf("definition = %+v", d)
	}
	ctx := func(comp string) *topology.Context {
		return &topology.Context{ComponentID: comp, TaskID: 1, CodeDir: dir, PidDir: t.TempDir(),
			TaskToComponent: map[int]string{1: comp}, Conf: map[string]any{}, Definition: d}
	}
	spout, err := topo.NewSpout("sentence-spout")
	if err != nil {
		t.Fatal(err)
	}
	sout := &collector{}
	if err := spout.Open(ctx("sentence-spout"), sout); err != nil {
		t.Fatal(err)
	}
	defer spout.Close()
	spout.Activate()
	spout.NextTuple()
	if len(sout.emits) != 1 {
		t.Fatalf("spout emitted %v", sout.emits)
	}
	sentence := sout.emits[0][0].(string)

	bolt, err := topo.NewBolt("splitsentence")
	if err != nil {
		t.Fatal(err)
	}
	bout := &collector{}
	if err := bolt.Prepare(ctx("splitsentence"), boltCollector{bout}); err != nil {
		t.Fatal(err)
	}
	defer bolt.Cleanup()
	bolt.Execute(&topology.Tuple{Values: topology.Values{sentence}, Component: "sentence-spout", Stream: "default", Task: 1})
	var n int
	testutil.Eventually(t, 10*time.Second, "the sentence acked", func() bool {
		bout.mu.Lock()
		defer bout.mu.Unlock()
		n = len(bout.emits)
		return bout.acked == 1
	})
	if n != len(strings.Fields(sentence)) {
		t.Errorf("split %q into %d words", sentence, n)
	}
}

const minimal = `
name: "t"
spouts:
  - id: "s"
    className: "org.apache.storm.testing.TestWordSpout"
bolts:
  - id: "b"
    className: "org.apache.storm.testing.TestWordCounter"
`

func writeFlux(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "topology.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEnvSubstitution(t *testing.T) {
	text := strings.Replace(minimal, `name: "t"`, `name: "${ENV-TOPO_NAME}"`, 1) + `    parallelism: ${ENV-PAR}
streams:
  - from: "s"
    to: "b"
    grouping:
      type: SHUFFLE
`
	path := writeFlux(t, text)
	topo, err := Load(path, map[string]string{"TOPO_NAME": "from-env", "PAR": "3"})
	if err != nil {
		t.Fatal(err)
	}
	if topo.Definition.Name != "from-env" || topo.Definition.Bolts["b"].Parallelism != 3 {
		t.Errorf("name %q, parallelism %d", topo.Definition.Name, topo.Definition.Bolts["b"].Parallelism)
	}
	_, err = Load(path, map[string]string{"TOPO_NAME": "x"})
	if err == nil || !strings.Contains(err.Error(), "PAR") || !strings.Contains(err.Error(), "not set") {
		t.Errorf("missing variable: %v", err)
	}
}

func TestGroupings(t *testing.T) {
	const shell = `
spouts:
  - id: "s"
    className: "org.apache.storm.flux.wrappers.spouts.FluxShellSpout"
    constructorArgs:
      - ["python3", "spout.py"]
      - ["word", "n"]
    configMethods:
      - name: "setNamedStream"
        args: ["other", ["x"]]
      - name: "addComponentConfig"
        args: ["k", 7]
bolts:
  - id: "b"
    className: "org.apache.storm.flux.wrappers.bolts.FluxShellBolt"
    constructorArgs:
      - ["python3", "bolt.py"]
streams:
  - from: "s"
    to: "b"
    grouping:
`
	tests := []struct {
		grouping string
		want     topology.InputDef
	}{
		{"type: SHUFFLE", topology.InputDef{Component: "s", Stream: "default", Grouping: topology.Grouping{Type: topology.GroupShuffle}}},
		{"type: LOCAL_OR_SHUFFLE", topology.InputDef{Component: "s", Stream: "default", Grouping: topology.Grouping{Type: topology.GroupLocalOrShuffle}}},
		{"type: FIELDS\n      args: [\"n\", \"word\"]", topology.InputDef{Component: "s", Stream: "default", Grouping: topology.Grouping{Type: topology.GroupFields, Fields: topology.Fields{"n", "word"}}}},
		{"type: ALL", topology.InputDef{Component: "s", Stream: "default", Grouping: topology.Grouping{Type: topology.GroupAll}}},
		{"type: GLOBAL", topology.InputDef{Component: "s", Stream: "default", Grouping: topology.Grouping{Type: topology.GroupGlobal}}},
		{"type: NONE", topology.InputDef{Component: "s", Stream: "default", Grouping: topology.Grouping{Type: topology.GroupNone}}},
		{"type: SHUFFLE\n      streamId: \"other\"", topology.InputDef{Component: "s", Stream: "other", Grouping: topology.Grouping{Type: topology.GroupShuffle}}},
		{"type: CUSTOM\n      customClass:\n        className: \"flux-test-grouping\"", topology.InputDef{Component: "s", Stream: "default", Grouping: topology.Grouping{Type: topology.GroupCustom, Custom: "flux-test-grouping"}}},
	}
	topology.RegisterGrouping("flux-test-grouping", func() topology.CustomGrouping { return nil })
	for _, tt := range tests {
		topo, err := Load(writeFlux(t, shell+"      "+tt.grouping+"\n"), nil)
		if err != nil {
			t.Errorf("%s: %v", tt.grouping, err)
			continue
		}
		if got := topo.Definition.Bolts["b"].Inputs; !reflect.DeepEqual(got, []topology.InputDef{tt.want}) {
			t.Errorf("%s: inputs %+v, want %+v", tt.grouping, got, tt.want)
		}
		s := topo.Definition.Spouts["s"]
		if !reflect.DeepEqual(s.Outputs["other"].Fields, topology.Fields{"x"}) || s.Conf["k"] != 7 {
			t.Errorf("config methods not applied: %+v", s)
		}
	}
	// Flux's shell wrappers cannot declare a stream direct: as in Storm, a
	// DIRECT grouping makes the shell component's stream direct.
	topo, err := Load(writeFlux(t, shell+"      type: DIRECT\n"), nil)
	if err != nil {
		t.Fatalf("DIRECT on a shell stream: %v", err)
	}
	if s := topo.Definition.Spouts["s"]; !s.Outputs["default"].Direct || s.Outputs["other"].Direct ||
		topo.Definition.Bolts["b"].Inputs[0].Grouping.Type != topology.GroupDirect {
		t.Errorf("DIRECT: outputs %+v inputs %+v", s.Outputs, topo.Definition.Bolts["b"].Inputs)
	}
	// PartialKeyGrouping, Storm's class, takes a Fields component by ref.
	partial := strings.Replace(shell, "bolts:", "components:\n  - id: \"keys\"\n    className: \""+ClassFields+"\"\n    constructorArgs:\n      - [\"word\"]\nbolts:", 1) +
		"      type: CUSTOM\n      customClass:\n        className: \"" + ClassPartialKeyGrouping + "\"\n        constructorArgs:\n          - ref: \"keys\"\n"
	topo, err = Load(writeFlux(t, partial), nil)
	if err != nil {
		t.Fatalf("PartialKeyGrouping: %v", err)
	}
	want := topology.Grouping{Type: topology.GroupPartialKey, Fields: topology.Fields{"word"}}
	if got := topo.Definition.Bolts["b"].Inputs[0].Grouping; !reflect.DeepEqual(got, want) {
		t.Errorf("PartialKeyGrouping: %+v, want %+v", got, want)
	}
	for _, bad := range []string{strings.Replace(partial, "ref: \"keys\"", "ref: \"nope\"", 1), strings.Replace(partial, "- ref: \"keys\"", "- [\"word\"]", 1)} {
		if _, err := Load(writeFlux(t, bad), nil); err == nil || !strings.Contains(err.Error(), ClassPartialKeyGrouping) {
			t.Errorf("bad PartialKeyGrouping: %v", err)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	stream := "streams:\n  - from: \"s\"\n    to: \"b\"\n    grouping:\n      type: SHUFFLE\n"
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"unknown class", strings.Replace(minimal, "org.apache.storm.testing.TestWordCounter", "com.example.MyBolt", 1),
			[]string{`class "com.example.MyBolt" is not supported`, ClassShellBolt, ClassTestWordCounter, `bolt "b"`, "line 7"}},
		{"spout class as a bolt", strings.Replace(minimal, "org.apache.storm.testing.TestWordCounter", ClassTestWordSpout, 1),
			[]string{"is a spout, not a bolt"}},
		{"includes", minimal + "includes:\n  - resource: true\n    file: \"x.yaml\"\n", []string{`"includes" is not supported`}},
		{"components", minimal + "components:\n  - id: \"c\"\n    className: \"x\"\n", []string{`class "x" is not supported by localstorm in components`}},
		{"properties", minimal + "    properties:\n      - name: \"x\"\n        value: 1\n", []string{`"properties" is not supported`}},
		{"unknown config method", minimal + "    configMethods:\n      - name: \"withX\"\n", []string{"configMethods: the class has none"}},
		{"misspelt key", minimal + "    paralelism: 2\n", []string{"paralelism"}},
		{"unknown grouping", minimal + strings.Replace(stream, "SHUFFLE", "RANDOM", 1), []string{`unknown grouping type "RANDOM"`}},
		{"fields without args", minimal + strings.Replace(stream, "SHUFFLE", "FIELDS", 1), []string{"FIELDS grouping needs args"}},
		{"fields on an unknown field", minimal + strings.Replace(stream, "SHUFFLE", "FIELDS\n      args: [\"nope\"]", 1), []string{`field "nope"`}},
		{"stream to an unknown bolt", minimal + strings.Replace(stream, `to: "b"`, `to: "zz"`, 1), []string{`no bolt "zz"`}},
		{"stream from an unknown component", minimal + strings.Replace(stream, `from: "s"`, `from: "zz"`, 1), []string{`unknown component "zz"`}},
		{"custom without class", minimal + strings.Replace(stream, "SHUFFLE", "CUSTOM", 1), []string{"customClass.className"}},
		{"zero parallelism", minimal + "    parallelism: 0\n", []string{`bolt "b": parallelism 0`}},
		{"shell without args", minimal + "  - id: \"sh\"\n    className: \"" + ClassShellBolt + "\"\n", []string{"constructorArgs"}},
		{"shell command not a list", minimal + "  - id: \"sh\"\n    className: \"" + ClassShellBolt + "\"\n    constructorArgs: [\"python3 x.py\"]\n",
			[]string{"constructorArgs[0]"}},
		{"counter with args", strings.Replace(minimal, "TestWordCounter\"", "TestWordCounter\"\n    constructorArgs: [1]", 1), []string{"takes none"}},
		{"not YAML", "name: [", []string{"parse YAML"}},
		{"no spouts", "name: x\n", []string{"no spout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFlux(t, tt.text), nil)
			if err == nil {
				t.Fatalf("no error; want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
	if _, err := Load("testdata/missing.yaml", nil); err == nil {
		t.Error("missing file: no error")
	}
}

func TestResourceHintsAreAccepted(t *testing.T) {
	if _, err := Load(writeFlux(t, minimal+"    cpuLoad: 10\n    onHeapMemoryLoad: 128\n"), nil); err != nil {
		t.Fatal(err)
	}
}
