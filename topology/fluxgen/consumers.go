package fluxgen

import (
	"fmt"
	"maps"
	"slices"

	"github.com/localstorm/localstorm/topology"
)

// Metrics consumers at packaging time. Storm reads
// topology.metrics.consumer.register from the topology's configuration (the
// Flux YAML's config) and its workers load each class as Java; a consumer
// implemented in Go (topology.RegisterMetricsConsumer) exists only in
// localstorm, so a package registering one would leave Storm's workers
// failing to load it. Those are refused (or dropped on request); any other
// class, Storm's own (org.apache.storm.metric.LoggingMetricsConsumer) or a
// Java class shipped to the cluster, is carried as written.

// LocalConsumers returns the classes of d's topology.metrics.consumer.register
// that the topology binary implements in Go (d.MetricsConsumers), sorted.
func LocalConsumers(d *topology.Definition) []string {
	var out []string
	for _, r := range consumerEntries(d.Conf) {
		if class, _ := r["class"].(string); slices.Contains(d.MetricsConsumers, class) && class != topology.LoggingMetricsConsumerClass {
			out = append(out, class)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// WithoutLocalConsumers returns a copy of d whose configuration registers
// none of its Go metrics consumers (see LocalConsumers), and the classes it
// dropped; d itself is unchanged. With none to drop it returns d.
func WithoutLocalConsumers(d *topology.Definition) (*topology.Definition, []string) {
	local := LocalConsumers(d)
	if len(local) == 0 {
		return d, nil
	}
	var kept []any
	for _, r := range consumerEntries(d.Conf) {
		if class, _ := r["class"].(string); !slices.Contains(local, class) {
			kept = append(kept, r)
		}
	}
	cp := *d
	cp.Conf = maps.Clone(d.Conf)
	if len(kept) == 0 {
		delete(cp.Conf, topology.MetricsConsumerRegisterKey)
	} else {
		cp.Conf[topology.MetricsConsumerRegisterKey] = kept
	}
	cp.MetricsConsumers = nil
	return &cp, local
}

// consumerEntries are the maps of conf's topology.metrics.consumer.register
// (what is not a map is left to Storm's validation of the carried value).
func consumerEntries(conf map[string]any) []map[string]any {
	list, _ := conf[topology.MetricsConsumerRegisterKey].([]any)
	var out []map[string]any
	for _, item := range list {
		if m, ok := item.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// checkConsumers returns a problem for each Go metrics consumer d registers.
func checkConsumers(d *topology.Definition) []string {
	var problems []string
	for _, class := range LocalConsumers(d) {
		problems = append(problems, fmt.Sprintf("metrics consumer %q is implemented in Go (topology.RegisterMetricsConsumer) and exists only in localstorm: Storm's workers load each class of %s as Java and would fail to load it; "+
			"remove it from the configuration for Storm, or package with --drop-local-consumers (Storm's own consumers, such as %s, are carried)",
			class, topology.MetricsConsumerRegisterKey, topology.LoggingMetricsConsumerClass))
	}
	return problems
}
