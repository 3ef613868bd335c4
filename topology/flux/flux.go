// Package flux loads topologies from Apache Storm's Flux YAML
// (docs/flux.md): name, config, spouts, bolts and streams, with
// ${ENV-NAME} substitution. Components are the classes localstorm builds in,
// under Storm's own names, so that Storm's Flux examples of shell components
// load unchanged: FluxShellSpout and FluxShellBolt run multilang
// subprocesses, TestWordSpout, TestWordCounter and LogInfoBolt are the
// testing components of Storm.
package flux

import (
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/localstorm/localstorm/topology"
	_ "github.com/localstorm/localstorm/topology/shell" // runs FluxShellSpout and FluxShellBolt
)

// Load reads the Flux file at path, substitutes ${ENV-NAME} from env (a
// missing variable is an error) and builds the topology. The topology's name
// is in Definition.Name.
func Load(path string, env map[string]string) (*topology.Topology, error) {
	t, _, err := Resolve(path, env)
	return t, err
}

// Resolve is Load that also returns the file with every ${ENV-NAME}
// substituted: what a submitter ships, so that workers, whose environment
// is not the submitting shell's, read the values the submitter resolved.
func Resolve(path string, env map[string]string) (*topology.Topology, []byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load flux file: %w", err)
	}
	resolved, err := substitute(raw, env)
	if err != nil {
		return nil, nil, fmt.Errorf("load flux file %s: %w", path, err)
	}
	t, err := parse(resolved)
	if err != nil {
		return nil, nil, fmt.Errorf("load flux file %s: %w", path, err)
	}
	return t, resolved, nil
}

// topologyDef is a Flux file (Storm's TopologyDef).
type topologyDef struct {
	Name    string          `yaml:"name"`
	Config  map[string]any  `yaml:"config"`
	Spouts  []*componentDef `yaml:"spouts"`
	Bolts   []*componentDef `yaml:"bolts"`
	Streams []*streamDef    `yaml:"streams"`
	// Components are Flux's beans: only org.apache.storm.tuple.Fields, the
	// argument of a PartialKeyGrouping.
	Components []*beanDef `yaml:"components"`
	// Known to Storm's Flux, refused here (see unsupported).
	Includes       yaml.Node `yaml:"includes"`
	TopologySource yaml.Node `yaml:"topologySource"`
	WorkerHooks    yaml.Node `yaml:"workerHooks"`
}

// componentDef is a spout or bolt (Storm's VertexDef and ObjectDef).
type componentDef struct {
	ID              string            `yaml:"id"`
	ClassName       string            `yaml:"className"`
	ConstructorArgs []any             `yaml:"constructorArgs"`
	Parallelism     *int              `yaml:"parallelism"`
	NumTasks        *int              `yaml:"numTasks"`
	Config          map[string]any    `yaml:"config"`
	ConfigMethods   []configMethodDef `yaml:"configMethods"`
	// Known to Storm's Flux, refused here.
	Properties  yaml.Node `yaml:"properties"`
	Factory     yaml.Node `yaml:"factory"`
	FactoryArgs yaml.Node `yaml:"factoryArgs"`
	// Resource-aware scheduling hints: accepted and ignored, with a warning.
	OnHeapMemoryLoad  yaml.Node `yaml:"onHeapMemoryLoad"`
	OffHeapMemoryLoad yaml.Node `yaml:"offHeapMemoryLoad"`
	CPULoad           yaml.Node `yaml:"cpuLoad"`

	line int
}

type configMethodDef struct {
	Name string `yaml:"name"`
	Args []any  `yaml:"args"`
}

type streamDef struct {
	Name     string      `yaml:"name"` // unused, as in Storm
	From     string      `yaml:"from"`
	To       string      `yaml:"to"`
	Grouping groupingDef `yaml:"grouping"`
}

type groupingDef struct {
	Type        string          `yaml:"type"`
	StreamID    string          `yaml:"streamId"`
	Args        []string        `yaml:"args"`
	CustomClass *customClassDef `yaml:"customClass"`
}

// beanDef is a Flux component (Storm's BeanDef).
type beanDef struct {
	ID              string `yaml:"id"`
	ClassName       string `yaml:"className"`
	ConstructorArgs []any  `yaml:"constructorArgs"`
}

