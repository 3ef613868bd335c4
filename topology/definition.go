package topology

// The serialisable definition of a topology (stormtopology.json). Nimbus
// schedules from it; a worker pairs it with the factories of the binary (or of
// Flux) to build component instances.

// DefinitionVersion is the "v" of stormtopology.json.
const DefinitionVersion = 1

// Definition is a whole topology.
type Definition struct {
	V int `json:"v"`
	// Name is the topology name the definition carries, when it has one
	// (a Flux file's `name`); the submitter's name wins.
	Name string `json:"name,omitempty"`
	// Spouts and Bolts are keyed by component id.
	Spouts map[string]*ComponentDef `json:"spouts"`
	Bolts  map[string]*ComponentDef `json:"bolts"`
	// Conf is configuration set by the author in code (topology-wide).
	Conf map[string]any `json:"conf,omitempty"`
	// MetricsConsumers are the metrics consumer classes the topology's
	// binary registered (RegisterMetricsConsumer), besides Storm's logging
	// one, for topology.metrics.consumer.register.
	MetricsConsumers []string `json:"metricsConsumers,omitempty"`
}

// ComponentDef is one spout or bolt.
type ComponentDef struct {
	ID          string `json:"id"`
	Parallelism int    `json:"parallelism"`
	NumTasks    int    `json:"numTasks"`
	// Conf is the component's own configuration (overrides the topology's).
	Conf map[string]any `json:"conf,omitempty"`
	// Inputs are the subscriptions of a bolt.
	Inputs []InputDef `json:"inputs,omitempty"`
	// Outputs maps stream id to its declaration.
	Outputs map[string]StreamDef `json:"outputs"`
	// Shell is set for a multilang component (Flux shell spouts and bolts).
	Shell *ShellDef `json:"shell,omitempty"`
	// Windowed is set for a windowed bolt (SetWindowedBolt); its window is
	// in Conf under Storm's topology.bolts.window.* keys.
	Windowed bool `json:"windowed,omitempty"`
	// Stateful is set for a stateful bolt (SetStatefulBolt): the topology
	// then has the checkpoint spout and the $checkpoint stream.
	Stateful bool `json:"stateful,omitempty"`
	// Class is the Flux class name when the component comes from Flux YAML.
	Class string `json:"class,omitempty"`
}

// StreamDef is a declared output stream.
type StreamDef struct {
	Fields Fields `json:"fields"`
	Direct bool   `json:"direct,omitempty"`
}

// InputDef subscribes a bolt to a stream of another component.
type InputDef struct {
	Component string   `json:"component"`
	Stream    string   `json:"stream"`
	Grouping  Grouping `json:"grouping"`
}

// Grouping types.
const (
	GroupShuffle        = "shuffle"
	GroupLocalOrShuffle = "local_or_shuffle"
	GroupFields         = "fields"
	GroupAll            = "all"
	GroupGlobal         = "global"
	GroupNone           = "none"
	GroupDirect         = "direct"
	GroupPartialKey     = "partial_key"
	GroupCustom         = "custom"
)

// Grouping says how a stream's tuples are spread over a bolt's tasks.
type Grouping struct {
	Type   string `json:"type"`
	Fields Fields `json:"fields,omitempty"` // fields and partial_key
	Custom string `json:"custom,omitempty"` // registered name of a custom grouping
}

// ShellDef runs a component as a multilang subprocess.
type ShellDef struct {
	// Command is the program and its arguments, run in the code dir.
	Command []string `json:"command"`
}
