package nimbusthrift

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
	"github.com/localstorm/localstorm/topology"
	"github.com/localstorm/localstorm/topology/flux"
)

// A StormTopology submitted over Thrift runs on localstorm's Flux path: it
// is translated into a Flux file of the classes the Flux runner builds in
// (FluxShellSpout and FluxShellBolt for ShellComponents; TestWordSpout,
// TestWordCounter and LogInfoBolt for Java components of those classes),
// shipped with the jar's resources/ as a Flux topology's resources, and run
// by `localstorm worker --flux` like any Flux topology. The translation is
// loaded back with the Flux loader before anything is submitted, so the
// definition nimbus stores is the one the workers rebuild.

// FluxFileName is the name of the Flux file a Thrift-submitted topology's
// resources hold at their top.
const FluxFileName = "localstorm-thrift-topology.yaml"

// builtinKinds are the Java classes a submitted component may name: the
// Flux runner's built-in testing components ("spout" or "bolt"). The shell
// wrappers are not among them: their constructor takes arrays, which a
// JavaObject cannot carry; a ShellComponent says the same.
var builtinKinds = map[string]string{
	flux.ClassTestWordSpout:   "spout",
	flux.ClassTestWordCounter: "bolt",
	flux.ClassLogInfoBolt:     "bolt",
}

func builtinNames() string {
	return strings.Join(slices.Sorted(maps.Keys(builtinKinds)), ", ")
}

// invalid is Storm's InvalidTopologyException.
func invalid(format string, args ...any) *storm.InvalidTopologyException {
	return &storm.InvalidTopologyException{Msg: fmt.Sprintf(format, args...)}
}

// toFlux translates a submitted StormTopology into the Flux file that runs
// it. Every error is an InvalidTopologyException that names the component.
func toFlux(name string, t *storm.StormTopology) ([]byte, error) {
	if t == nil {
		return nil, invalid("no topology given")
	}
	if len(t.StateSpouts) > 0 {
		return nil, invalid("state spouts %s: localstorm runs spouts and bolts only", strings.Join(slices.Sorted(maps.Keys(t.StateSpouts)), ", "))
	}
	if len(t.WorkerHooks) > 0 {
		return nil, invalid("worker hooks are serialized Java objects, which localstorm cannot run")
	}
	for _, id := range slices.Sorted(maps.Keys(t.Spouts)) {
		if t.Bolts[id] != nil {
			return nil, invalid("Duplicate component ids: [%s]", id)
		}
	}
	out := flux.Document{Name: name}
	direct := directStreams(t)
	for _, id := range slices.Sorted(maps.Keys(t.Spouts)) {
		s := t.Spouts[id]
		if s == nil || s.Common == nil {
			return nil, invalid("spout %s: no spout_object or common", id)
		}
		if len(s.Common.Inputs) > 0 {
			return nil, invalid("spout %s subscribes to streams: only bolts have inputs", id)
		}
		c, err := fluxComponentOf("spout", id, s.SpoutObject, s.Common)
		if err != nil {
			return nil, err
		}
		out.Spouts = append(out.Spouts, c)
	}
	for _, id := range slices.Sorted(maps.Keys(t.Bolts)) {
		b := t.Bolts[id]
		if b == nil || b.Common == nil {
			return nil, invalid("bolt %s: no bolt_object or common", id)
		}
		c, err := fluxComponentOf("bolt", id, b.BoltObject, b.Common)
		if err != nil {
			return nil, err
		}
		out.Bolts = append(out.Bolts, c)
		streams, err := fluxStreams(id, b.Common.Inputs, direct)
		if err != nil {
			return nil, err
		}
		out.Streams = append(out.Streams, streams...)
	}
	return yaml.Marshal(&out)
}

