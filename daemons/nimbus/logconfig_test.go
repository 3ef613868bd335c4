package nimbus

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
)

// TestSetLogConfigMerges: Storm's merge: earlier entries become UNCHANGED,
// an UPDATE with a timeout gets its end time in ms from nimbus's clock, a
// REMOVE drops the entry; bad requests and unknown ids are refused.
func TestSetLogConfigMerges(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700)
	id := e.submit("wc", nil)
	ctx := context.Background()
	if c, err := e.n.LogConfig(ctx, id); err != nil || len(c.NamedLoggers) != 0 {
		t.Fatalf("fresh log config %+v %v, want empty", c, err)
	}
	err := e.n.SetLogConfig(ctx, id, map[string]cluster.LogLevel{
		"ROOT":  {Action: cluster.LogLevelUpdate, TargetLevel: "debug", ResetTimeoutSecs: 30},
		"count": {Action: cluster.LogLevelUpdate, TargetLevel: "WARN"},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.state.TopologyLogConfig(id, nil)
	if err != nil || c == nil {
		t.Fatalf("stored %+v %v", c, err)
	}
	root := c.NamedLoggers["ROOT"]
	if root.Action != cluster.LogLevelUpdate || root.TargetLevel != "DEBUG" || root.ResetTimeoutEpochMillis != testStart.UnixMilli()+30000 {
		t.Errorf("ROOT %+v, want UPDATE DEBUG ending at %d", root, testStart.UnixMilli()+30000)
	}
	if cl := c.NamedLoggers["count"]; cl.ResetTimeoutEpochMillis != 0 || cl.TargetLevel != "WARN" {
		t.Errorf("count %+v", cl)
	}
	if err := e.n.SetLogConfig(ctx, id, map[string]cluster.LogLevel{"count": {Action: cluster.LogLevelRemove}}); err != nil {
		t.Fatal(err)
	}
	c, _ = e.state.TopologyLogConfig(id, nil)
	if _, ok := c.NamedLoggers["count"]; ok || c.NamedLoggers["ROOT"].Action != cluster.LogLevelUnchanged {
		t.Errorf("after REMOVE count: %+v, want ROOT UNCHANGED only", c.NamedLoggers)
	}
	for name, levels := range map[string]map[string]cluster.LogLevel{
		"empty name":    {"": {Action: cluster.LogLevelUpdate, TargetLevel: "INFO"}},
		"unknown level": {"ROOT": {Action: cluster.LogLevelUpdate, TargetLevel: "LOUD"}},
		"bad action":    {"ROOT": {Action: "SHOUT", TargetLevel: "INFO"}},
	} {
		if err := e.n.SetLogConfig(ctx, id, levels); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if err := e.n.SetLogConfig(ctx, "nope-1-1", nil); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
	if _, err := e.n.LogConfig(ctx, "nope-1-1"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("LogConfig of an unknown id: %v, want ErrNotFound", err)
	}
}

// TestLogConfigREST: Storm UI's GET/POST /api/v1/topology/<id>/logconfig in
// Storm's shape, behind the API's guard.
func TestLogConfigREST(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700)
	id := e.submit("wc", nil)
	h := e.n.Handler()
	path := api.PathTopology + id + "/logconfig"
	body := `{"namedLoggerLevels":{"ROOT":{"target_level":"DEBUG","timeout":30},"count":{"target_level":"ERROR"}}}`
	status, msg, w := serve(t, h, apiRequest{method: "POST", path: path, header: jsonType, body: body})
	if status != http.StatusOK {
		t.Fatalf("POST: %d %s", status, msg)
	}
	var page api.LogConfigPage
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
		t.Fatal(err)
	}
	root := page.NamedLoggerLevels["ROOT"]
	if root.TargetLevel == nil || *root.TargetLevel != "DEBUG" || root.Timeout != 30 || root.TimeoutEpoch != testStart.UnixMilli()+30000 {
		t.Errorf("ROOT %+v", root)
	}
	// Storm's shape: every entry has target_level, timeout and timeout_epoch.
	for _, key := range []string{`"namedLoggerLevels"`, `"target_level":"ERROR"`, `"timeout":0`, `"timeout_epoch":0`} {
		if !strings.Contains(w.Body.String(), key) {
			t.Errorf("answer %s lacks %s", w.Body.String(), key)
		}
	}
	// A null target_level removes the entry.
	if status, msg, _ := serve(t, h, apiRequest{method: "POST", path: path, header: jsonType, body: `{"namedLoggerLevels":{"count":{"target_level":null}}}`}); status != http.StatusOK {
		t.Fatalf("POST remove: %d %s", status, msg)
	}
	status, _, w = serve(t, h, apiRequest{method: "GET", path: path})
	page = api.LogConfigPage{}
	if err := json.Unmarshal(w.Body.Bytes(), &page); status != http.StatusOK || err != nil {
		t.Fatalf("GET: %d %v", status, err)
	}
	if _, ok := page.NamedLoggerLevels["count"]; ok || page.NamedLoggerLevels["ROOT"].TargetLevel == nil {
		t.Errorf("after removing count: %+v", page.NamedLoggerLevels)
	}
	for _, tc := range []struct {
		name string
		req  apiRequest
		want int
	}{
		{"cross-origin", apiRequest{method: "POST", path: path, header: map[string]string{"Content-Type": api.ContentTypeJSON, "Origin": "http://evil.example"}, body: body}, http.StatusForbidden},
		{"not JSON", apiRequest{method: "POST", path: path, header: map[string]string{"Content-Type": "text/plain"}, body: body}, http.StatusUnsupportedMediaType},
		{"bad level", apiRequest{method: "POST", path: path, header: jsonType, body: `{"namedLoggerLevels":{"ROOT":{"target_level":"LOUD"}}}`}, http.StatusBadRequest},
		{"unknown topology GET", apiRequest{method: "GET", path: api.PathTopology + "nope-1-1/logconfig"}, http.StatusNotFound},
		{"unknown topology POST", apiRequest{method: "POST", path: api.PathTopology + "nope-1-1/logconfig", header: jsonType, body: body}, http.StatusNotFound},
	} {
		if status, msg, _ := serve(t, h, tc.req); status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, status, msg, tc.want)
		}
	}
}

