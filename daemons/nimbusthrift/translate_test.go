package nimbusthrift

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
	"github.com/localstorm/localstorm/topology"
	"github.com/localstorm/localstorm/topology/flux"
)

// Builders of the StormTopology a Storm client sends.

func shellObj(cmd, script string) *storm.ComponentObject {
	return &storm.ComponentObject{Shell: &storm.ShellComponent{ExecutionCommand: cmd, Script: script}}
}

func javaObj(class string, args ...*storm.JavaObjectArg) *storm.ComponentObject {
	return &storm.ComponentObject{JavaObject: &storm.JavaObject{FullClassName: class, ArgsList: append([]*storm.JavaObjectArg{}, args...)}}
}

// serialized is the head of what ObjectOutputStream writes for an object
// of class.
func serialized(class string) *storm.ComponentObject {
	b := []byte{0xac, 0xed, 0x00, 0x05, 0x73, 0x72, 0, byte(len(class))}
	b = append(b, class...)
	b = append(b, 0x12, 0x34) // the serialVersionUID and the rest follow
	return &storm.ComponentObject{SerializedJava: b}
}

type input struct {
	from, stream string
	g            *storm.Grouping
}

func common(par int32, jsonConf string, streams map[string][]string, inputs ...input) *storm.ComponentCommon {
	c := &storm.ComponentCommon{Inputs: map[*storm.GlobalStreamId]*storm.Grouping{}, Streams: map[string]*storm.StreamInfo{}}
	if par > 0 {
		c.ParallelismHint = &par
	}
	if jsonConf != "" {
		c.JSONConf = &jsonConf
	}
	for sid, fields := range streams {
		c.Streams[sid] = &storm.StreamInfo{OutputFields: fields}
	}
	for _, in := range inputs {
		c.Inputs[&storm.GlobalStreamId{ComponentId: in.from, StreamId: in.stream}] = in.g
	}
	return c
}

func stormTopo(spouts map[string]*storm.SpoutSpec, bolts map[string]*storm.Bolt) *storm.StormTopology {
	if bolts == nil {
		bolts = map[string]*storm.Bolt{}
	}
	return &storm.StormTopology{Spouts: spouts, Bolts: bolts, StateSpouts: map[string]*storm.StateSpoutSpec{}}
}

var (
	null           = &storm.NullStruct{}
	shuffle        = &storm.Grouping{Shuffle: null}
	sentenceSpout  = &storm.SpoutSpec{SpoutObject: shellObj("python3", "sentences.py"), Common: common(1, "", map[string][]string{"default": {"sentence"}})}
	oneSentenceOut = map[string]*storm.SpoutSpec{"sentences": sentenceSpout}
)

func bolt(obj *storm.ComponentObject, c *storm.ComponentCommon) map[string]*storm.Bolt {
	return map[string]*storm.Bolt{"b": {BoltObject: obj, Common: c}}
}

// translate runs the translation and the Flux loader as a submit does.
func translate(t *testing.T, topo *storm.StormTopology) (*topology.Definition, error) {
	t.Helper()
	doc, err := toFlux("t", topo)
	if err != nil {
		return nil, err
	}
	def, err := loadFlux(t.TempDir(), doc)
	if err != nil {
		return nil, err
	}
	return def, checkBuiltinStreams(topo, def)
}

