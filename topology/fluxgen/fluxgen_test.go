package fluxgen

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/localstorm/localstorm/topology"
	"github.com/localstorm/localstorm/topology/flux"
)

type spout struct{ streams map[string]topology.StreamDef }

func (s spout) DeclareOutputFields(d topology.OutputDeclarer) {
	for name, def := range s.streams {
		d.DeclareStream(name, def.Direct, def.Fields)
	}
}
func (spout) Open(*topology.Context, topology.SpoutCollector) error { return nil }
func (spout) Close()                                                {}
func (spout) Activate()                                             {}
func (spout) Deactivate()                                           {}
func (spout) NextTuple()                                            {}
func (spout) Ack(any)                                               {}
func (spout) Fail(any)                                              {}

type bolt struct{ spout }

func (bolt) Prepare(*topology.Context, topology.BoltCollector) error { return nil }
func (bolt) Execute(*topology.Tuple)                                 {}
func (bolt) Cleanup()                                                {}

func outputs(kv ...any) map[string]topology.StreamDef {
	m := map[string]topology.StreamDef{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(topology.StreamDef)
	}
	return m
}

// everyGrouping uses each SDK grouping Storm has, named and direct streams,
// component configuration, parallelism and task counts.
func everyGrouping(t *testing.T) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	src := spout{outputs("default", topology.StreamDef{Fields: topology.Fields{"word", "n"}},
		"side", topology.StreamDef{Fields: topology.Fields{"x"}},
		"targeted", topology.StreamDef{Fields: topology.Fields{"word"}, Direct: true})}
	b.SetSpout("src", func() topology.Spout { return src }, 2).SetNumTasks(4).AddConfig("topology.max.spout.pending", 50)
	sink := func() topology.Bolt {
		return bolt{spout{outputs("default", topology.StreamDef{Fields: topology.Fields{"out"}})}}
	}
	b.SetBolt("shuffle", sink, 1).ShuffleGrouping("src").AddConfig("topology.tick.tuple.freq.secs", 5)
	b.SetBolt("local", sink, 1).LocalOrShuffleGrouping("src", "side")
	b.SetBolt("fields", sink, 3).FieldsGrouping("src", topology.Fields{"word"})
	b.SetBolt("all", sink, 1).AllGrouping("src")
	b.SetBolt("global", sink, 1).GlobalGrouping("shuffle")
	b.SetBolt("none", sink, 1).NoneGrouping("src")
	b.SetBolt("direct", sink, 2).DirectGrouping("src", "targeted")
	b.SetBolt("partial", sink, 2).PartialKeyGrouping("src", topology.Fields{"n"})
	b.SetBolt("sink", func() topology.Bolt { return bolt{} }, 1).ShuffleGrouping("fields").ShuffleGrouping("partial")
	b.SetConf("topology.workers", 3)
	b.SetConf("app.list", []any{"a", 1, true})
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// stormFlux is the part of Storm's Flux model (TopologyDef, BeanDef,
// SpoutDef/BoltDef, StreamDef, GroupingDef) a generated file may use;
// decoding with KnownFields refuses any other key, as Flux's SnakeYAML bean
// mapping does.
type stormFlux struct {
	Name       string           `yaml:"name"`
	Config     map[string]any   `yaml:"config"`
	Components []stormObject    `yaml:"components"`
	Spouts     []stormComponent `yaml:"spouts"`
	Bolts      []stormComponent `yaml:"bolts"`
	Streams    []stormStream    `yaml:"streams"`
}

type stormObject struct {
	ID              string `yaml:"id"`
	ClassName       string `yaml:"className"`
	ConstructorArgs []any  `yaml:"constructorArgs"`
}

type stormClass struct {
	ClassName       string `yaml:"className"`
	ConstructorArgs []any  `yaml:"constructorArgs"`
}

type stormComponent struct {
	ID              string `yaml:"id"`
	ClassName       string `yaml:"className"`
	ConstructorArgs []any  `yaml:"constructorArgs"`
	ConfigMethods   []struct {
		Name string `yaml:"name"`
		Args []any  `yaml:"args"`
	} `yaml:"configMethods"`
	Parallelism int `yaml:"parallelism"`
	NumTasks    int `yaml:"numTasks"`
}

type stormStream struct {
	Name     string `yaml:"name"`
	From     string `yaml:"from"`
	To       string `yaml:"to"`
	Grouping struct {
		Type        string      `yaml:"type"`
		StreamID    string      `yaml:"streamId"`
		Args        []string    `yaml:"args"`
		CustomClass *stormClass `yaml:"customClass"`
	} `yaml:"grouping"`
}