// TestOpenCodePath: the code is downloadable by Storm's path (the
// assignment's codeDir and stormjar.jar); other paths are refused.
func TestOpenCodePath(t *testing.T) {
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700)
	id := e.submit("wc", nil)
	e.advance(0)
	a, err := e.state.AssignmentInfo(id, nil)
	if err != nil || a == nil {
		t.Fatalf("assignment %v %v", a, err)
	}
	r, err := e.n.OpenCodePath(context.Background(), filepath.Join(a.CodeDir, "stormjar.jar"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	want, err := e.n.OpenCode(context.Background(), id, api.CodeFileBinary)
	if err != nil {
		t.Fatal(err)
	}
	wantBytes, _ := io.ReadAll(want)
	want.Close()
	if len(got) == 0 || string(got) != string(wantBytes) {
		t.Errorf("stormjar.jar is %d bytes, want the code's %d", len(got), len(wantBytes))
	}
	for _, p := range []string{
		filepath.Join(filepath.Dir(a.CodeDir), "nope-1-1", "stormjar.jar"),
		filepath.Join(a.CodeDir, "secret.txt"),
		"/etc/passwd",
		filepath.Join(a.CodeDir, "..", "..", "x", "stormjar.jar"),
	} {
		if r, err := e.n.OpenCodePath(context.Background(), p); err == nil {
			r.Close()
			t.Errorf("OpenCodePath(%s) opened", p)
		}
	}
}

// TestExecutorStreamStats: per executor, window and stream, from the same
// heartbeats as the pages.
func TestExecutorStreamStats(t *testing.T) {
	e, id, _ := stormUIEnv(t)
	all, err := e.n.ExecutorStreamStats(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var spout, bolt *api.ExecutorStreamStats
	for i := range all {
		switch all[i].Component {
		case "words":
			spout = &all[i]
		case "count":
			bolt = &all[i]
		}
	}
	if spout == nil || !spout.Spout || spout.Windows[api.WindowAllTime].Emitted["__ack_init"] != 100 || spout.Windows[api.WindowAllTime].Acked["default"] != 40 ||
		spout.Windows[api.WindowAllTime].CompleteLatencyMs != 2 {
		t.Errorf("spout %+v", spout)
	}
	if bolt == nil || bolt.Spout || bolt.Windows[api.WindowAllTime].Executed["default"] != 50 || bolt.Windows[api.WindowAllTime].ExecuteLatencyMs != 0.5 {
		t.Errorf("bolt %+v", bolt)
	}
	if _, err := e.n.ExecutorStreamStats(context.Background(), "nope-1-1"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
}