func TestTranslateGroupings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream string
		g      *storm.Grouping
		want   topology.Grouping
	}{
		{"shuffle", "", shuffle, topology.Grouping{Type: topology.GroupShuffle}},
		{"fields", "default", &storm.Grouping{Fields: []string{"sentence"}}, topology.Grouping{Type: topology.GroupFields, Fields: topology.Fields{"sentence"}}},
		{"global", "default", &storm.Grouping{Fields: []string{}}, topology.Grouping{Type: topology.GroupGlobal}},
		{"all", "default", &storm.Grouping{All: null}, topology.Grouping{Type: topology.GroupAll}},
		{"none", "default", &storm.Grouping{None: null}, topology.Grouping{Type: topology.GroupNone}},
		{"local or shuffle", "default", &storm.Grouping{LocalOrShuffle: null}, topology.Grouping{Type: topology.GroupLocalOrShuffle}},
		{"named stream", "side", shuffle, topology.Grouping{Type: topology.GroupShuffle}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spout := &storm.SpoutSpec{SpoutObject: shellObj("python3", "s.py"), Common: common(1, "", map[string][]string{"default": {"sentence"}, "side": {"n"}})}
			topo := stormTopo(map[string]*storm.SpoutSpec{"s": spout}, bolt(shellObj("python3", "b.py"), common(0, "", nil, input{"s", tc.stream, tc.g})))
			def, err := translate(t, topo)
			if err != nil {
				t.Fatal(err)
			}
			wantStream := tc.stream
			if wantStream == "" {
				wantStream = "default"
			}
			want := []topology.InputDef{{Component: "s", Stream: wantStream, Grouping: tc.want}}
			if got := def.Bolts["b"].Inputs; !reflect.DeepEqual(got, want) {
				t.Errorf("inputs = %+v, want %+v", got, want)
			}
		})
	}
}

// A shell component's direct stream (Storm's StreamInfo.direct, which
// storm.py's emit with a task id uses) is read by a direct grouping.
func TestTranslateDirectStream(t *testing.T) {
	spout := &storm.SpoutSpec{SpoutObject: shellObj("python3", "s.py"),
		Common: &storm.ComponentCommon{Streams: map[string]*storm.StreamInfo{"d": {OutputFields: []string{"x"}, Direct: true}}}}
	topo := stormTopo(map[string]*storm.SpoutSpec{"s": spout}, bolt(shellObj("python3", "b.py"), common(1, "", nil, input{"s", "d", &storm.Grouping{Direct: null}})))
	def, err := translate(t, topo)
	if err != nil {
		t.Fatal(err)
	}
	want := []topology.InputDef{{Component: "s", Stream: "d", Grouping: topology.Grouping{Type: topology.GroupDirect}}}
	if got := def.Bolts["b"].Inputs; !reflect.DeepEqual(got, want) {
		t.Errorf("inputs = %+v, want %+v", got, want)
	}
}