// fluxComponentOf translates one spout or bolt.
func fluxComponentOf(kind, id string, obj *storm.ComponentObject, common *storm.ComponentCommon) (flux.Component, error) {
	c := flux.Component{ID: id, Parallelism: 1}
	if common.ParallelismHint != nil {
		if *common.ParallelismHint < 1 {
			return c, invalid("%s %s: parallelism_hint %d: it must be at least 1", kind, id, *common.ParallelismHint)
		}
		c.Parallelism = int(*common.ParallelismHint)
	}
	conf, numTasks, err := componentConf(kind, id, common.JSONConf)
	if err != nil {
		return c, err
	}
	c.Config, c.NumTasks = conf, numTasks
	switch {
	case obj == nil || obj.CountSetFieldsComponentObject() != 1:
		return c, invalid("%s %s: its component object must be exactly one of shell, java_object or serialized_java", kind, id)
	case obj.Shell != nil:
		return c, shellComponent(kind, id, obj.Shell, common.Streams, &c)
	case obj.JavaObject != nil:
		return c, builtinComponent(kind, id, obj.JavaObject.FullClassName, obj.JavaObject.ArgsList, &c)
	default:
		class, ok := javaSerializedClass(obj.SerializedJava)
		if !ok {
			return c, invalid("%s %s: serialized_java is not a serialized Java object; "+onlyShell, kind, id, builtinNames())
		}
		return c, builtinComponent(kind, id, class, nil, &c)
	}
}

const onlyShell = "localstorm runs only shell components (ShellComponent) and the built-in classes %s"

// componentConf reads a component's json_conf: its topology.tasks (which
// Storm's TopologyBuilder puts there for setNumTasks) is the component's task
// count, the rest its configuration.
func componentConf(kind, id string, jsonConf *string) (map[string]any, int, error) {
	if jsonConf == nil || strings.TrimSpace(*jsonConf) == "" {
		return nil, 0, nil
	}
	conf, err := parseConf(*jsonConf)
	if err != nil {
		return nil, 0, invalid("%s %s: json_conf: %v", kind, id, err)
	}
	numTasks := 0
	if _, set := conf[config.TopologyTasks]; set {
		n, err := config.Conf(conf).Int(config.TopologyTasks)
		if err != nil || n < 1 {
			return nil, 0, invalid("%s %s: json_conf: %s %v: it must be a whole number of at least 1", kind, id, config.TopologyTasks, conf[config.TopologyTasks])
		}
		numTasks = n
		delete(conf, config.TopologyTasks)
	}
	if len(conf) == 0 {
		conf = nil
	}
	return conf, numTasks, nil
}

// parseConf reads a configuration given as a JSON object; null values are
// left out (a key set to null is the default's, as Storm's are mostly null).
func parseConf(s string) (map[string]any, error) {
	var conf map[string]any
	if err := json.Unmarshal([]byte(s), &conf); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	maps.DeleteFunc(conf, func(_ string, v any) bool { return v == nil })
	return conf, nil
}

// shellComponent is a ShellComponent, run by FluxShellSpout or FluxShellBolt
// as Storm's ShellSpout and ShellBolt run it: the command is
// [execution_command, script] in the topology's resources directory.
func shellComponent(kind, id string, sh *storm.ShellComponent, streams map[string]*storm.StreamInfo, c *flux.Component) error {
	if strings.TrimSpace(sh.ExecutionCommand) == "" {
		return invalid("%s %s: the shell component has no execution_command", kind, id)
	}
	command := []any{sh.ExecutionCommand}
	if sh.Script != "" {
		command = append(command, sh.Script)
	}
	c.ClassName = flux.ClassShellSpout
	if kind == "bolt" {
		c.ClassName = flux.ClassShellBolt
	}
	c.ConstructorArgs = []any{command}
	for _, sid := range slices.Sorted(maps.Keys(streams)) {
		s := streams[sid]
		if s == nil {
			return invalid("%s %s: stream %s has no StreamInfo", kind, id, sid)
		}
		fields := make([]any, len(s.OutputFields))
		for i, f := range s.OutputFields {
			fields[i] = f
		}
		if sid == topology.DefaultStream {
			c.ConfigMethods = append(c.ConfigMethods, flux.ConfigMethod{Name: "setDefaultStream", Args: []any{fields}})
		} else {
			c.ConfigMethods = append(c.ConfigMethods, flux.ConfigMethod{Name: "setNamedStream", Args: []any{sid, fields}})
		}
	}
	return nil
}