type customClassDef struct {
	ClassName       string `yaml:"className"`
	ConstructorArgs []any  `yaml:"constructorArgs"`
}

// envRef is Storm's environment substitution, ${ENV-NAME}.
var envRef = regexp.MustCompile(`\$\{ENV-([^}]+)\}`)

// substitute replaces every ${ENV-NAME} with env[NAME].
func substitute(raw []byte, env map[string]string) ([]byte, error) {
	var missing []string
	out := envRef.ReplaceAllFunc(raw, func(ref []byte) []byte {
		name := string(envRef.FindSubmatch(ref)[1])
		v, ok := env[name]
		if !ok {
			missing = append(missing, name)
			return ref
		}
		return []byte(v)
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("environment variable(s) %s used as ${ENV-...} but not set: set them or remove the references",
			strings.Join(missing, ", "))
	}
	return out, nil
}

// parse builds the topology of a Flux file whose ${ENV-...} are resolved.
func parse(raw []byte) (*topology.Topology, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	var def topologyDef
	dec = yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true) // a misspelt key is an error, as in Storm's Flux
	if err := dec.Decode(&def); err != nil {
		return nil, fmt.Errorf("parse flux topology (keys: name, config, spouts, bolts, streams): %w", err)
	}
	recordLines(&root, &def)
	if err := unsupported(&def); err != nil {
		return nil, err
	}
	return build(&def)
}

// recordLines notes the line of each component, for error messages.
func recordLines(root *yaml.Node, def *topologyDef) {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		list := def.Spouts
		switch m.Content[i].Value {
		case "spouts":
		case "bolts":
			list = def.Bolts
		default:
			continue
		}
		for j, n := range m.Content[i+1].Content {
			if j < len(list) && list[j] != nil {
				list[j].line = n.Line
			}
		}
	}
}

// unsupported refuses the parts of Flux localstorm does not run: they
// instantiate Java classes or other files.
func unsupported(def *topologyDef) error {
	for key, n := range map[string]*yaml.Node{
		"includes":       &def.Includes,
		"topologySource": &def.TopologySource,
		"workerHooks":    &def.WorkerHooks,
	} {
		if n.Kind != 0 {
			return fmt.Errorf("line %d: %q is not supported by localstorm (it instantiates Java classes or includes other files); "+
				"declare spouts and bolts of the built-in classes (%s) directly", n.Line, key, strings.Join(classNames(), ", "))
		}
	}
	for _, c := range append(append([]*componentDef(nil), def.Spouts...), def.Bolts...) {
		if c == nil {
			continue
		}
		for key, n := range map[string]*yaml.Node{"properties": &c.Properties, "factory": &c.Factory, "factoryArgs": &c.FactoryArgs} {
			if n.Kind != 0 {
				return fmt.Errorf("line %d: component %q: %q is not supported by localstorm (built-in classes take constructorArgs and configMethods only)", n.Line, c.ID, key)
			}
		}
		for key, n := range map[string]*yaml.Node{"onHeapMemoryLoad": &c.OnHeapMemoryLoad, "offHeapMemoryLoad": &c.OffHeapMemoryLoad, "cpuLoad": &c.CPULoad} {
			if n.Kind != 0 {
				slog.Warn("flux: resource hints are ignored (localstorm has no resource-aware scheduler)", "component", c.ID, "key", key, "line", n.Line)
			}
		}
	}
	return nil
}

