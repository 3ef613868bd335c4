package topology

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/go-multierror"

	"github.com/localstorm/localstorm/internal/errlist"
)

// Builder assembles a topology: components given as factories (one fresh
// instance per task), their parallelism and subscriptions. Errors found while
// declaring are kept and returned, together with the validation errors, by
// Build.
type Builder struct {
	conf   map[string]any
	order  []string // component ids in declaration order (for stable error order)
	spouts map[string]*SpoutDeclarer
	bolts  map[string]*BoltDeclarer
	errs   []error
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder {
	return &Builder{
		conf:   map[string]any{},
		spouts: map[string]*SpoutDeclarer{},
		bolts:  map[string]*BoltDeclarer{},
	}
}

// componentDecl is what spout and bolt declarers share.
type componentDecl struct {
	def *ComponentDef
}

func newComponentDecl(id string, parallelism int) componentDecl {
	return componentDecl{def: &ComponentDef{ID: id, Parallelism: parallelism, Outputs: map[string]StreamDef{}}}
}

func (c componentDecl) addConfig(key string, value any) {
	if c.def.Conf == nil {
		c.def.Conf = map[string]any{}
	}
	c.def.Conf[key] = value
}

// SpoutDeclarer configures a spout declared with SetSpout or SetShellSpout.
type SpoutDeclarer struct {
	componentDecl
	factory func() Spout
}

// SetNumTasks sets the number of tasks; 0 means one per executor (the parallelism).
func (d *SpoutDeclarer) SetNumTasks(n int) *SpoutDeclarer { d.def.NumTasks = n; return d }

// AddConfig sets a component configuration key (overrides the topology's).
func (d *SpoutDeclarer) AddConfig(key string, value any) *SpoutDeclarer {
	d.addConfig(key, value)
	return d
}

// BoltDeclarer configures a bolt and subscribes it to streams.
type BoltDeclarer struct {
	componentDecl
	factory func() Bolt
}

// SetNumTasks sets the number of tasks; 0 means one per executor (the parallelism).
func (d *BoltDeclarer) SetNumTasks(n int) *BoltDeclarer { d.def.NumTasks = n; return d }

// AddConfig sets a component configuration key (overrides the topology's).
func (d *BoltDeclarer) AddConfig(key string, value any) *BoltDeclarer {
	d.addConfig(key, value)
	return d
}

// grouping subscribes the bolt to stream (default when none) of src.
func (d *BoltDeclarer) grouping(src string, g Grouping, stream []string) *BoltDeclarer {
	s := DefaultStream
	if len(stream) > 0 && stream[0] != "" {
		s = stream[0]
	}
	d.def.Inputs = append(d.def.Inputs, InputDef{Component: src, Stream: s, Grouping: g})
	return d
}

// ShuffleGrouping spreads tuples evenly (round robin over a shuffled order).
func (d *BoltDeclarer) ShuffleGrouping(src string, stream ...string) *BoltDeclarer {
	return d.grouping(src, Grouping{Type: GroupShuffle}, stream)
}

// LocalOrShuffleGrouping prefers target tasks in the emitting worker.
func (d *BoltDeclarer) LocalOrShuffleGrouping(src string, stream ...string) *BoltDeclarer {
	return d.grouping(src, Grouping{Type: GroupLocalOrShuffle}, stream)
}

// FieldsGrouping sends tuples with equal values of fields to the same task.
func (d *BoltDeclarer) FieldsGrouping(src string, fields Fields, stream ...string) *BoltDeclarer {
	return d.grouping(src, Grouping{Type: GroupFields, Fields: fields}, stream)
}

// PartialKeyGrouping splits each key over two tasks, choosing the less loaded.
func (d *BoltDeclarer) PartialKeyGrouping(src string, fields Fields, stream ...string) *BoltDeclarer {
	return d.grouping(src, Grouping{Type: GroupPartialKey, Fields: fields}, stream)
}

// AllGrouping replicates every tuple to every task.
func (d *BoltDeclarer) AllGrouping(src string, stream ...string) *BoltDeclarer {
	return d.grouping(src, Grouping{Type: GroupAll}, stream)
}

// GlobalGrouping sends every tuple to the task with the lowest id.
func (d *BoltDeclarer) GlobalGrouping(src string, stream ...string) *BoltDeclarer {
	return d.grouping(src, Grouping{Type: GroupGlobal}, stream)
}

// NoneGrouping says the author does not care (a random task).
func (d *BoltDeclarer) NoneGrouping(src string, stream ...string) *BoltDeclarer {
	return d.grouping(src, Grouping{Type: GroupNone}, stream)
}

// DirectGrouping lets the emitter choose the task (EmitDirect on a direct stream).
func (d *BoltDeclarer) DirectGrouping(src string, stream ...string) *BoltDeclarer {
	return d.grouping(src, Grouping{Type: GroupDirect}, stream)
}

// CustomGrouping uses the grouping registered under name with RegisterGrouping.
func (d *BoltDeclarer) CustomGrouping(src, name string, stream ...string) *BoltDeclarer {
	return d.grouping(src, Grouping{Type: GroupCustom, Custom: name}, stream)
}

// declare records id and reports whether it is new; a duplicate is an
// error (spouts and bolts share one namespace) and the later declaration is
// left out of the topology.
func (b *Builder) declare(id string) bool {
	_, spout := b.spouts[id]
	_, bolt := b.bolts[id]
	if spout || bolt {
		b.errs = append(b.errs, fmt.Errorf("component %q: id declared twice (ids are shared by spouts and bolts)", id))
		return false
	}
	b.order = append(b.order, id)
	return true
}

// SetSpout declares a spout; factory makes one instance per task.
func (b *Builder) SetSpout(id string, factory func() Spout, parallelism int) *SpoutDeclarer {
	d := &SpoutDeclarer{componentDecl: newComponentDecl(id, parallelism), factory: factory}
	if b.declare(id) {
		b.spouts[id] = d
	}
	return d
}

// SetBolt declares a bolt; factory makes one instance per task.
func (b *Builder) SetBolt(id string, factory func() Bolt, parallelism int) *BoltDeclarer {
	d := &BoltDeclarer{componentDecl: newComponentDecl(id, parallelism), factory: factory}
	if b.declare(id) {
		b.bolts[id] = d
	}
	return d
}

// SetBasicBolt declares a basic bolt: it runs wrapped as a Bolt that anchors
// its emits to the input and acks (or fails) the input for it.
func (b *Builder) SetBasicBolt(id string, factory func() BasicBolt, parallelism int) *BoltDeclarer {
	var f func() Bolt
	if factory != nil {
		f = func() Bolt { return WrapBasicBolt(factory()) }
	}
	return b.SetBolt(id, f, parallelism)
}

// SetShellSpout declares a multilang spout: command runs in the topology's
// code dir and speaks Storm's multilang protocol; outputs are its streams.
func (b *Builder) SetShellSpout(id string, command []string, outputs map[string]StreamDef, parallelism int) *SpoutDeclarer {
	d := b.SetSpout(id, nil, parallelism)
	d.def.Shell = &ShellDef{Command: append([]string(nil), command...)}
	d.def.Outputs = copyOutputs(outputs)
	return d
}

// SetShellBolt declares a multilang bolt (see SetShellSpout).
func (b *Builder) SetShellBolt(id string, command []string, outputs map[string]StreamDef, parallelism int) *BoltDeclarer {
	d := b.SetBolt(id, nil, parallelism)
	d.def.Shell = &ShellDef{Command: append([]string(nil), command...)}
	d.def.Outputs = copyOutputs(outputs)
	return d
}

// SetConf sets a topology-wide configuration key.
func (b *Builder) SetConf(key string, value any) *Builder {
	b.conf[key] = value
	return b
}

func copyOutputs(outputs map[string]StreamDef) map[string]StreamDef {
	out := make(map[string]StreamDef, len(outputs))
	for s, def := range outputs {
		out[s] = StreamDef{Fields: append(Fields(nil), def.Fields...), Direct: def.Direct}
	}
	return out
}

// Topology is a validated topology: its serialisable definition and the
// factories that make its component instances.
type Topology struct {
	Definition *Definition
	spouts     map[string]func() Spout
	bolts      map[string]func() Bolt
}

// Build collects every component's output streams (calling each factory
// once), validates the whole topology and returns it. All problems are
// returned together, each naming its component.
func (b *Builder) Build() (*Topology, error) {
	var errs *multierror.Error
	for _, err := range b.errs {
		errs = multierror.Append(errs, err)
	}
	def := &Definition{V: DefinitionVersion, Spouts: map[string]*ComponentDef{}, Bolts: map[string]*ComponentDef{}, Conf: cloneMap(b.conf)}
	def.MetricsConsumers = registeredConsumerClasses()
	spouts := map[string]func() Spout{}
	bolts := map[string]func() Bolt{}
	for _, id := range b.order {
		if d, ok := b.spouts[id]; ok {
			if d.def.Shell == nil {
				if d.factory == nil {
					errs = multierror.Append(errs, fmt.Errorf("spout %q: factory is nil", id))
					continue
				}
				errs = errlist.AppendPrefixed(errs, "spout "+strconv.Quote(id), collectOutputs(d.def, func() Component { return d.factory() }))
				spouts[id] = d.factory
			}
			def.Spouts[id] = cloneComponent(d.def)
		} else if d, ok := b.bolts[id]; ok {
			if d.def.Shell == nil {
				if d.factory == nil {
					errs = multierror.Append(errs, fmt.Errorf("bolt %q: factory is nil", id))
					continue
				}
				errs = errlist.AppendPrefixed(errs, "bolt "+strconv.Quote(id), collectOutputs(d.def, func() Component { return d.factory() }))
				bolts[id] = d.factory
			}
			def.Bolts[id] = cloneComponent(d.def)
		}
	}
	if err := wireCheckpoints(def, spouts, bolts); err != nil {
		errs = multierror.Append(errs, err)
	}
	t, err := FromDefinition(def, Factories{Spouts: spouts, Bolts: bolts})
	errs = multierror.Append(errs, err)
	if err := errlist.Err(errs); err != nil {
		return nil, fmt.Errorf("build topology: %w", err)
	}
	return t, nil
}

// collectOutputs makes one instance and records the streams it declares.
// A factory or DeclareOutputFields that panics is reported, not propagated.
func collectOutputs(def *ComponentDef, newInstance func() Component) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("declaring output fields panicked: %v", r)
		}
	}()
	c := newInstance()
	if c == nil {
		return fmt.Errorf("factory returned nil")
	}
	decl := &outputCollector{outputs: map[string]StreamDef{}}
	c.DeclareOutputFields(decl)
	def.Outputs = decl.outputs
	return errlist.Err(decl.err)
}

