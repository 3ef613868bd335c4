package shell

import (
	"sort"
	"strconv"

	"github.com/localstorm/localstorm/topology"
)

// handshake is the first message to a subprocess.
type handshake struct {
	Conf    map[string]any   `json:"conf"`
	PidDir  string           `json:"pidDir"`
	Context handshakeContext `json:"context"`
}

// handshakeContext is Storm's TopologyContext.toJSONString.
type handshakeContext struct {
	TaskToComponent    map[string]string                     `json:"task->component"`
	TaskID             int                                   `json:"taskid"`
	ComponentID        string                                `json:"componentid"`
	Streams            []string                              `json:"streams"`
	StreamOutputFields map[string]topology.Fields            `json:"stream->outputfields"`
	StreamTargetGroup  map[string]map[string]groupingJSON    `json:"stream->target->grouping"`
	SourceStreamGroup  map[string]map[string]groupingJSON    `json:"source->stream->grouping"`
	SourceStreamFields map[string]map[string]topology.Fields `json:"source->stream->fields"`
}

// groupingJSON is a grouping as Storm's context shows it: the Thrift field
// name of the grouping, and the fields of a fields grouping.
type groupingJSON struct {
	Type   string          `json:"type"`
	Fields topology.Fields `json:"fields,omitempty"`
}

func thriftGrouping(g topology.Grouping) groupingJSON {
	switch g.Type {
	case topology.GroupFields:
		return groupingJSON{Type: "FIELDS", Fields: g.Fields}
	case topology.GroupGlobal:
		// Storm's global grouping is a fields grouping on no field.
		return groupingJSON{Type: "FIELDS", Fields: topology.Fields{}}
	case topology.GroupShuffle:
		return groupingJSON{Type: "SHUFFLE"}
	case topology.GroupLocalOrShuffle:
		return groupingJSON{Type: "LOCAL_OR_SHUFFLE"}
	case topology.GroupAll:
		return groupingJSON{Type: "ALL"}
	case topology.GroupNone:
		return groupingJSON{Type: "NONE"}
	case topology.GroupDirect:
		return groupingJSON{Type: "DIRECT"}
	case topology.GroupPartialKey:
		return groupingJSON{Type: "CUSTOM_SERIALIZED"}
	default:
		return groupingJSON{Type: "CUSTOM_OBJECT"}
	}
}

// newHandshake builds the setup message for the task of ctx.
func newHandshake(ctx *topology.Context, conf map[string]any, outputs map[string]topology.StreamDef) handshake {
	hc := handshakeContext{
		TaskToComponent:    map[string]string{},
		TaskID:             ctx.TaskID,
		ComponentID:        ctx.ComponentID,
		Streams:            []string{},
		StreamOutputFields: map[string]topology.Fields{},
		StreamTargetGroup:  map[string]map[string]groupingJSON{},
		SourceStreamGroup:  map[string]map[string]groupingJSON{},
		SourceStreamFields: map[string]map[string]topology.Fields{},
	}
	for task, comp := range ctx.TaskToComponent {
		hc.TaskToComponent[strconv.Itoa(task)] = comp
	}
	for stream, def := range outputs {
		hc.Streams = append(hc.Streams, stream)
		hc.StreamOutputFields[stream] = nonNil(def.Fields)
	}
	sort.Strings(hc.Streams)
	if d := ctx.Definition; d != nil {
		for _, comps := range []map[string]*topology.ComponentDef{d.Spouts, d.Bolts} {
			for id, c := range comps {
				if c == nil {
					continue
				}
				for _, in := range c.Inputs {
					if in.Component == ctx.ComponentID {
						if hc.StreamTargetGroup[in.Stream] == nil {
							hc.StreamTargetGroup[in.Stream] = map[string]groupingJSON{}
						}
						hc.StreamTargetGroup[in.Stream][id] = thriftGrouping(in.Grouping)
					}
					if id == ctx.ComponentID {
						if hc.SourceStreamGroup[in.Component] == nil {
							hc.SourceStreamGroup[in.Component] = map[string]groupingJSON{}
							hc.SourceStreamFields[in.Component] = map[string]topology.Fields{}
						}
						hc.SourceStreamGroup[in.Component][in.Stream] = thriftGrouping(in.Grouping)
						var fields topology.Fields
						if src := d.Spouts[in.Component]; src != nil {
							fields = src.Outputs[in.Stream].Fields
						} else if src := d.Bolts[in.Component]; src != nil {
							fields = src.Outputs[in.Stream].Fields
						}
						hc.SourceStreamFields[in.Component][in.Stream] = nonNil(fields)
					}
				}
			}
		}
	}
	if conf == nil {
		conf = map[string]any{}
	}
	return handshake{Conf: conf, PidDir: ctx.PidDir, Context: hc}
}

func nonNil(f topology.Fields) topology.Fields {
	if f == nil {
		return topology.Fields{}
	}
	return f
}