// build turns the parsed file into a topology through the builder, which
// validates it.
func build(def *topologyDef) (*topology.Topology, error) {
	b := topology.NewBuilder()
	for _, k := range slices.Sorted(maps.Keys(def.Config)) {
		b.SetConf(k, def.Config[k])
	}
	beans, err := buildBeans(def.Components)
	if err != nil {
		return nil, err
	}
	direct := directStreams(def.Streams)
	bolts := map[string]*topology.BoltDeclarer{}
	for _, c := range def.Spouts {
		comp, err := makeComponent(c, kindSpout)
		if err != nil {
			return nil, err
		}
		markDirect(c, comp, direct)
		var d *topology.SpoutDeclarer
		if comp.shell != nil {
			d = b.SetShellSpout(c.ID, comp.shell, comp.outputs, parallelism(c))
		} else {
			d = b.SetSpout(c.ID, comp.spout, parallelism(c))
		}
		configure(c, comp, d.SetNumTasks, d.AddConfig)
	}
	for _, c := range def.Bolts {
		comp, err := makeComponent(c, kindBolt)
		if err != nil {
			return nil, err
		}
		markDirect(c, comp, direct)
		var d *topology.BoltDeclarer
		if comp.shell != nil {
			d = b.SetShellBolt(c.ID, comp.shell, comp.outputs, parallelism(c))
		} else {
			d = b.SetBolt(c.ID, comp.bolt, parallelism(c))
		}
		configure(c, comp, d.SetNumTasks, d.AddConfig)
		bolts[c.ID] = d
	}
	for i, s := range def.Streams {
		if s == nil {
			return nil, fmt.Errorf("streams[%d]: empty entry", i)
		}
		if err := subscribe(bolts, beans, s); err != nil {
			return nil, fmt.Errorf("stream %q (%s --> %s): %w", s.Name, s.From, s.To, err)
		}
	}
	t, err := b.Build()
	if err != nil {
		return nil, err
	}
	t.Definition.Name = def.Name
	return t, nil
}

// makeComponent makes the component of a YAML entry of kind k.
func makeComponent(c *componentDef, k kind) (component, error) {
	if c == nil {
		return component{}, fmt.Errorf("%ss: empty entry", k)
	}
	cl, err := lookupClass(c, k)
	if err != nil {
		return component{}, err
	}
	comp, err := cl.make(c)
	if err != nil {
		return component{}, fmt.Errorf("line %d: %s %q (%s): %w", c.line, k, c.ID, c.ClassName, err)
	}
	return comp, nil
}

// configure applies numTasks and the component configuration (the YAML's
// config over what config methods set) through a declarer's methods.
func configure[D any](c *componentDef, comp component, setNumTasks func(int) D, addConfig func(string, any) D) {
	if c.NumTasks != nil {
		setNumTasks(*c.NumTasks)
	}
	conf := mergeConf(c.Config, comp.conf)
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		addConfig(k, conf[k])
	}
}

func parallelism(c *componentDef) int {
	if c.Parallelism == nil {
		return 1 // Flux's default
	}
	return *c.Parallelism
}

func mergeConf(yamlConf, classConf map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range classConf {
		out[k] = v
	}
	for k, v := range yamlConf {
		out[k] = v
	}
	return out
}

// subscribe adds one stream's subscription to its target bolt.
func subscribe(bolts map[string]*topology.BoltDeclarer, beans map[string]topology.Fields, s *streamDef) error {
	if s.From == "" || s.To == "" {
		return fmt.Errorf("a stream needs both from and to")
	}
	d := bolts[s.To]
	if d == nil {
		return fmt.Errorf("to: no bolt %q is declared (streams go to bolts)", s.To)
	}
	var stream []string
	if s.Grouping.StreamID != "" {
		stream = []string{s.Grouping.StreamID}
	}
	g := s.Grouping
	switch strings.ToUpper(g.Type) {
	case "SHUFFLE":
		d.ShuffleGrouping(s.From, stream...)
	case "LOCAL_OR_SHUFFLE":
		d.LocalOrShuffleGrouping(s.From, stream...)
	case "FIELDS":
		if len(g.Args) == 0 {
			return fmt.Errorf("FIELDS grouping needs args: the list of fields")
		}
		d.FieldsGrouping(s.From, topology.Fields(g.Args), stream...)
	case "ALL":
		d.AllGrouping(s.From, stream...)
	case "GLOBAL":
		d.GlobalGrouping(s.From, stream...)
	case "NONE":
		d.NoneGrouping(s.From, stream...)
	case "DIRECT":
		d.DirectGrouping(s.From, stream...)
	case "CUSTOM":
		if g.CustomClass != nil && g.CustomClass.ClassName == ClassPartialKeyGrouping {
			fields, err := partialKeyFields(beans, g.CustomClass)
			if err != nil {
				return err
			}
			d.PartialKeyGrouping(s.From, fields, stream...)
			return nil
		}
		if g.CustomClass == nil || g.CustomClass.ClassName == "" {
			return fmt.Errorf("CUSTOM grouping needs customClass.className: the name of a grouping registered with topology.RegisterGrouping")
		}
		d.CustomGrouping(s.From, g.CustomClass.ClassName, stream...)
	case "":
		return fmt.Errorf("grouping.type is missing (one of SHUFFLE, LOCAL_OR_SHUFFLE, FIELDS, ALL, GLOBAL, NONE, DIRECT, CUSTOM)")
	default:
		return fmt.Errorf("unknown grouping type %q (one of SHUFFLE, LOCAL_OR_SHUFFLE, FIELDS, ALL, GLOBAL, NONE, DIRECT, CUSTOM)", g.Type)
	}
	return nil
}

