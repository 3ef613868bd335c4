package nimbus

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/topology"
)

// TestDebugStoresComponentDebug drives Storm UI's debug actions and checks
// the storm base's component debug map, merged as Storm's updateStorm does.
func TestDebugStoresComponentDebug(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700)
	id := e.submit("wc", nil)
	ctx := t.Context()
	c := api.NewClient(e.n.APIURL())
	debugOf := func() map[string]cluster.DebugOptions {
		t.Helper()
		base, err := e.state.StormBase(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		return base.ComponentDebug
	}
	if err := c.Debug(ctx, id, "", true, 10); err != nil {
		t.Fatal(err)
	}
	if err := c.Debug(ctx, id, "count", true, 250); err != nil {
		t.Fatal(err)
	}
	want := map[string]cluster.DebugOptions{id: {Enable: true, SamplingPct: 10}, "count": {Enable: true, SamplingPct: 100}}
	if got := debugOf(); !reflect.DeepEqual(got, want) {
		t.Errorf("after enabling: %v, want %v (the percentage bounded to 100)", got, want)
	}
	if info, err := c.Topology(ctx, id); err != nil || !info.Debug {
		t.Errorf("topology page debug = %v (%v), want true", info != nil && info.Debug, err)
	}
	code, page := rawJSON(t, http.MethodGet, e.n.APIURL()+api.PathTopology+id+"/component/count")
	if code != 200 || page["debug"] != true || page["samplingPct"] != 100.0 {
		t.Errorf("component page: %d debug %v samplingPct %v", code, page["debug"], page["samplingPct"])
	}
	// Disabling keeps the percentage; enabling again adds to it (Storm's merge).
	if err := c.Debug(ctx, id, "", false, 50); err != nil {
		t.Fatal(err)
	}
	if got := debugOf()[id]; got != (cluster.DebugOptions{Enable: false, SamplingPct: 10}) {
		t.Errorf("after disabling: %v", got)
	}
	if err := c.Debug(ctx, id, "", true, 5); err != nil {
		t.Fatal(err)
	}
	if got := debugOf()[id]; got != (cluster.DebugOptions{Enable: true, SamplingPct: 15}) {
		t.Errorf("after enabling again: %v, want 10+5 as Storm sums", got)
	}
	if err := c.Debug(ctx, id, "nope", true, 10); !errors.Is(err, api.ErrNotFound) || !strings.Contains(err.Error(), "count") {
		t.Errorf("unknown component: %v, want not found listing the components", err)
	}
	if err := c.Debug(ctx, "nope-1-1", "", true, 10); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("unknown topology: %v", err)
	}
	// The raw reply and the bad requests.
	var m map[string]any
	code, m = rawJSON(t, http.MethodPost, e.n.APIURL()+api.PathTopology+id+"/component/count/debug/disable/0")
	if code != 200 || m["topologyOperation"] != "debug/disable" || m["topologyId"] != id || m["status"] != "success" {
		t.Errorf("reply %d %v", code, m)
	}
	for _, path := range []string{"/debug/on/10", "/debug/enable/ten"} {
		if code, _ := rawJSON(t, http.MethodPost, e.n.APIURL()+api.PathTopology+id+path); code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", path, code)
		}
	}
	// The CSRF guard: a POST without the JSON content type is refused.
	resp, err := http.Post(e.n.APIURL()+api.PathTopology+id+"/debug/enable/10", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain POST: status %d, want 415", resp.StatusCode)
	}
}

func TestUnknownMetricsConsumerRefusedAtSubmit(t *testing.T) {
	e := newEnv(t, nil)
	req := e.upload("wc", []byte("code"))
	req.Conf = map[string]any{topology.MetricsConsumerRegisterKey: []any{map[string]any{"class": "com.example.Nope"}}}
	_, err := e.n.Submit(t.Context(), req)
	if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), `"com.example.Nope"`) || !strings.Contains(err.Error(), topology.LoggingMetricsConsumerClass) {
		t.Errorf("submit with an unknown consumer: %v", err)
	}
	// A class the topology's binary registered travels in its definition.
	req.Definition.MetricsConsumers = []string{"com.example.Nope"}
	if _, err := e.n.Submit(t.Context(), req); err != nil {
		t.Errorf("submit with a consumer its binary registered: %v", err)
	}
}