// checkStormFlux applies the rules Storm's FluxParser and FluxBuilder apply
// to a file: known keys, classes with a constructor taking the arguments
// (FluxShellSpout/FluxShellBolt: String[] command [, String[] fields];
// Flux converts a list to an array but fails on an empty one or a null),
// config methods of the class with their arities, GroupingDef's types, refs
// to components, and that every bolt is the target of a stream (Flux adds
// bolts to the topology only through streams).
func checkStormFlux(t *testing.T, text []byte) stormFlux {
	t.Helper()
	var f stormFlux
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("Flux's model refuses the file: %v\n%s", err, text)
	}
	beans := map[string]bool{}
	for _, c := range f.Components {
		if c.ClassName != ClassFields || len(c.ConstructorArgs) != 1 || nonEmptyStrings(c.ConstructorArgs[0]) != nil {
			t.Errorf("component %+v: want a Fields with one non-empty list of names", c)
		}
		beans[c.ID] = true
	}
	targets := map[string]bool{}
	for _, s := range f.Streams {
		targets[s.To] = true
		g := s.Grouping
		switch g.Type {
		case "SHUFFLE", "LOCAL_OR_SHUFFLE", "ALL", "GLOBAL", "NONE", "DIRECT":
		case "FIELDS":
			if len(g.Args) == 0 {
				t.Errorf("stream %s: FIELDS without args", s.Name)
			}
		case "CUSTOM":
			cc := g.CustomClass
			if cc == nil || cc.ClassName != ClassPartialKeyGrouping || len(cc.ConstructorArgs) != 1 {
				t.Errorf("stream %s: CUSTOM must be PartialKeyGrouping(Fields): %+v", s.Name, cc)
			} else if ref, ok := cc.ConstructorArgs[0].(map[string]any); !ok || len(ref) != 1 || !beans[fmt.Sprint(ref["ref"])] {
				t.Errorf("stream %s: PartialKeyGrouping's argument %v is not a ref to a component", s.Name, cc.ConstructorArgs[0])
			}
		default:
			t.Errorf("stream %s: grouping type %q is not one of Flux's", s.Name, g.Type)
		}
	}
	for kind, list := range map[string][]stormComponent{ClassShellSpout: f.Spouts, ClassShellBolt: f.Bolts} {
		for _, c := range list {
			if c.ClassName != kind || c.Parallelism < 1 || len(c.ConstructorArgs) < 1 || len(c.ConstructorArgs) > 2 {
				t.Errorf("%s: class %s, parallelism %d, %d constructor args", c.ID, c.ClassName, c.Parallelism, len(c.ConstructorArgs))
			}
			for i, a := range c.ConstructorArgs {
				if err := nonEmptyStrings(a); err != nil {
					t.Errorf("%s: constructorArgs[%d]: %v", c.ID, i, err)
				}
			}
			for _, m := range c.ConfigMethods {
				arity := map[string]int{"setDefaultStream": 1, "setNamedStream": 2, "addComponentConfig": 2}[m.Name]
				if arity == 0 || len(m.Args) != arity {
					t.Errorf("%s: config method %s%v: not a method of %s with that many arguments", c.ID, m.Name, m.Args, kind)
				}
				for _, a := range m.Args {
					if a == nil {
						t.Errorf("%s: %s has a null argument, which Flux refuses", c.ID, m.Name)
					}
				}
				if m.Name == "setNamedStream" && nonEmptyStrings(m.Args[1]) != nil {
					t.Errorf("%s: setNamedStream fields %v", c.ID, m.Args[1])
				}
			}
			if kind == ClassShellBolt && !targets[c.ID] {
				t.Errorf("bolt %s is the target of no stream: Flux would leave it out", c.ID)
			}
		}
	}
	return f
}

func nonEmptyStrings(v any) error {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return fmt.Errorf("%v is not a non-empty list", v)
	}
	for _, e := range list {
		if _, ok := e.(string); !ok {
			return fmt.Errorf("%v is not a string", e)
		}
	}
	return nil
}