func TestTranslateComponents(t *testing.T) {
	spout := &storm.SpoutSpec{SpoutObject: shellObj("python3", "sentences.py"),
		Common: common(2, `{"topology.tasks": 4, "my.key": "v", "gone": null}`, map[string][]string{"default": {"sentence"}, "errors": {"msg", "code"}})}
	split := &storm.Bolt{BoltObject: shellObj("node", "split.js"),
		Common: common(3, "", map[string][]string{"default": {"word"}}, input{"sentences", "default", shuffle}, input{"sentences", "errors", &storm.Grouping{All: null}})}
	count := &storm.Bolt{BoltObject: javaObj(flux.ClassTestWordCounter), Common: common(0, `{"topology.tick.tuple.freq.secs": 5}`, nil, input{"split", "default", &storm.Grouping{Fields: []string{"word"}}})}
	log := &storm.Bolt{BoltObject: serialized(flux.ClassLogInfoBolt), Common: common(1, "", nil, input{"count", "default", &storm.Grouping{Fields: []string{}}})}
	words := &storm.SpoutSpec{SpoutObject: javaObj(flux.ClassTestWordSpout, &storm.JavaObjectArg{BoolArg: new(bool)}), Common: common(1, "", map[string][]string{"default": {"word"}})}
	exec := &storm.Bolt{BoltObject: shellObj("./run.sh", ""), Common: common(1, "", nil, input{"words", "default", shuffle})}
	topo := stormTopo(map[string]*storm.SpoutSpec{"sentences": spout, "words": words},
		map[string]*storm.Bolt{"split": split, "count": count, "log": log, "exec": exec})
	def, err := translate(t, topo)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(def.Spouts)); !slices.Equal(got, []string{"sentences", "words"}) {
		t.Errorf("spouts %v", got)
	}
	s := def.Spouts["sentences"]
	if s.Shell == nil || !slices.Equal(s.Shell.Command, []string{"python3", "sentences.py"}) || s.Parallelism != 2 || s.NumTasks != 4 {
		t.Errorf("shell spout: %+v shell %+v", s, s.Shell)
	}
	if !reflect.DeepEqual(s.Conf, map[string]any{"my.key": "v"}) {
		t.Errorf("spout conf %v: want my.key only (topology.tasks is the task count, null is left out)", s.Conf)
	}
	wantOut := map[string]topology.StreamDef{"default": {Fields: topology.Fields{"sentence"}}, "errors": {Fields: topology.Fields{"msg", "code"}}}
	if !reflect.DeepEqual(s.Outputs, wantOut) {
		t.Errorf("spout outputs %+v, want %+v", s.Outputs, wantOut)
	}
	b := def.Bolts["split"]
	if b.Shell == nil || !slices.Equal(b.Shell.Command, []string{"node", "split.js"}) || b.Parallelism != 3 || len(b.Inputs) != 2 {
		t.Errorf("shell bolt: %+v", b)
	}
	if c := def.Bolts["count"]; c.Shell != nil || c.Parallelism != 1 || c.Conf["topology.tick.tuple.freq.secs"] != 5 {
		t.Errorf("built-in bolt: %+v (parallelism defaults to 1, json_conf is its conf)", c)
	}
	if l := def.Bolts["log"]; l.Shell != nil || l.Inputs[0].Grouping.Type != topology.GroupGlobal {
		t.Errorf("serialized built-in bolt: %+v", l)
	}
	if w := def.Spouts["words"]; w.Shell != nil || !slices.Equal(w.Outputs["default"].Fields, topology.Fields{"word"}) {
		t.Errorf("built-in spout: %+v", w)
	}
	if e := def.Bolts["exec"]; !slices.Equal(e.Shell.Command, []string{"./run.sh"}) || len(e.Outputs) != 0 {
		t.Errorf("shell bolt without script or streams: %+v", e)
	}
}

func TestTranslateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		topo *storm.StormTopology
		want string
	}{
		{"no topology", nil, "no topology given"},
		{"java class", stormTopo(oneSentenceOut, bolt(javaObj("com.example.CountBolt"), common(1, "", nil, input{"sentences", "default", shuffle}))),
			"bolt b: class com.example.CountBolt cannot run here: localstorm runs only shell components (ShellComponent) and the built-in classes"},
		{"serialized class", stormTopo(oneSentenceOut, bolt(serialized("com.example.Bolt"), common(1, "", nil))),
			"bolt b: class com.example.Bolt cannot run here"},
		{"not serialized java", stormTopo(oneSentenceOut, bolt(&storm.ComponentObject{SerializedJava: []byte("junk")}, common(1, "", nil))),
			"bolt b: serialized_java is not a serialized Java object"},
		{"shell wrapper as java", stormTopo(oneSentenceOut, bolt(javaObj(flux.ClassShellBolt), common(1, "", nil))),
			"bolt b: class " + flux.ClassShellBolt + " cannot run here"},
		{"spout class as bolt", stormTopo(oneSentenceOut, bolt(javaObj(flux.ClassTestWordSpout), common(1, "", nil))),
			"class " + flux.ClassTestWordSpout + " is a spout, not a bolt"},
		{"no component object", stormTopo(oneSentenceOut, bolt(&storm.ComponentObject{}, common(1, "", nil))),
			"bolt b: its component object must be exactly one of"},
		{"no command", stormTopo(oneSentenceOut, bolt(shellObj("", "x.py"), common(1, "", nil))),
			"bolt b: the shell component has no execution_command"},
		{"custom grouping", stormTopo(oneSentenceOut, bolt(shellObj("python3", "b.py"), common(1, "", nil, input{"sentences", "default", &storm.Grouping{CustomSerialized: []byte{1}}}))),
			"bolt b: input sentences:default: custom groupings are Java objects"},
		{"no grouping", stormTopo(oneSentenceOut, bolt(shellObj("python3", "b.py"), common(1, "", nil, input{"sentences", "default", &storm.Grouping{}}))),
			"bolt b: input sentences:default: the grouping must be exactly one"},
		{"direct grouping of a plain stream", stormTopo(oneSentenceOut, bolt(shellObj("python3", "b.py"), common(1, "", nil, input{"sentences", "default", &storm.Grouping{Direct: null}}))),
			"direct"},
		{"unknown source", stormTopo(oneSentenceOut, bolt(shellObj("python3", "b.py"), common(1, "", nil, input{"nope", "default", shuffle}))),
			"nope"},
		{"undeclared stream", stormTopo(oneSentenceOut, bolt(shellObj("python3", "b.py"), common(1, "", nil, input{"sentences", "side", shuffle}))),
			"side"},
		{"unknown field", stormTopo(oneSentenceOut, bolt(shellObj("python3", "b.py"), common(1, "", nil, input{"sentences", "default", &storm.Grouping{Fields: []string{"word"}}}))),
			"word"},
		{"parallelism", stormTopo(map[string]*storm.SpoutSpec{"s": {SpoutObject: shellObj("python3", "s.py"), Common: &storm.ComponentCommon{ParallelismHint: new(int32)}}}, nil),
			"spout s: parallelism_hint 0: it must be at least 1"},
		{"tasks", stormTopo(map[string]*storm.SpoutSpec{"s": {SpoutObject: shellObj("python3", "s.py"), Common: common(1, `{"topology.tasks": "many"}`, nil)}}, nil),
			"spout s: json_conf: topology.tasks many"},
		{"json conf", stormTopo(map[string]*storm.SpoutSpec{"s": {SpoutObject: shellObj("python3", "s.py"), Common: common(1, `[1]`, nil)}}, nil),
			"spout s: json_conf: not a JSON object"},
		{"spout inputs", stormTopo(map[string]*storm.SpoutSpec{"s": {SpoutObject: shellObj("python3", "s.py"), Common: common(1, "", nil, input{"x", "default", shuffle})}}, nil),
			"spout s subscribes to streams"},
		{"duplicate id", stormTopo(map[string]*storm.SpoutSpec{"b": sentenceSpout}, bolt(shellObj("python3", "b.py"), common(1, "", nil))),
			"Duplicate component ids: [b]"},
		{"state spouts", &storm.StormTopology{Spouts: oneSentenceOut, Bolts: map[string]*storm.Bolt{}, StateSpouts: map[string]*storm.StateSpoutSpec{"st": {}}},
			"state spouts st"},
		{"built-in streams differ", stormTopo(map[string]*storm.SpoutSpec{"w": {SpoutObject: javaObj(flux.ClassTestWordSpout), Common: common(1, "", map[string][]string{"default": {"name"}})}}, nil),
			"spout w: stream default as declared does not match class " + flux.ClassTestWordSpout + ", which declares default[word]"},
		{"built-in arguments", stormTopo(map[string]*storm.SpoutSpec{"w": {SpoutObject: javaObj(flux.ClassTestWordSpout, &storm.JavaObjectArg{StringArg: new(string)}), Common: common(1, "", nil)}}, nil),
			"unsupported constructor arguments"},
		{"system id", stormTopo(map[string]*storm.SpoutSpec{"__x": sentenceSpout}, nil),
			"__x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := translate(t, tc.topo)
			var ite *storm.InvalidTopologyException
			if !errors.As(err, &ite) {
				t.Fatalf("err = %v (%T), want an InvalidTopologyException", err, err)
			}
			if !strings.Contains(ite.Msg, tc.want) {
				t.Errorf("message %q does not say %q", ite.Msg, tc.want)
			}
			if testing.Verbose() {
				t.Log(ite.Msg)
			}
		})
	}
}