// outputCollector is the OutputDeclarer given to DeclareOutputFields at build time.
type outputCollector struct {
	outputs map[string]StreamDef
	err     *multierror.Error
}

func (o *outputCollector) Declare(fields Fields) { o.DeclareStream(DefaultStream, false, fields) }

func (o *outputCollector) DeclareStream(stream string, direct bool, fields Fields) {
	if stream == "" || strings.HasPrefix(stream, "__") {
		o.err = multierror.Append(o.err, fmt.Errorf("stream %q: stream ids must be non-empty and not start with \"__\" (reserved for system streams)", stream))
		return
	}
	if _, dup := o.outputs[stream]; dup {
		o.err = multierror.Append(o.err, fmt.Errorf("stream %q declared twice", stream))
		return
	}
	seen := map[string]bool{}
	for _, f := range fields {
		if seen[f] {
			o.err = multierror.Append(o.err, fmt.Errorf("stream %q: field %q declared twice", stream, f))
			return
		}
		seen[f] = true
	}
	o.outputs[stream] = StreamDef{Fields: append(Fields(nil), fields...), Direct: direct}
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func cloneComponent(c *ComponentDef) *ComponentDef {
	out := *c
	out.Conf = cloneMap(c.Conf)
	out.Inputs = append([]InputDef(nil), c.Inputs...)
	out.Outputs = copyOutputs(c.Outputs)
	if c.Shell != nil {
		out.Shell = &ShellDef{Command: append([]string(nil), c.Shell.Command...)}
	}
	return &out
}

// Factories are the component makers of a topology, keyed by component id.
// Shell components need none: their definition carries the command.
type Factories struct {
	Spouts map[string]func() Spout
	Bolts  map[string]func() Bolt
}

// FromDefinition validates d and pairs it with the factories that make its
// instances: how a worker or Flux rebuilds a topology from
// stormtopology.json. Every non-shell component of d needs a factory.
func FromDefinition(d *Definition, f Factories) (*Topology, error) {
	if d == nil {
		return nil, fmt.Errorf("topology definition is nil")
	}
	var errs *multierror.Error
	if err := d.Validate(); err != nil {
		errs = multierror.Append(errs, err)
	}
	t := &Topology{Definition: d, spouts: map[string]func() Spout{}, bolts: map[string]func() Bolt{}}
	for _, id := range slices.Sorted(maps.Keys(d.Spouts)) {
		c := d.Spouts[id]
		if c == nil || c.Shell != nil {
			continue
		}
		if f.Spouts[id] == nil && id == CheckpointComponent {
			t.spouts[id] = newCheckpointSpout
			continue
		}
		if f.Spouts[id] == nil {
			errs = multierror.Append(errs, fmt.Errorf("spout %q: no factory given for it", id))
			continue
		}
		t.spouts[id] = f.Spouts[id]
	}
	for _, id := range slices.Sorted(maps.Keys(d.Bolts)) {
		c := d.Bolts[id]
		if c == nil || c.Shell != nil {
			continue
		}
		if f.Bolts[id] == nil {
			errs = multierror.Append(errs, fmt.Errorf("bolt %q: no factory given for it", id))
			continue
		}
		t.bolts[id] = f.Bolts[id]
	}
	if err := errlist.Err(errs); err != nil {
		return nil, err
	}
	return t, nil
}

// ShellFactory makes multilang components. The topology/shell package
// registers it when imported (topology cannot import it: shell depends on
// topology); a binary running shell components imports topology/shell.
type ShellFactory struct {
	Spout func(command []string, outputs map[string]StreamDef) Spout
	Bolt  func(command []string, outputs map[string]StreamDef) Bolt
}

var shellFactory ShellFactory

// RegisterShell installs the maker of multilang components (called by
// topology/shell's init).
func RegisterShell(f ShellFactory) { shellFactory = f }

// NewSpout returns a fresh instance of spout id (one per task).
func (t *Topology) NewSpout(id string) (Spout, error) {
	if c := t.Definition.Spouts[id]; c != nil && c.Shell != nil {
		if shellFactory.Spout == nil {
			return nil, fmt.Errorf("spout %q is a shell spout but multilang support is not linked in: import github.com/localstorm/localstorm/topology/shell", id)
		}
		return shellFactory.Spout(c.Shell.Command, c.Outputs), nil
	}
	f := t.spouts[id]
	if f == nil {
		return nil, fmt.Errorf("no spout %q in the topology", id)
	}
	s := f()
	if s == nil {
		return nil, fmt.Errorf("spout %q: factory returned nil", id)
	}
	return s, nil
}

// NewBolt returns a fresh instance of bolt id (one per task); basic bolts come
// wrapped as Bolt.
func (t *Topology) NewBolt(id string) (Bolt, error) {
	if c := t.Definition.Bolts[id]; c != nil && c.Shell != nil {
		if shellFactory.Bolt == nil {
			return nil, fmt.Errorf("bolt %q is a shell bolt but multilang support is not linked in: import github.com/localstorm/localstorm/topology/shell", id)
		}
		b := shellFactory.Bolt(c.Shell.Command, c.Outputs)
		if c.subscribesToCheckpoints() {
			b = newCheckpointForwarder(b)
		}
		return b, nil
	}
	f := t.bolts[id]
	if f == nil {
		return nil, fmt.Errorf("no bolt %q in the topology", id)
	}
	b := f()
	if b == nil {
		return nil, fmt.Errorf("bolt %q: factory returned nil", id)
	}
	return b, nil
}