// TestYAMLFollowsFluxRules: the generated file passes Storm's Flux rules,
// and localstorm's Flux runner loads it back into the same topology (every
// component now a shell component running the binary's multilang command).
func TestYAMLFollowsFluxRules(t *testing.T) {
	top := everyGrouping(t)
	text, err := YAML("every", "every-bin", top.Definition)
	if err != nil {
		t.Fatal(err)
	}
	f := checkStormFlux(t, text)
	if f.Name != "every" || f.Config["topology.workers"] != 3 || len(f.Spouts) != 1 || len(f.Bolts) != 9 || len(f.Streams) != 10 {
		t.Errorf("file %+v", f)
	}
	loaded := loadBack(t, text)
	want, got := top.Definition, loaded.Definition
	if !reflect.DeepEqual(got.Conf, want.Conf) {
		t.Errorf("topology conf %v, want %v", got.Conf, want.Conf)
	}
	for _, pair := range [][2]map[string]*topology.ComponentDef{{want.Spouts, got.Spouts}, {want.Bolts, got.Bolts}} {
		for id, w := range pair[0] {
			g := pair[1][id]
			if g == nil {
				t.Errorf("component %s missing", id)
				continue
			}
			if g.Shell == nil || !reflect.DeepEqual(g.Shell.Command, Command("every-bin", id)) {
				t.Errorf("%s: shell %+v", id, g.Shell)
			}
			wantTasks := w.NumTasks
			if g.Parallelism != w.Parallelism || g.NumTasks != wantTasks || !reflect.DeepEqual(g.Outputs, w.Outputs) ||
				!sameInputs(g.Inputs, w.Inputs) || !reflect.DeepEqual(nilIfEmpty(g.Conf), nilIfEmpty(w.Conf)) {
				t.Errorf("%s:\n got %+v\nwant %+v", id, g, w)
			}
		}
	}
}

// loadBack reads a generated YAML with localstorm's Flux runner.
func loadBack(t *testing.T, text []byte) *topology.Topology {
	t.Helper()
	path := filepath.Join(t.TempDir(), "topology.yaml")
	if err := os.WriteFile(path, text, 0o644); err != nil {
		t.Fatal(err)
	}
	loaded, err := flux.Load(path, nil)
	if err != nil {
		t.Fatalf("localstorm's Flux runner refuses the file: %v\n%s", err, text)
	}
	return loaded
}

func nilIfEmpty(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return m
}

func sameInputs(a, b []topology.InputDef) bool {
	key := func(in []topology.InputDef) map[string]topology.InputDef {
		m := map[string]topology.InputDef{}
		for _, i := range in {
			m[i.Component+"/"+i.Stream] = i
		}
		return m
	}
	return len(a) == len(b) && reflect.DeepEqual(key(a), key(b))
}

type goGrouping struct{}

func (goGrouping) Prepare(*topology.Context, string, []int) {}
func (goGrouping) ChooseTasks(int, topology.Values) []int   { return nil }

// TestRefusesWhatStormCannotRun: a Go custom grouping, a stream without
// fields, and a null configuration value are refused, each with its reason.
func TestRefusesWhatStormCannotRun(t *testing.T) {
	topology.RegisterGrouping("fluxgen-go-grouping", func() topology.CustomGrouping { return goGrouping{} })
	b := topology.NewBuilder()
	b.SetSpout("src", func() topology.Spout {
		return spout{outputs("default", topology.StreamDef{Fields: topology.Fields{"w"}}, "empty", topology.StreamDef{})}
	}, 1)
	b.SetBolt("custom", func() topology.Bolt { return bolt{} }, 1).CustomGrouping("src", "fluxgen-go-grouping")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	_, err = YAML("x", "bin", top.Definition)
	for _, want := range []string{`custom grouping "fluxgen-go-grouping" implemented in Go`, "Java CustomStreamGrouping", `stream "empty" has no fields`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
	ok := everyGrouping(t)
	ok.Definition.Conf["bad"] = nil
	if _, err := YAML("x", "bin", ok.Definition); err == nil || !strings.Contains(err.Error(), `key "bad": a null value`) {
		t.Errorf("null conf: %v", err)
	}
}

func TestWriteJar(t *testing.T) {
	var buf bytes.Buffer
	bin := []byte("\x7fELF fake")
	err := WriteJar(&buf, []byte("name: x\n"), []File{{Name: "resources/x", Mode: 0o755, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(bin)), nil
	}}})
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		got[f.Name] = fmt.Sprintf("%o %s", f.Mode().Perm(), b)
	}
	if got["resources/x"] != "755 "+string(bin) || got[YAMLEntry] != "644 name: x\n" || !strings.HasPrefix(got["META-INF/MANIFEST.MF"], "644 Manifest-Version: 1.0") {
		t.Errorf("jar entries %q", got)
	}
}

func TestCommandQuotes(t *testing.T) {
	if got := Command("wc", "split"); !reflect.DeepEqual(got, []string{"sh", "-c", "chmod u+x ./wc 2>/dev/null; exec ./wc multilang --component split"}) {
		t.Errorf("Command = %q", got)
	}
	if got := Command("a b", "it's"); got[2] != `chmod u+x ./'a b' 2>/dev/null; exec ./'a b' multilang --component 'it'\''s'` {
		t.Errorf("Command = %q", got[2])
	}
}
