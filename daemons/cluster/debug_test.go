package cluster

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestStormBaseComponentDebug(t *testing.T) {
	base := &StormBase{Name: "wc", ComponentDebug: map[string]DebugOptions{"wc-1-1": {Enable: true, SamplingPct: 10}}}
	mergeStormBase(base, &StormBase{ComponentDebug: map[string]DebugOptions{"wc-1-1": {Enable: false}, "split": {Enable: true, SamplingPct: 20}}})
	if got := base.ComponentDebug["wc-1-1"]; got != (DebugOptions{Enable: false, SamplingPct: 10}) {
		t.Errorf("disabled topology entry = %+v, want the percentage kept", got)
	}
	if o, ok := base.DebugFor("wc-1-1", "split"); !ok || o != (DebugOptions{Enable: true, SamplingPct: 20}) {
		t.Errorf("split = %+v: its own entry wins", o)
	}
	if o, ok := base.DebugFor("wc-1-1", "count"); !ok || o.Enable {
		t.Errorf("count = %+v: the topology's entry applies", o)
	}
	b, _ := json.Marshal(base)
	if !strings.Contains(string(b), `"componentDebug":{`) || !strings.Contains(string(b), `"samplingpct":20`) {
		t.Errorf("encoding %s", b)
	}
}
