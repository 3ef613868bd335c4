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

// MaxTasks bounds a component's parallelism and number of tasks: far above
// what one machine runs, low enough that a corrupt definition cannot make
// nimbus or a worker allocate without limit.
const MaxTasks = 100_000

// Validate checks the definition as Storm's validate-structure and
// validate-ids! do, and a little more: every error names its component, and
// all are returned together.
func (d *Definition) Validate() error {
	var errs *multierror.Error
	add := func(format string, args ...any) { errs = multierror.Append(errs, fmt.Errorf(format, args...)) }
	if len(d.Spouts) == 0 {
		add("topology has no spout: declare at least one with SetSpout")
	}
	kinds := map[string]string{}
	for _, kind := range []string{"spout", "bolt"} {
		comps := d.Spouts
		if kind == "bolt" {
			comps = d.Bolts
		}
		for _, id := range slices.Sorted(maps.Keys(comps)) {
			c := comps[id]
			if c == nil {
				add("%s %q: definition is nil", kind, id)
				continue
			}
			if prev, dup := kinds[id]; dup {
				add("%s %q: id already used by a %s (ids are shared by spouts and bolts)", kind, id, prev)
			}
			kinds[id] = kind
			if c.ID != "" && c.ID != id {
				add("%s %q: definition says its id is %q", kind, id, c.ID)
			}
			if id == "" {
				add("%s with an empty id: give every component a non-empty id", kind)
			} else if IsSystemID(id) {
				add("%s %q: ids starting with \"__\" are reserved for system components", kind, id)
			}
			if c.Parallelism < 1 {
				add("%s %q: parallelism %d must be at least 1", kind, id, c.Parallelism)
			}
			if c.NumTasks < 0 {
				add("%s %q: number of tasks %d must not be negative (0 means one per executor)", kind, id, c.NumTasks)
			}
			if c.Parallelism > MaxTasks || c.NumTasks > MaxTasks {
				add("%s %q: parallelism %d / number of tasks %d: at most %d each", kind, id, c.Parallelism, c.NumTasks, MaxTasks)
			}
			if kind == "spout" && len(c.Inputs) > 0 {
				add("spout %q: spouts cannot subscribe to streams", id)
			}
			if c.Shell != nil && len(c.Shell.Command) == 0 {
				add("%s %q: shell component without a command", kind, id)
			}
		}
	}
	// Windows against the definition's own configuration; nimbus checks
	// them again against the merged one (ValidateWindows).
	errs = errlist.Append(errs, ValidateWindows(d, d.Conf))
	for _, id := range slices.Sorted(maps.Keys(d.Bolts)) {
		c := d.Bolts[id]
		if c == nil {
			continue
		}
		for _, in := range c.Inputs {
			errs = errlist.AppendPrefixed(errs, "bolt "+strconv.Quote(id), d.validateInput(in))
		}
	}
	return errlist.Err(errs)
}

// component returns the spout or bolt id.
func (d *Definition) component(id string) *ComponentDef {
	if c := d.Spouts[id]; c != nil {
		return c
	}
	return d.Bolts[id]
}

// validateInput checks one subscription against its source's declared streams.
func (d *Definition) validateInput(in InputDef) error {
	src := d.component(in.Component)
	if src == nil {
		return fmt.Errorf("subscribes to unknown component %q", in.Component)
	}
	stream, ok := src.Outputs[in.Stream]
	if !ok {
		return fmt.Errorf("subscribes to stream %q of %q, which %q does not declare (declared: %s)",
			in.Stream, in.Component, in.Component, strings.Join(slices.Sorted(maps.Keys(src.Outputs)), ", "))
	}
	g := in.Grouping
	switch g.Type {
	case GroupFields, GroupPartialKey:
		if g.Type == GroupFields && len(g.Fields) == 0 {
			return fmt.Errorf("%s grouping on %s/%s names no field", g.Type, in.Component, in.Stream)
		}
		for _, f := range g.Fields {
			if stream.Fields.Index(f) < 0 {
				return fmt.Errorf("%s grouping on field %q, which stream %s/%s does not declare (fields: %s)",
					g.Type, f, in.Component, in.Stream, strings.Join(stream.Fields, ", "))
			}
		}
	case GroupCustom:
		if !groupingRegistered(g.Custom) {
			return fmt.Errorf("custom grouping %q on %s/%s is not registered (RegisterGrouping)", g.Custom, in.Component, in.Stream)
		}
	case GroupShuffle, GroupLocalOrShuffle, GroupAll, GroupGlobal, GroupNone, GroupDirect:
	default:
		return fmt.Errorf("unknown grouping type %q on %s/%s", g.Type, in.Component, in.Stream)
	}
	if g.Type == GroupDirect && !stream.Direct {
		return fmt.Errorf("direct grouping on %s/%s, which is not declared direct", in.Component, in.Stream)
	}
	if g.Type != GroupDirect && stream.Direct {
		return fmt.Errorf("%s grouping on %s/%s, which is declared direct (use a direct grouping)", g.Type, in.Component, in.Stream)
	}
	return nil
}