// Storm's classes of a partial key grouping and its argument.
const (
	ClassPartialKeyGrouping = "org.apache.storm.grouping.PartialKeyGrouping"
	ClassFields             = "org.apache.storm.tuple.Fields"
)

// buildBeans makes the file's components, which may only be Fields (for a
// PartialKeyGrouping's constructor), by id.
func buildBeans(defs []*beanDef) (map[string]topology.Fields, error) {
	beans := map[string]topology.Fields{}
	for i, b := range defs {
		if b == nil || b.ID == "" {
			return nil, fmt.Errorf("components[%d]: a component needs an id", i)
		}
		if b.ClassName != ClassFields {
			return nil, fmt.Errorf("component %q: class %q is not supported by localstorm in components (only %s, for a %s)", b.ID, b.ClassName, ClassFields, ClassPartialKeyGrouping)
		}
		if len(b.ConstructorArgs) != 1 {
			return nil, fmt.Errorf("component %q (%s): want constructorArgs [[field, ...]]", b.ID, ClassFields)
		}
		fields, err := stringList(b.ConstructorArgs[0])
		if err != nil || len(fields) == 0 {
			return nil, fmt.Errorf("component %q (%s): constructorArgs[0] must be a non-empty list of field names", b.ID, ClassFields)
		}
		if _, dup := beans[b.ID]; dup {
			return nil, fmt.Errorf("component %q: id declared twice", b.ID)
		}
		beans[b.ID] = fields
	}
	return beans, nil
}

// partialKeyFields reads PartialKeyGrouping's constructor argument: a ref to
// a Fields component.
func partialKeyFields(beans map[string]topology.Fields, c *customClassDef) (topology.Fields, error) {
	if len(c.ConstructorArgs) == 1 {
		if ref, ok := c.ConstructorArgs[0].(map[string]any); ok && len(ref) == 1 {
			if id, ok := ref["ref"].(string); ok {
				if f, ok := beans[id]; ok {
					return f, nil
				}
				return nil, fmt.Errorf("%s: ref %q names no %s component", ClassPartialKeyGrouping, id, ClassFields)
			}
		}
	}
	return nil, fmt.Errorf("%s: want constructorArgs [ref: ID] naming a components entry of class %s", ClassPartialKeyGrouping, ClassFields)
}

// directStreams are the (component, stream) pairs a DIRECT grouping reads.
// FluxShellSpout and FluxShellBolt cannot declare a stream direct; Storm
// decides by the grouping, and so does localstorm for shell components.
func directStreams(streams []*streamDef) map[[2]string]bool {
	out := map[[2]string]bool{}
	for _, s := range streams {
		if s != nil && strings.EqualFold(s.Grouping.Type, "DIRECT") {
			stream := s.Grouping.StreamID
			if stream == "" {
				stream = topology.DefaultStream
			}
			out[[2]string{s.From, stream}] = true
		}
	}
	return out
}

// markDirect declares direct the streams of shell component c that a DIRECT
// grouping reads.
func markDirect(c *componentDef, comp component, direct map[[2]string]bool) {
	if comp.shell == nil {
		return
	}
	for stream, def := range comp.outputs {
		if direct[[2]string{c.ID, stream}] {
			def.Direct = true
			comp.outputs[stream] = def
		}
	}
}
