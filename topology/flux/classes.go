package flux

import (
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/localstorm/localstorm/topology"
)

// Storm's class names of the components localstorm builds in.
const (
	ClassShellSpout      = "org.apache.storm.flux.wrappers.spouts.FluxShellSpout"
	ClassShellBolt       = "org.apache.storm.flux.wrappers.bolts.FluxShellBolt"
	ClassLogInfoBolt     = "org.apache.storm.flux.wrappers.bolts.LogInfoBolt"
	ClassTestWordSpout   = "org.apache.storm.testing.TestWordSpout"
	ClassTestWordCounter = "org.apache.storm.testing.TestWordCounter"
)

type kind string

const (
	kindSpout kind = "spout"
	kindBolt  kind = "bolt"
)

// class is a built-in class: its kind and how a YAML entry becomes a component.
type class struct {
	kind kind
	make func(c *componentDef) (component, error)
}

// component is what a class makes: a shell command with its outputs, or Go
// factories.
type component struct {
	shell   []string
	outputs map[string]topology.StreamDef
	conf    map[string]any
	spout   func() topology.Spout
	bolt    func() topology.Bolt
}

var classes = map[string]class{
	ClassShellSpout:      {kindSpout, makeShell},
	ClassShellBolt:       {kindBolt, makeShell},
	ClassTestWordSpout:   {kindSpout, makeTestWordSpout},
	ClassTestWordCounter: {kindBolt, noArgs(func() topology.Bolt { return topology.WrapBasicBolt(&testWordCounter{}) })},
	ClassLogInfoBolt:     {kindBolt, noArgs(func() topology.Bolt { return topology.WrapBasicBolt(logInfoBolt{}) })},
}

func classNames() []string {
	return slices.Sorted(maps.Keys(classes))
}

// lookupClass finds the built-in class of c, which must be of kind k.
func lookupClass(c *componentDef, k kind) (class, error) {
	if c.ID == "" {
		return class{}, fmt.Errorf("line %d: a %s without an id", c.line, k)
	}
	cl, ok := classes[c.ClassName]
	if !ok {
		return class{}, fmt.Errorf("line %d: %s %q: class %q is not supported by localstorm; supported classes: %s",
			c.line, k, c.ID, c.ClassName, strings.Join(classNames(), ", "))
	}
	if cl.kind != k {
		return class{}, fmt.Errorf("line %d: %s %q: class %s is a %s, not a %s", c.line, k, c.ID, c.ClassName, cl.kind, k)
	}
	return cl, nil
}

// makeShell reads FluxShellSpout's and FluxShellBolt's constructor
// arguments (the command; optionally the default stream's fields) and their
// config methods setDefaultStream, setNamedStream and addComponentConfig.
func makeShell(c *componentDef) (component, error) {
	if len(c.ConstructorArgs) < 1 || len(c.ConstructorArgs) > 2 {
		return component{}, fmt.Errorf("constructorArgs: want [command list] or [command list, output fields list], got %d arguments", len(c.ConstructorArgs))
	}
	command, err := stringList(c.ConstructorArgs[0])
	if err != nil || len(command) == 0 {
		return component{}, fmt.Errorf("constructorArgs[0]: want the command as a non-empty list of strings, e.g. [\"python3\", \"bolt.py\"]")
	}
	comp := component{shell: command, outputs: map[string]topology.StreamDef{}, conf: map[string]any{}}
	if len(c.ConstructorArgs) == 2 {
		fields, err := stringList(c.ConstructorArgs[1])
		if err != nil {
			return component{}, fmt.Errorf("constructorArgs[1]: want the output fields as a list of strings: %w", err)
		}
		comp.outputs[topology.DefaultStream] = topology.StreamDef{Fields: fields}
	}
	for _, m := range c.ConfigMethods {
		if err := shellConfigMethod(&comp, m); err != nil {
			return component{}, fmt.Errorf("configMethods %s: %w", m.Name, err)
		}
	}
	return comp, nil
}

func shellConfigMethod(comp *component, m configMethodDef) error {
	switch m.Name {
	case "setDefaultStream":
		if len(m.Args) != 1 {
			return fmt.Errorf("want one argument, the list of fields")
		}
		fields, err := stringList(m.Args[0])
		if err != nil {
			return err
		}
		comp.outputs[topology.DefaultStream] = topology.StreamDef{Fields: fields}
	case "setNamedStream":
		if len(m.Args) != 2 {
			return fmt.Errorf("want two arguments, the stream name and the list of fields")
		}
		name, ok := m.Args[0].(string)
		if !ok || name == "" {
			return fmt.Errorf("the stream name must be a non-empty string")
		}
		fields, err := stringList(m.Args[1])
		if err != nil {
			return err
		}
		comp.outputs[name] = topology.StreamDef{Fields: fields}
	case "addComponentConfig":
		if len(m.Args) != 2 {
			return fmt.Errorf("want two arguments, the key and the value")
		}
		key, ok := m.Args[0].(string)
		if !ok {
			return fmt.Errorf("the key must be a string")
		}
		comp.conf[key] = m.Args[1]
	default:
		return fmt.Errorf("not supported (supported: setDefaultStream, setNamedStream, addComponentConfig)")
	}
	return nil
}