// builtinComponent is a Java component of one of the built-in classes.
func builtinComponent(kind, id, class string, args []*storm.JavaObjectArg, c *flux.Component) error {
	k, ok := builtinKinds[class]
	switch {
	case !ok:
		return invalid("%s %s: class %s cannot run here: "+onlyShell, kind, id, class, builtinNames())
	case k != kind:
		return invalid("%s %s: class %s is a %s, not a %s", kind, id, class, k, kind)
	}
	c.ClassName = class
	// TestWordSpout takes an optional isDistributed; the others take nothing.
	if class == flux.ClassTestWordSpout && len(args) == 1 && args[0] != nil && args[0].BoolArg != nil {
		c.ConstructorArgs = []any{*args[0].BoolArg}
	} else if len(args) > 0 {
		return invalid("%s %s: class %s: unsupported constructor arguments (TestWordSpout takes an optional boolean, the other built-ins none)", kind, id, class)
	}
	return nil
}

// directStreams are the "component:stream" names of the streams the
// topology declares direct.
func directStreams(t *storm.StormTopology) map[string]bool {
	direct := map[string]bool{}
	add := func(id string, common *storm.ComponentCommon) {
		if common == nil {
			return
		}
		for sid, info := range common.Streams {
			if info != nil && info.Direct {
				direct[id+":"+sid] = true
			}
		}
	}
	for id, s := range t.Spouts {
		if s != nil {
			add(id, s.Common)
		}
	}
	for id, b := range t.Bolts {
		if b != nil {
			add(id, b.Common)
		}
	}
	return direct
}

// fluxStreams translates a bolt's inputs, in a stable order; direct names
// the direct streams (directStreams).
func fluxStreams(bolt string, inputs map[*storm.GlobalStreamId]*storm.Grouping, direct map[string]bool) ([]flux.Stream, error) {
	var out []flux.Stream
	for gid, g := range inputs {
		if gid == nil || gid.ComponentId == "" {
			return nil, invalid("bolt %s: an input names no component", bolt)
		}
		stream := gid.StreamId
		if stream == "" {
			stream = topology.DefaultStream
		}
		fg, err := fluxGroupingOf(bolt, gid.ComponentId, stream, g, direct[gid.ComponentId+":"+stream])
		if err != nil {
			return nil, err
		}
		if stream != topology.DefaultStream {
			fg.StreamID = stream
		}
		out = append(out, flux.Stream{Name: gid.ComponentId + ":" + stream + " --> " + bolt, From: gid.ComponentId, To: bolt, Grouping: fg})
	}
	slices.SortFunc(out, func(a, b flux.Stream) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// fluxGroupingOf is the Flux grouping of Storm's Grouping union.
func fluxGroupingOf(bolt, from, stream string, g *storm.Grouping, directStream bool) (flux.Grouping, error) {
	switch {
	case g == nil || g.CountSetFieldsGrouping() != 1:
		return flux.Grouping{}, invalid("bolt %s: input %s:%s: the grouping must be exactly one of Storm's", bolt, from, stream)
	case g.Fields != nil && len(g.Fields) == 0:
		return flux.Grouping{Type: "GLOBAL"}, nil
	case g.Fields != nil:
		return flux.Grouping{Type: "FIELDS", Args: append([]string(nil), g.Fields...)}, nil
	case g.Shuffle != nil:
		return flux.Grouping{Type: "SHUFFLE"}, nil
	case g.All != nil:
		return flux.Grouping{Type: "ALL"}, nil
	case g.None != nil:
		return flux.Grouping{Type: "NONE"}, nil
	case g.Direct != nil && !directStream:
		return flux.Grouping{}, invalid("bolt %s: input %s:%s: a direct grouping reads only a direct stream, and %s:%s is not declared direct", bolt, from, stream, from, stream)
	case g.Direct != nil:
		// localstorm's Flux runner lets a shell component emit directly on
		// a stream that a DIRECT grouping reads.
		return flux.Grouping{Type: "DIRECT"}, nil
	case g.LocalOrShuffle != nil:
		return flux.Grouping{Type: "LOCAL_OR_SHUFFLE"}, nil
	}
	return flux.Grouping{}, invalid("bolt %s: input %s:%s: custom groupings are Java objects, which localstorm cannot run; use shuffle, fields, all, global, none, direct or local_or_shuffle", bolt, from, stream)
}

// javaSerializedClass reads the class name at the head of a Java
// serialization stream (ObjectOutputStream: magic, version, TC_OBJECT,
// TC_CLASSDESC, the class name in modified UTF-8).
func javaSerializedClass(b []byte) (string, bool) {
	const head = 6
	if len(b) < head+2 || b[0] != 0xac || b[1] != 0xed || b[2] != 0x00 || b[3] != 0x05 || b[4] != 0x73 || b[5] != 0x72 {
		return "", false
	}
	n := int(binary.BigEndian.Uint16(b[head:]))
	if len(b) < head+2+n {
		return "", false
	}
	return string(b[head+2 : head+2+n]), true
}

// loadFlux loads a translated Flux file with the Flux loader, as a worker
// will, from a file in dir; its errors are InvalidTopologyExceptions.
func loadFlux(dir string, yamlDoc []byte) (*topology.Definition, error) {
	path := filepath.Join(dir, FluxFileName)
	if err := os.WriteFile(path, yamlDoc, 0o600); err != nil {
		return nil, err
	}
	t, err := flux.Load(path, map[string]string{})
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "load flux file "+path+": ")
		return nil, invalid("%s", msg)
	}
	return t.Definition, nil
}

