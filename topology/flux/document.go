package flux

// The Flux document as localstorm writes it (topology/fluxgen for a
// packaged Go topology, daemons/nimbusthrift for a topology submitted over
// Thrift): Storm's TopologyDef, VertexDef, ObjectDef, ConfigMethodDef,
// StreamDef and GroupingDef, with only the keys Flux's parser knows and
// empty ones left out. Load reads what these write.

// Document is a Flux topology file.
type Document struct {
	Name       string         `yaml:"name"`
	Config     map[string]any `yaml:"config,omitempty"`
	Components []Object       `yaml:"components,omitempty"`
	Spouts     []Component    `yaml:"spouts"`
	Bolts      []Component    `yaml:"bolts,omitempty"`
	Streams    []Stream       `yaml:"streams,omitempty"`
}

// Object is an object Flux makes: a named component (with an ID) or one
// made in place, such as a custom grouping's class (without).
type Object struct {
	ID              string `yaml:"id,omitempty"`
	ClassName       string `yaml:"className"`
	ConstructorArgs []any  `yaml:"constructorArgs,omitempty"`
}

// Component is a spout or a bolt.
type Component struct {
	ID              string         `yaml:"id"`
	ClassName       string         `yaml:"className"`
	ConstructorArgs []any          `yaml:"constructorArgs,omitempty"`
	ConfigMethods   []ConfigMethod `yaml:"configMethods,omitempty"`
	Parallelism     int            `yaml:"parallelism"`
	NumTasks        int            `yaml:"numTasks,omitempty"`
	Config          map[string]any `yaml:"config,omitempty"`
}

// ConfigMethod is a method Flux calls on a component after making it.
type ConfigMethod struct {
	Name string `yaml:"name"`
	Args []any  `yaml:"args"`
}

// Stream subscribes To to From's stream (Grouping.StreamID, default when
// empty).
type Stream struct {
	Name     string   `yaml:"name"`
	From     string   `yaml:"from"`
	To       string   `yaml:"to"`
	Grouping Grouping `yaml:"grouping"`
}

// Grouping is a stream's grouping: Flux's type, its fields for FIELDS, or a
// custom class for CUSTOM.
type Grouping struct {
	Type        string   `yaml:"type"`
	StreamID    string   `yaml:"streamId,omitempty"`
	Args        []string `yaml:"args,omitempty"`
	CustomClass *Object  `yaml:"customClass,omitempty"`
}