func noArgs(f func() topology.Bolt) func(c *componentDef) (component, error) {
	return func(c *componentDef) (component, error) {
		if len(c.ConstructorArgs) > 0 {
			return component{}, fmt.Errorf("constructorArgs: the class takes none")
		}
		if len(c.ConfigMethods) > 0 {
			return component{}, fmt.Errorf("configMethods: the class has none")
		}
		return component{bolt: f}, nil
	}
}

// makeTestWordSpout accepts Storm's optional isDistributed argument.
func makeTestWordSpout(c *componentDef) (component, error) {
	if len(c.ConstructorArgs) > 1 {
		return component{}, fmt.Errorf("constructorArgs: want none or [isDistributed]")
	}
	if len(c.ConstructorArgs) == 1 {
		if _, ok := c.ConstructorArgs[0].(bool); !ok {
			return component{}, fmt.Errorf("constructorArgs[0]: isDistributed must be true or false")
		}
	}
	if len(c.ConfigMethods) > 0 {
		return component{}, fmt.Errorf("configMethods: the class has none")
	}
	return component{spout: func() topology.Spout { return &testWordSpout{} }}, nil
}

func stringList(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%v is not a list", v)
	}
	out := make([]string, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("element %d (%v) is not a string", i, e)
		}
		out[i] = s
	}
	return out, nil
}

// testWordWords are the words of Storm's TestWordSpout.
var testWordWords = []string{"nathan", "mike", "jackson", "golda", "bertels"}

// testWordPeriod is TestWordSpout's pause between tuples.
const testWordPeriod = 100 * time.Millisecond

// testWordSpout is Storm's TestWordSpout: one random word of five every
// 100 ms, unanchored, on field "word".
type testWordSpout struct {
	out  topology.SpoutCollector
	rng  *rand.Rand
	next time.Time
}

func (s *testWordSpout) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"word"})
}

func (s *testWordSpout) Open(_ *topology.Context, out topology.SpoutCollector) error {
	s.out = out
	s.rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	return nil
}

func (s *testWordSpout) NextTuple() {
	// Storm's spout sleeps 100 ms in every nextTuple; sleeping only what is
	// left of the period keeps the same rate.
	if wait := time.Until(s.next); wait > 0 {
		time.Sleep(wait)
	}
	s.next = time.Now().Add(testWordPeriod)
	s.out.Emit(topology.Values{testWordWords[s.rng.IntN(len(testWordWords))]}, nil)
}

func (s *testWordSpout) Close()      {}
func (s *testWordSpout) Activate()   {}
func (s *testWordSpout) Deactivate() {}
func (s *testWordSpout) Ack(any)     {}
func (s *testWordSpout) Fail(any)    {}

// testWordCounter is Storm's TestWordCounter: counts the words of field 0
// and emits [word, count].
type testWordCounter struct{ counts map[string]int }

func (c *testWordCounter) DeclareOutputFields(d topology.OutputDeclarer) {
	d.Declare(topology.Fields{"word", "count"})
}

func (c *testWordCounter) Prepare(*topology.Context) error {
	c.counts = map[string]int{}
	return nil
}

func (c *testWordCounter) Execute(t *topology.Tuple, out topology.BasicCollector) error {
	if len(t.Values) == 0 {
		return fmt.Errorf("TestWordCounter: tuple from %s/%s has no values", t.Component, t.Stream)
	}
	word := fmt.Sprint(t.Values[0])
	c.counts[word]++
	out.Emit(topology.Values{word, c.counts[word]})
	return nil
}

func (c *testWordCounter) Cleanup() {}

// logInfoBolt is Flux's LogInfoBolt: logs every tuple at INFO.
type logInfoBolt struct{}

func (logInfoBolt) DeclareOutputFields(topology.OutputDeclarer) {}
func (logInfoBolt) Prepare(*topology.Context) error             { return nil }
func (logInfoBolt) Cleanup()                                    {}

func (logInfoBolt) Execute(t *topology.Tuple, _ topology.BasicCollector) error {
	slog.Info(fmt.Sprintf("source: %s:%d, stream: %s, %v", t.Component, t.Task, t.Stream, t.Values))
	return nil
}
