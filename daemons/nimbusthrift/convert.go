package nimbusthrift

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
	"github.com/localstorm/localstorm/topology"
)

// GoComponentClass is the class name a Go component (one of a topology
// binary's registered spouts and bolts) is given in a StormTopology: it has
// no Java class, and its one argument is its component id.
const GoComponentClass = "org.localstorm.GoComponent"

// Class names of the groupings that Storm's Grouping union has no field for.
const (
	partialKeyGroupingClass = "org.apache.storm.grouping.PartialKeyGrouping"
)

// componentList is "a,b,c": the topology's components, sorted, as Storm
// lists them in a rebalance error.
func componentList(def *topology.Definition) string {
	ids := slices.Sorted(maps.Keys(def.Spouts))
	ids = append(ids, slices.Sorted(maps.Keys(def.Bolts))...)
	slices.Sort(ids)
	return strings.Join(ids, ",")
}

// toStormTopology turns a definition into Storm's StormTopology; with
// ackers > 0 the acker bolt Storm adds is there too (getTopology).
func toStormTopology(def *topology.Definition, ackers int) (*storm.StormTopology, error) {
	out := &storm.StormTopology{
		Spouts: map[string]*storm.SpoutSpec{}, Bolts: map[string]*storm.Bolt{}, StateSpouts: map[string]*storm.StateSpoutSpec{},
	}
	for id, c := range def.Spouts {
		common, err := componentCommon(c)
		if err != nil {
			return nil, err
		}
		out.Spouts[id] = &storm.SpoutSpec{SpoutObject: componentObject(id, c), Common: common}
	}
	for id, c := range def.Bolts {
		common, err := componentCommon(c)
		if err != nil {
			return nil, err
		}
		out.Bolts[id] = &storm.Bolt{BoltObject: componentObject(id, c), Common: common}
	}
	if ackers > 0 {
		out.Bolts[topology.AckerComponent] = ackerBolt(def, ackers)
	}
	return out, nil
}

func componentObject(id string, c *topology.ComponentDef) *storm.ComponentObject {
	switch {
	case c.Shell != nil && len(c.Shell.Command) > 0:
		script := strings.Join(c.Shell.Command[1:], " ")
		return &storm.ComponentObject{Shell: &storm.ShellComponent{ExecutionCommand: c.Shell.Command[0], Script: script}}
	case c.Class != "":
		return &storm.ComponentObject{JavaObject: &storm.JavaObject{FullClassName: c.Class, ArgsList: []*storm.JavaObjectArg{}}}
	}
	arg := id
	return &storm.ComponentObject{JavaObject: &storm.JavaObject{FullClassName: GoComponentClass, ArgsList: []*storm.JavaObjectArg{{StringArg: &arg}}}}
}

func componentCommon(c *topology.ComponentDef) (*storm.ComponentCommon, error) {
	common := &storm.ComponentCommon{Inputs: map[*storm.GlobalStreamId]*storm.Grouping{}, Streams: map[string]*storm.StreamInfo{}}
	for _, in := range c.Inputs {
		stream := in.Stream
		if stream == "" {
			stream = topology.DefaultStream
		}
		common.Inputs[&storm.GlobalStreamId{ComponentId: in.Component, StreamId: stream}] = toGrouping(in.Grouping)
	}
	for sid, s := range c.Outputs {
		common.Streams[sid] = &storm.StreamInfo{OutputFields: append([]string{}, s.Fields...), Direct: s.Direct}
	}
	p := int32(c.Parallelism)
	common.ParallelismHint = &p
	conf := map[string]any{}
	maps.Copy(conf, c.Conf)
	if c.NumTasks > 0 {
		conf[config.TopologyTasks] = c.NumTasks
	}
	if len(conf) > 0 {
		b, err := json.Marshal(conf)
		if err != nil {
			return nil, err
		}
		s := string(b)
		common.JSONConf = &s
	}
	return common, nil
}

func toGrouping(g topology.Grouping) *storm.Grouping {
	switch g.Type {
	case topology.GroupFields:
		return &storm.Grouping{Fields: append([]string{}, g.Fields...)}
	case topology.GroupGlobal:
		return &storm.Grouping{Fields: []string{}}
	case topology.GroupAll:
		return &storm.Grouping{All: &storm.NullStruct{}}
	case topology.GroupNone:
		return &storm.Grouping{None: &storm.NullStruct{}}
	case topology.GroupDirect:
		return &storm.Grouping{Direct: &storm.NullStruct{}}
	case topology.GroupLocalOrShuffle:
		return &storm.Grouping{LocalOrShuffle: &storm.NullStruct{}}
	case topology.GroupPartialKey:
		return &storm.Grouping{CustomObject: &storm.JavaObject{FullClassName: partialKeyGroupingClass, ArgsList: stringArgs(g.Fields)}}
	case topology.GroupCustom:
		return &storm.Grouping{CustomObject: &storm.JavaObject{FullClassName: g.Custom, ArgsList: []*storm.JavaObjectArg{}}}
	}
	return &storm.Grouping{Shuffle: &storm.NullStruct{}}
}

func stringArgs(ss []string) []*storm.JavaObjectArg {
	out := []*storm.JavaObjectArg{}
	for _, s := range ss {
		out = append(out, &storm.JavaObjectArg{StringArg: &s})
	}
	return out
}

// ackerBolt is the __acker bolt Storm adds to a topology: it subscribes to
// the ack streams of every component, grouped by the tuple's root id.
func ackerBolt(def *topology.Definition, ackers int) *storm.Bolt {
	common := &storm.ComponentCommon{Inputs: map[*storm.GlobalStreamId]*storm.Grouping{}, Streams: map[string]*storm.StreamInfo{}}
	for id := range def.Spouts {
		common.Inputs[&storm.GlobalStreamId{ComponentId: id, StreamId: topology.AckInitStream}] = &storm.Grouping{Fields: []string{"id"}}
	}
	for id := range def.Bolts {
		common.Inputs[&storm.GlobalStreamId{ComponentId: id, StreamId: topology.AckAckStream}] = &storm.Grouping{Fields: []string{"id"}}
		common.Inputs[&storm.GlobalStreamId{ComponentId: id, StreamId: topology.AckFailStream}] = &storm.Grouping{Fields: []string{"id"}}
	}
	common.Streams[topology.AckAckStream] = &storm.StreamInfo{OutputFields: []string{"id", "time-delta-ms"}, Direct: true}
	common.Streams[topology.AckFailStream] = &storm.StreamInfo{OutputFields: []string{"id", "time-delta-ms"}, Direct: true}
	p := int32(ackers)
	common.ParallelismHint = &p
	return &storm.Bolt{BoltObject: &storm.ComponentObject{JavaObject: &storm.JavaObject{FullClassName: "org.apache.storm.daemon.Acker", ArgsList: []*storm.JavaObjectArg{}}}, Common: common}
}
