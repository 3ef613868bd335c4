// Package fluxgen packages a Go topology for Apache Storm: a Flux YAML whose
// spouts and bolts are Flux's FluxShellSpout and FluxShellBolt running the
// topology binary's multilang command, and a jar carrying the binary under
// resources/ (Storm's supervisor extracts that directory into the worker's
// code dir, where shell components run). What Storm cannot run that way is
// refused with the reason.
package fluxgen

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/localstorm/localstorm/topology"
	"github.com/localstorm/localstorm/topology/flux"
)

// Storm's class names used by the generated YAML (localstorm's Flux runner
// knows them by the same names).
const (
	ClassShellSpout         = flux.ClassShellSpout
	ClassShellBolt          = flux.ClassShellBolt
	ClassPartialKeyGrouping = flux.ClassPartialKeyGrouping
	ClassFields             = flux.ClassFields
)

// fluxGroupings maps the SDK's grouping types to Flux's (GroupingDef.Type).
var fluxGroupings = map[string]string{
	topology.GroupShuffle:        "SHUFFLE",
	topology.GroupLocalOrShuffle: "LOCAL_OR_SHUFFLE",
	topology.GroupFields:         "FIELDS",
	topology.GroupAll:            "ALL",
	topology.GroupGlobal:         "GLOBAL",
	topology.GroupNone:           "NONE",
	topology.GroupDirect:         "DIRECT",
	topology.GroupPartialKey:     "CUSTOM", // with Storm's PartialKeyGrouping class
}

// Flux's model (Storm's TopologyDef, VertexDef, ObjectDef, StreamDef,
// GroupingDef): only the keys Flux's parser knows.
type fluxTopology struct {
	Name       string          `yaml:"name"`
	Config     map[string]any  `yaml:"config,omitempty"`
	Components []fluxObject    `yaml:"components,omitempty"`
	Spouts     []fluxComponent `yaml:"spouts"`
	Bolts      []fluxComponent `yaml:"bolts,omitempty"`
	Streams    []fluxStream    `yaml:"streams,omitempty"`
}

type fluxObject struct {
	ID              string `yaml:"id"`
	ClassName       string `yaml:"className"`
	ConstructorArgs []any  `yaml:"constructorArgs,omitempty"`
}

type fluxComponent struct {
	ID              string             `yaml:"id"`
	ClassName       string             `yaml:"className"`
	ConstructorArgs []any              `yaml:"constructorArgs"`
	ConfigMethods   []fluxConfigMethod `yaml:"configMethods,omitempty"`
	Parallelism     int                `yaml:"parallelism"`
	NumTasks        int                `yaml:"numTasks,omitempty"`
}

type fluxConfigMethod struct {
	Name string `yaml:"name"`
	Args []any  `yaml:"args"`
}

type fluxStream struct {
	Name     string       `yaml:"name"`
	From     string       `yaml:"from"`
	To       string       `yaml:"to"`
	Grouping fluxGrouping `yaml:"grouping"`
}

type fluxGrouping struct {
	Type        string     `yaml:"type"`
	StreamID    string     `yaml:"streamId,omitempty"`
	Args        []string   `yaml:"args,omitempty"`
	CustomClass *fluxClass `yaml:"customClass,omitempty"`
}

// fluxClass is an object made in place (Storm's ObjectDef: no id).
type fluxClass struct {
	ClassName       string `yaml:"className"`
	ConstructorArgs []any  `yaml:"constructorArgs,omitempty"`
}

// Command returns the command a FluxShellSpout or FluxShellBolt runs for
// component: the binary (named bin, in the resources dir Storm runs shell
// components in) in its multilang mode. Storm extracts resources/ without
// file modes, so the command makes the binary executable first.
func Command(bin, component string) []string {
	return []string{"sh", "-c", fmt.Sprintf("chmod u+x ./%s 2>/dev/null; exec ./%s multilang --component %s",
		shellQuote(bin), shellQuote(bin), shellQuote(component))}
}

// shellQuote quotes s for sh unless it is plainly safe.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.+/=:", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// YAML returns the Flux YAML running topology name (definition d) from the
// binary bin, or every reason it cannot run on Storm that way.
func YAML(name, bin string, d *topology.Definition) ([]byte, error) {
	if err := Check(d); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, fmt.Errorf("storm-package: the topology has no name")
	}
	conf, err := yamlConf(d.Conf, "topology config")
	if err != nil {
		return nil, err
	}
	ft := fluxTopology{Name: name, Config: conf}
	for _, id := range slices.Sorted(maps.Keys(d.Spouts)) {
		c, err := component(bin, d.Spouts[id], ClassShellSpout)
		if err != nil {
			return nil, err
		}
		ft.Spouts = append(ft.Spouts, c)
	}
	for _, id := range slices.Sorted(maps.Keys(d.Bolts)) {
		c := d.Bolts[id]
		fc, err := component(bin, c, ClassShellBolt)
		if err != nil {
			return nil, err
		}
		ft.Bolts = append(ft.Bolts, fc)
		for _, in := range c.Inputs {
			s := fluxStream{Name: in.Component + " --> " + id, From: in.Component, To: id,
				Grouping: fluxGrouping{Type: fluxGroupings[in.Grouping.Type], StreamID: in.Stream}}
			switch in.Grouping.Type {
			case topology.GroupFields:
				s.Grouping.Args = in.Grouping.Fields
			case topology.GroupPartialKey:
				ref := fmt.Sprintf("partial-key-fields-%d", len(ft.Components)+1)
				ft.Components = append(ft.Components, fluxObject{ID: ref, ClassName: ClassFields, ConstructorArgs: []any{[]string(in.Grouping.Fields)}})
				s.Grouping.CustomClass = &fluxClass{ClassName: ClassPartialKeyGrouping, ConstructorArgs: []any{map[string]string{"ref": ref}}}
			}
			ft.Streams = append(ft.Streams, s)
		}
	}
	out, err := yaml.Marshal(ft)
	if err != nil {
		return nil, fmt.Errorf("storm-package: encode the Flux YAML: %w", err)
	}
	header := fmt.Sprintf("# Flux topology %q generated by `%s storm-package`: every component runs the\n"+
		"# topology binary resources/%s as a Storm multilang subprocess.\n", name, bin, bin)
	return append([]byte(header), out...), nil
}