// checkBuiltinStreams compares the streams a client declared for a built-in
// component with those of the class, which are what runs: a difference
// would leave a subscriber without its fields.
func checkBuiltinStreams(t *storm.StormTopology, def *topology.Definition) error {
	check := func(kind, id string, obj *storm.ComponentObject, common *storm.ComponentCommon, c *topology.ComponentDef) error {
		if c == nil || c.Shell != nil || common == nil || len(common.Streams) == 0 {
			return nil
		}
		for _, sid := range slices.Sorted(maps.Keys(common.Streams)) {
			s := common.Streams[sid]
			got, ok := c.Outputs[sid]
			if !ok || s == nil || !slices.Equal(s.OutputFields, got.Fields) || s.Direct != got.Direct {
				return invalid("%s %s: stream %s as declared does not match class %s, which declares %s", kind, id, sid, classOf(obj), describeStreams(c.Outputs))
			}
		}
		return nil
	}
	for id, s := range t.Spouts {
		if err := check("spout", id, s.SpoutObject, s.Common, def.Spouts[id]); err != nil {
			return err
		}
	}
	for id, b := range t.Bolts {
		if err := check("bolt", id, b.BoltObject, b.Common, def.Bolts[id]); err != nil {
			return err
		}
	}
	return nil
}

// classOf is the Java class of a Java component.
func classOf(obj *storm.ComponentObject) string {
	if obj.JavaObject != nil {
		return obj.JavaObject.FullClassName
	}
	class, _ := javaSerializedClass(obj.SerializedJava)
	return class
}

func describeStreams(outputs map[string]topology.StreamDef) string {
	if len(outputs) == 0 {
		return "no streams"
	}
	var parts []string
	for _, sid := range slices.Sorted(maps.Keys(outputs)) {
		parts = append(parts, fmt.Sprintf("%s%v", sid, []string(outputs[sid].Fields)))
	}
	return strings.Join(parts, ", ")
}
