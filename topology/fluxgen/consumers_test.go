package fluxgen

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/topology"
)

const goConsumer = "com.example.fluxgen.GoConsumer"

// consumerTopology registers Storm's logging consumer, and also the Go
// consumer when withGo.
func consumerTopology(t *testing.T, withGo bool) *topology.Definition {
	t.Helper()
	if err := topology.RegisterMetricsConsumer(goConsumer, func(topology.MetricsConsumerEnv) (topology.MetricsConsumer, error) {
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	regs := []any{map[string]any{"class": topology.LoggingMetricsConsumerClass, "parallelism.hint": 2, "argument": "x"}}
	if withGo {
		regs = append(regs, map[string]any{"class": goConsumer, "parallelism.hint": 1})
	}
	b := topology.NewBuilder()
	b.SetSpout("src", func() topology.Spout {
		return spout{outputs("default", topology.StreamDef{Fields: topology.Fields{"w"}})}
	}, 1)
	b.SetConf(topology.MetricsConsumerRegisterKey, regs)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top.Definition
}

// TestStormConsumersAreCarried: Storm's LoggingMetricsConsumer registration
// is in the YAML's config as Storm reads it (class, parallelism.hint,
// argument) and reads back the same through Flux.
func TestStormConsumersAreCarried(t *testing.T) {
	d := consumerTopology(t, false)
	text, err := YAML("m", "bin", d)
	if err != nil {
		t.Fatal(err)
	}
	checkStormFlux(t, text)
	for _, want := range []string{topology.MetricsConsumerRegisterKey + ":", "class: " + topology.LoggingMetricsConsumerClass, "parallelism.hint: 2"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the YAML lacks %q:\n%s", want, text)
		}
	}
	loaded := loadBack(t, text)
	got, want := loaded.Definition.Conf[topology.MetricsConsumerRegisterKey], d.Conf[topology.MetricsConsumerRegisterKey]
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back %#v, want %#v", got, want)
	}
	if regs, err := topology.MetricsConsumerRegistrations(loaded.Definition.Conf); err != nil || len(regs) != 1 || regs[0].Parallelism != 2 {
		t.Errorf("registrations read back: %+v, %v", regs, err)
	}
}

// TestGoConsumersAreRefused: a consumer implemented in Go is refused with
// the reason and the way out; WithoutLocalConsumers drops it (and only it)
// from a copy.
func TestGoConsumersAreRefused(t *testing.T) {
	d := consumerTopology(t, true)
	_, err := YAML("m", "bin", d)
	for _, want := range []string{`metrics consumer "` + goConsumer + `" is implemented in Go`, "--drop-local-consumers", topology.LoggingMetricsConsumerClass} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
	if got := LocalConsumers(d); !slices.Equal(got, []string{goConsumer}) {
		t.Errorf("LocalConsumers %v", got)
	}
	without, dropped := WithoutLocalConsumers(d)
	if !slices.Equal(dropped, []string{goConsumer}) {
		t.Errorf("dropped %v", dropped)
	}
	if regs := without.Conf[topology.MetricsConsumerRegisterKey].([]any); len(regs) != 1 || regs[0].(map[string]any)["class"] != topology.LoggingMetricsConsumerClass {
		t.Errorf("kept %v, want only Storm's logging consumer", regs)
	}
	if regs := d.Conf[topology.MetricsConsumerRegisterKey].([]any); len(regs) != 2 {
		t.Errorf("the original definition changed: %v", regs)
	}
	if _, err := YAML("m", "bin", without); err != nil {
		t.Errorf("without the Go consumer: %v", err)
	}
}
