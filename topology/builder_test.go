package topology

import (
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// testSpout declares the streams it is given.
type testSpout struct{ streams map[string]StreamDef }

func (s *testSpout) DeclareOutputFields(d OutputDeclarer) {
	for _, id := range slices.Sorted(maps.Keys(s.streams)) {
		def := s.streams[id]
		if id == DefaultStream && !def.Direct {
			d.Declare(def.Fields)
		} else {
			d.DeclareStream(id, def.Direct, def.Fields)
		}
	}
}
func (s *testSpout) Open(*Context, SpoutCollector) error { return nil }
func (s *testSpout) Close()                              {}
func (s *testSpout) Activate()                           {}
func (s *testSpout) Deactivate()                         {}
func (s *testSpout) NextTuple()                          {}
func (s *testSpout) Ack(any)                             {}
func (s *testSpout) Fail(any)                            {}

type testBolt struct{ testSpout }

func (b *testBolt) Prepare(*Context, BoltCollector) error { return nil }
func (b *testBolt) Execute(*Tuple)                        {}
func (b *testBolt) Cleanup()                              {}

func spoutOf(streams map[string]StreamDef) func() Spout {
	return func() Spout { return &testSpout{streams: streams} }
}

func boltOf(streams map[string]StreamDef) func() Bolt {
	return func() Bolt { return &testBolt{testSpout{streams: streams}} }
}

var wordStreams = map[string]StreamDef{
	DefaultStream: {Fields: Fields{"word", "n"}},
	"direct":      {Fields: Fields{"word"}, Direct: true},
}

func TestBuildValidTopology(t *testing.T) {
	b := NewBuilder()
	b.SetConf("topology.workers", 2)
	b.SetSpout("words", spoutOf(wordStreams), 2).SetNumTasks(4).AddConfig("k", "v")
	b.SetBolt("count", boltOf(map[string]StreamDef{DefaultStream: {Fields: Fields{"word", "count"}}}), 3).
		FieldsGrouping("words", Fields{"word"}).
		DirectGrouping("words", "direct")
	b.SetShellBolt("split", []string{"python3", "split.py"}, map[string]StreamDef{DefaultStream: {Fields: Fields{"word"}}}, 1).
		ShuffleGrouping("count")
	topo, err := b.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	d := topo.Definition
	if got := d.Spouts["words"]; got.NumTasks != 4 || got.Parallelism != 2 || got.Conf["k"] != "v" ||
		!reflect.DeepEqual(got.Outputs, wordStreams) {
		t.Errorf("spout def = %+v", got)
	}
	want := []InputDef{
		{Component: "words", Stream: DefaultStream, Grouping: Grouping{Type: GroupFields, Fields: Fields{"word"}}},
		{Component: "words", Stream: "direct", Grouping: Grouping{Type: GroupDirect}},
	}
	if got := d.Bolts["count"].Inputs; !reflect.DeepEqual(got, want) {
		t.Errorf("count inputs = %+v, want %+v", got, want)
	}
	if got := d.Bolts["split"].Shell; got == nil || !reflect.DeepEqual(got.Command, []string{"python3", "split.py"}) {
		t.Errorf("split shell = %+v", got)
	}
	if d.Conf["topology.workers"] != 2 || d.V != DefinitionVersion {
		t.Errorf("conf %v, v %d", d.Conf, d.V)
	}
	// The definition survives JSON and rebuilds with the same factories.
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var back Definition
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	again, err := FromDefinition(&back, Factories{
		Spouts: map[string]func() Spout{"words": spoutOf(wordStreams)},
		Bolts:  map[string]func() Bolt{"count": boltOf(nil)},
	})
	if err != nil {
		t.Fatalf("FromDefinition: %v", err)
	}
	if _, err := again.NewSpout("words"); err != nil {
		t.Errorf("NewSpout: %v", err)
	}
	if _, err := again.NewBolt("count"); err != nil {
		t.Errorf("NewBolt: %v", err)
	}
	if _, err := again.NewBolt("nope"); err == nil {
		t.Error("NewBolt of an unknown id: no error")
	}
	if _, err := FromDefinition(&back, Factories{}); err == nil || !strings.Contains(err.Error(), `"words": no factory`) {
		t.Errorf("FromDefinition without factories: %v", err)
	}
}

func TestNewInstancePerCall(t *testing.T) {
	b := NewBuilder()
	b.SetSpout("s", spoutOf(wordStreams), 1)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := topo.NewSpout("s")
	s2, _ := topo.NewSpout("s")
	if s1 == s2 {
		t.Error("NewSpout returned the same instance twice")
	}
}

func TestBuildValidationErrors(t *testing.T) {
	one := map[string]StreamDef{DefaultStream: {Fields: Fields{"word"}}}
	RegisterGrouping("test-known", func() CustomGrouping { return &evenGrouping{} })
	tests := []struct {
		name  string
		build func(b *Builder)
		want  string
	}{
		{"unknown source component", func(b *Builder) {
			b.SetBolt("b", boltOf(nil), 1).ShuffleGrouping("ghost")
		}, `bolt "b": subscribes to unknown component "ghost"`},
		{"unknown source stream", func(b *Builder) {
			b.SetBolt("b", boltOf(nil), 1).ShuffleGrouping("s", "other")
		}, `bolt "b": subscribes to stream "other" of "s"`},
		{"fields grouping on undeclared field", func(b *Builder) {
			b.SetBolt("b", boltOf(nil), 1).FieldsGrouping("s", Fields{"nope"})
		}, `bolt "b": fields grouping on field "nope"`},
		{"partial key grouping on undeclared field", func(b *Builder) {
			b.SetBolt("b", boltOf(nil), 1).PartialKeyGrouping("s", Fields{"nope"})
		}, `bolt "b": partial_key grouping on field "nope"`},
		{"duplicate bolt id", func(b *Builder) {
			b.SetBolt("b", boltOf(nil), 1).ShuffleGrouping("s")
			b.SetBolt("b", boltOf(nil), 1).ShuffleGrouping("s")
		}, `component "b": id declared twice`},
		{"bolt with a spout's id", func(b *Builder) {
			b.SetBolt("s", boltOf(nil), 1)
		}, `component "s": id declared twice`},
		{"parallelism zero", func(b *Builder) {
			b.SetBolt("b", boltOf(nil), 0).ShuffleGrouping("s")
		}, `bolt "b": parallelism 0 must be at least 1`},
		{"negative tasks", func(b *Builder) {
			b.SetBolt("b", boltOf(nil), 1).SetNumTasks(-1).ShuffleGrouping("s")
		}, `bolt "b": number of tasks -1 must not be negative`},
		{"too many tasks", func(b *Builder) {
			b.SetBolt("b", boltOf(nil), 1).SetNumTasks(MaxTasks + 1).ShuffleGrouping("s")
		}, `bolt "b": parallelism 1 / number of tasks 100001: at most 100000`},
		{"empty id", func(b *Builder) {
			b.SetBolt("", boltOf(nil), 1).ShuffleGrouping("s")
		}, `bolt with an empty id`},
		{"reserved id", func(b *Builder) {
			b.SetBolt("__acker", boltOf(nil), 1).ShuffleGrouping("s")
		}, `bolt "__acker": ids starting with "__" are reserved`},
		{"direct grouping on a non-direct stream", func(b *Builder) {
			b.SetBolt("b", boltOf(nil), 1).DirectGrouping("s")
		}, `bolt "b": direct grouping on s/default, which is not declared direct`},
		{"shuffle grouping on a direct stream", func(b *Builder) {
			b.SetBolt("b", boltOf(map[string]StreamDef{"d": {Fields: Fields{"x"}, Direct: true}}), 1).ShuffleGrouping("s")
			b.SetBolt("c", boltOf(nil), 1).ShuffleGrouping("b", "d")
		}, `bolt "c": shuffle grouping on b/d, which is declared direct`},
		{"unknown custom grouping", func(b *Builder) {
			b.SetBolt("b", boltOf(nil), 1).CustomGrouping("s", "test-unknown")
		}, `bolt "b": custom grouping "test-unknown" on s/default is not registered`},
		{"nil factory", func(b *Builder) {
			b.SetBolt("b", nil, 1)
		}, `bolt "b": factory is nil`},
		{"reserved stream id", func(b *Builder) {
			b.SetBolt("b", boltOf(map[string]StreamDef{"__x": {}}), 1).ShuffleGrouping("s")
		}, `bolt "b": stream "__x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder()
			b.SetSpout("s", spoutOf(one), 1)
			tt.build(b)
			_, err := b.Build()
			if err == nil {
				t.Fatalf("Build succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tt.want)
			}
		})
	}
	t.Run("known custom grouping is accepted", func(t *testing.T) {
		b := NewBuilder()
		b.SetSpout("s", spoutOf(one), 1)
		b.SetBolt("b", boltOf(nil), 1).CustomGrouping("s", "test-known")
		if _, err := b.Build(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBuildCollectsAllErrors(t *testing.T) {
	b := NewBuilder()
	b.SetSpout("s", spoutOf(wordStreams), 0)
	b.SetBolt("b", boltOf(nil), 1).ShuffleGrouping("ghost")
	_, err := b.Build()
	if err == nil || !strings.Contains(err.Error(), `spout "s": parallelism`) || !strings.Contains(err.Error(), `bolt "b": subscribes to unknown`) {
		t.Fatalf("want both errors, got %v", err)
	}
}

// recordingCollector records what a bolt does.
type recordingCollector struct {
	emits   [][]*Tuple
	values  []Values
	acked   []*Tuple
	failed  []*Tuple
	errs    []error
	streams []string
}

func (r *recordingCollector) Emit(anchors []*Tuple, values Values) []int {
	return r.EmitStream(DefaultStream, anchors, values)
}
func (r *recordingCollector) EmitStream(stream string, anchors []*Tuple, values Values) []int {
	r.emits = append(r.emits, anchors)
	r.values = append(r.values, values)
	r.streams = append(r.streams, stream)
	return []int{7}
}
func (r *recordingCollector) EmitDirect(task int, stream string, anchors []*Tuple, values Values) {
	r.EmitStream(stream, anchors, values)
}
func (r *recordingCollector) Ack(t *Tuple)          { r.acked = append(r.acked, t) }
func (r *recordingCollector) Fail(t *Tuple)         { r.failed = append(r.failed, t) }
func (r *recordingCollector) ReportError(err error) { r.errs = append(r.errs, err) }

type splitBasic struct{}

func (splitBasic) DeclareOutputFields(d OutputDeclarer) { d.Declare(Fields{"word"}) }
func (splitBasic) Prepare(*Context) error               { return nil }
func (splitBasic) Cleanup()                             {}
func (splitBasic) Execute(t *Tuple, out BasicCollector) error {
	s := t.String(0)
	if s == "" {
		return errors.New("empty sentence")
	}
	for _, w := range strings.Fields(s) {
		if got := out.Emit(Values{w}); !reflect.DeepEqual(got, []int{7}) {
			return errors.New("emit did not return the collector's task ids")
		}
	}
	return nil
}

func TestBasicBoltAnchorsAndAcks(t *testing.T) {
	b := NewBuilder()
	b.SetSpout("s", spoutOf(map[string]StreamDef{DefaultStream: {Fields: Fields{"sentence"}}}), 1)
	b.SetBasicBolt("split", func() BasicBolt { return splitBasic{} }, 1).ShuffleGrouping("s")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if got := topo.Definition.Bolts["split"].Outputs[DefaultStream].Fields; !reflect.DeepEqual(got, Fields{"word"}) {
		t.Fatalf("basic bolt outputs = %v", got)
	}
	bolt, err := topo.NewBolt("split")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingCollector{}
	if err := bolt.Prepare(&Context{}, rec); err != nil {
		t.Fatal(err)
	}
	in := &Tuple{Values: Values{"a b"}}
	bolt.Execute(in)
	if len(rec.emits) != 2 || rec.emits[0][0] != in || rec.emits[1][0] != in {
		t.Errorf("emits not anchored to the input: %+v", rec.emits)
	}
	if len(rec.acked) != 1 || rec.acked[0] != in || len(rec.failed) != 0 {
		t.Errorf("acked %v failed %v", rec.acked, rec.failed)
	}
	bad := &Tuple{Values: Values{""}}
	bolt.Execute(bad)
	if len(rec.failed) != 1 || rec.failed[0] != bad || len(rec.errs) != 1 || len(rec.acked) != 1 {
		t.Errorf("on error: failed %v errs %v acked %v", rec.failed, rec.errs, rec.acked)
	}
}