// component is the Flux entry of one spout or bolt: the multilang command
// and its default stream's fields as constructor arguments, named streams
// and the component's configuration as config methods.
func component(bin string, c *topology.ComponentDef, class string) (fluxComponent, error) {
	fc := fluxComponent{ID: c.ID, ClassName: class, Parallelism: max(c.Parallelism, 1), NumTasks: c.NumTasks}
	fc.ConstructorArgs = []any{Command(bin, c.ID)}
	if c.Shell != nil {
		// A shell component of the SDK runs its own command, in the same
		// resources dir (its files must be packaged there).
		fc.ConstructorArgs = []any{c.Shell.Command}
	}
	if def, ok := c.Outputs[topology.DefaultStream]; ok {
		fc.ConstructorArgs = append(fc.ConstructorArgs, []string(def.Fields))
	}
	for _, stream := range slices.Sorted(maps.Keys(c.Outputs)) {
		if stream != topology.DefaultStream {
			fc.ConfigMethods = append(fc.ConfigMethods, fluxConfigMethod{Name: "setNamedStream", Args: []any{stream, []string(c.Outputs[stream].Fields)}})
		}
	}
	conf, err := yamlConf(c.Conf, fmt.Sprintf("component %q's config", c.ID))
	if err != nil {
		return fc, err
	}
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		fc.ConfigMethods = append(fc.ConfigMethods, fluxConfigMethod{Name: "addComponentConfig", Args: []any{k, conf[k]}})
	}
	return fc, nil
}

// yamlConf checks that conf's values are what Flux can carry (YAML scalars,
// lists and maps; no nulls, which Flux refuses as arguments).
func yamlConf(conf map[string]any, what string) (map[string]any, error) {
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		if err := carriable(conf[k]); err != nil {
			return nil, fmt.Errorf("storm-package: %s key %q: %w", what, k, err)
		}
	}
	return conf, nil
}

func carriable(v any) error {
	switch x := v.(type) {
	case nil:
		return fmt.Errorf("a null value cannot be passed by Flux (it refuses null arguments); remove the key")
	case string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return nil
	case []any:
		for _, e := range x {
			if err := carriable(e); err != nil {
				return err
			}
		}
		return nil
	case []string:
		return nil
	case map[string]any:
		for _, e := range x {
			if err := carriable(e); err != nil {
				return err
			}
		}
		return nil
	default:
		return fmt.Errorf("a %T cannot be written to Flux YAML; use strings, numbers, booleans, lists or maps", v)
	}
}

// Check returns every reason d cannot run on Storm as multilang components,
// each naming its component and what to do.
func Check(d *topology.Definition) error {
	if d == nil {
		return fmt.Errorf("storm-package: no topology")
	}
	var problems []string
	for _, comps := range []map[string]*topology.ComponentDef{d.Spouts, d.Bolts} {
		for _, id := range slices.Sorted(maps.Keys(comps)) {
			problems = append(problems, checkComponent(comps[id])...)
		}
	}
	problems = append(problems, checkConsumers(d)...)
	if len(problems) > 0 {
		return fmt.Errorf("storm-package: the topology cannot run on Apache Storm as multilang components:\n  - %s", strings.Join(problems, "\n  - "))
	}
	return nil
}

func checkComponent(c *topology.ComponentDef) []string {
	var problems []string
	for _, stream := range slices.Sorted(maps.Keys(c.Outputs)) {
		if len(c.Outputs[stream].Fields) == 0 {
			problems = append(problems, fmt.Sprintf("component %q: stream %q has no fields; Flux cannot pass an empty field list to FluxShellSpout/FluxShellBolt (it fails on an empty list): declare at least one field", c.ID, stream))
		}
	}
	for _, in := range c.Inputs {
		if _, ok := fluxGroupings[in.Grouping.Type]; !ok {
			what := in.Grouping.Type
			if in.Grouping.Type == topology.GroupCustom {
				what = fmt.Sprintf("custom grouping %q implemented in Go", in.Grouping.Custom)
			}
			problems = append(problems, fmt.Sprintf("bolt %q subscribes to %s/%s with a %s: Storm needs a Java CustomStreamGrouping class for it; use one of Storm's groupings (shuffle, fields, partial key, all, global, none, direct, local-or-shuffle)", c.ID, in.Component, in.Stream, what))
		}
	}
	return problems
}
