package nimbus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/topology"
)

// rawJSON fetches path and decodes it into a generic map, to check the field
// names users see.
func rawJSON(t *testing.T, method, url string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", api.ContentTypeJSON) // as every client must
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s %s: not a JSON object: %v", method, url, err)
	}
	return resp.StatusCode, m
}

func requireKeys(t *testing.T, what string, m any, keys ...string) {
	t.Helper()
	obj, ok := m.(map[string]any)
	if !ok {
		t.Fatalf("%s is %T, want an object", what, m)
	}
	for _, k := range keys {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s has no %q (has %v)", what, k, slices.Sorted(maps.Keys(obj)))
		}
	}
}

func first(t *testing.T, what string, v any) any {
	t.Helper()
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		t.Fatalf("%s is %v, want a non-empty list", what, v)
	}
	return list[0]
}

// TestHTTPAPIRoundTrip drives one topology through the API with the Go
// client and checks the JSON keys of Storm UI's REST API on the raw replies.
// Its steps run in order, each building on the ones before; the first that
// fails ends the test.
func TestHTTPAPIRoundTrip(t *testing.T) {
	e := newEnv(t, map[string]any{MaxUploadBytes: 4096})
	e.addSupervisor("a", 6700, 6701)
	e.addSupervisor("b", 6700)
	ctx := t.Context()
	c := api.NewClient(e.n.APIURL())
	base := e.n.APIURL()

	// What the steps hand on.
	var (
		code       []byte
		upload, id string
		slot       cluster.NodePort
		info       *api.TopologyInfo
	)
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"upload", func(t *testing.T) {
			// Over the size limit or with a wrong checksum it is refused; a good
			// one is kept.
			big := bytes.Repeat([]byte("x"), 5000)
			if _, err := c.Upload(ctx, bytes.NewReader(big), sum(big)); !errors.Is(err, api.ErrTooLarge) || !strings.Contains(err.Error(), MaxUploadBytes) {
				t.Errorf("oversized upload: %v, want 413 naming %s", err, MaxUploadBytes)
			}
			code = []byte("the topology binary")
			if _, err := c.Upload(ctx, bytes.NewReader(code), sum([]byte("other"))); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "checksum mismatch") {
				t.Errorf("upload with a wrong checksum: %v", err)
			}
			var err error
			upload, err = c.Upload(ctx, bytes.NewReader(code), sum(code))
			if err != nil {
				t.Fatal(err)
			}
		}},
		{"submit", func(t *testing.T) {
			// Submit, and a second submit of a live name is a conflict.
			req := api.SubmitRequest{Name: "wc", UploadID: upload, SHA256: sum(code), Kind: api.KindBinary, Definition: wordCount()}
			var err error
			id, err = c.Submit(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Submit(ctx, req); !errors.Is(err, api.ErrConflict) || !strings.Contains(err.Error(), "already alive") {
				t.Errorf("second submit of a live name: %v", err)
			}
		}},
		{"not alive before heartbeats", func(t *testing.T) {
			// Within the launch grace the scheduler counts executors alive, but
			// the API's Alive says whether they heartbeat: not yet.
			if info, err := c.Topology(ctx, id); err != nil || len(info.Spouts) != 1 || info.Spouts[0].ExecutorStats[0].Alive {
				t.Errorf("executors alive before any heartbeat: %+v %v", info, err)
			}
		}},
		{"heartbeats and an error", func(t *testing.T) {
			// Heartbeats with stats, and an error reported by a bolt.
			a, _ := e.state.AssignmentInfo(id, nil)
			slot = onlySlot(t, a)
			hb := &cluster.WorkerHeartbeat{V: 1, TopologyID: id, TimeMillis: 1000, UptimeSecs: 42}
			taskComp := wordCount().TaskToComponent(1)
			for _, ea := range a.Executors {
				eh := cluster.ExecutorHeartbeat{Executor: ea.Executor, Component: taskComp[ea.Executor.Start], UptimeSecs: 42}
				switch eh.Component {
				case "words":
					eh.Stats = spoutBeat(42, 100, 40, 80).Stats
				case "count":
					eh.Stats = cluster.ExecutorStats{Type: "bolt", Executed: map[string]int64{"words:default": 50}, ExecuteLatencyMsSum: 25, Acked: map[string]int64{"words:default": 50}, ProcessLatencyMsSum: 50, Capacity: 0.25}
				}
				hb.Executors = append(hb.Executors, eh)
			}
			if err := e.state.SetWorkerHeartbeat(id, slot.Node, slot.Port, hb); err != nil {
				t.Fatal(err)
			}
			if err := e.state.ReportError(id, "count", "host-a", slot.Port, errors.New("boom")); err != nil {
				t.Fatal(err)
			}
		}},
		{"cluster summary", func(t *testing.T) {
			cs, err := c.ClusterSummary(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if cs.Supervisors != 2 || cs.Topologies != 1 || cs.SlotsTotal != 3 || cs.SlotsUsed != 1 || cs.SlotsFree != 2 || cs.ExecutorsTotal != 6 || cs.TasksTotal != 6 {
				t.Errorf("cluster summary %+v", cs)
			}
			_, raw := rawJSON(t, "GET", base+api.PathClusterSummary)
			requireKeys(t, "cluster/summary", raw, "stormVersion", "supervisors", "topologies", "slotsTotal", "slotsUsed", "slotsFree", "executorsTotal", "tasksTotal")
		}},
		{"supervisor summary", func(t *testing.T) {
			ss, err := c.SupervisorSummary(ctx)
			if err != nil || len(ss.Supervisors) != 2 || ss.Supervisors[0].ID != "a" || ss.Supervisors[0].SlotsTotal != 2 || ss.Supervisors[0].Host != "host-a" {
				t.Errorf("supervisor summary %+v %v", ss, err)
			}
			_, raw := rawJSON(t, "GET", base+api.PathSupervisorSummary)
			requireKeys(t, "supervisor/summary supervisors[0]", first(t, "supervisors", raw["supervisors"]), "id", "host", "uptime", "uptimeSeconds", "slotsTotal", "slotsUsed")
		}},
		{"topology summary", func(t *testing.T) {
			// Topology summary and id by name.
			ts, err := c.TopologySummary(ctx)
			if err != nil || len(ts.Topologies) != 1 || ts.Topologies[0].ID != id || ts.Topologies[0].Status != "ACTIVE" || ts.Topologies[0].WorkersTotal != 1 {
				t.Errorf("topology summary %+v %v", ts, err)
			}
			_, raw := rawJSON(t, "GET", base+api.PathTopologySummary)
			requireKeys(t, "topology/summary topologies[0]", first(t, "topologies", raw["topologies"]), "id", "name", "status", "uptime", "uptimeSeconds", "tasksTotal", "workersTotal", "executorsTotal")
			if got, err := c.TopologyIDByName(ctx, "wc"); err != nil || got != id {
				t.Errorf("id by name: %q %v", got, err)
			}
			if _, err := c.TopologyIDByName(ctx, "nope"); !errors.Is(err, api.ErrNotFound) {
				t.Errorf("id of an unknown name: %v", err)
			}
		}},
		{"topology page", func(t *testing.T) {
			// Topology page: stats, components, workers, windows.
			var err error
			info, err = c.Topology(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(info.TopologyStats) != 4 || info.TopologyStats[3].Window != api.WindowAllTime || info.TopologyStats[3].Acked != 80 || info.TopologyStats[3].Emitted != 200 {
				t.Errorf("topology stats %+v", info.TopologyStats)
			}
			if len(info.Spouts) != 1 || info.Spouts[0].SpoutID != "words" || info.Spouts[0].Executors != 2 || info.Spouts[0].Acked != 80 || info.Spouts[0].CompleteLatency != "2.000" {
				t.Errorf("spouts %+v", info.Spouts)
			}
			var count *api.BoltSummary
			for i := range info.Bolts {
				if info.Bolts[i].BoltID == "count" {
					count = &info.Bolts[i]
				}
			}
			if count == nil || count.Executed != 150 || count.ExecuteLatency != "0.500" || count.Capacity != "0.250" || count.LastError != "boom" || count.ErrorPort == nil || *count.ErrorPort != slot.Port {
				t.Errorf("bolt count %+v", count)
			}
			if len(info.Workers) != 1 || info.Workers[0].Port != slot.Port || info.Workers[0].ComponentNumTasks["count"] != 3 || info.Workers[0].UptimeSeconds != 42 {
				t.Errorf("workers %+v", info.Workers)
			}
			if ex := info.Spouts[0].ExecutorStats; len(ex) != 2 || ex[0].Host != "host-a" && ex[0].Host != "host-b" || ex[0].Port != slot.Port || ex[0].UptimeSeconds != 42 {
				t.Errorf("spout executors %+v", ex)
			}
			for _, b := range info.Bolts {
				for _, ex := range b.ExecutorStats {
					if !ex.Alive {
						t.Errorf("bolt %s executor %s not alive after its heartbeat", b.BoltID, ex.ID)
					}
				}
			}
			if info.MsgTimeout != 30 || info.Configuration["topology.name"] != "wc" {
				t.Errorf("msgTimeout %d configuration %v", info.MsgTimeout, info.Configuration["topology.name"])
			}
			_, raw := rawJSON(t, "GET", base+api.PathTopology+id)
			requireKeys(t, "topology/<id>", raw, "id", "name", "status", "uptime", "uptimeSeconds", "msgTimeout", "windowHint", "topologyStats", "spouts", "bolts", "workers", "configuration", "tasksTotal", "workersTotal", "executorsTotal")
			requireKeys(t, "topologyStats[0]", first(t, "topologyStats", raw["topologyStats"]), "window", "windowPretty", "emitted", "transferred", "completeLatency", "acked", "failed")
			requireKeys(t, "spouts[0]", first(t, "spouts", raw["spouts"]), "spoutId", "executors", "tasks", "emitted", "transferred", "completeLatency", "acked", "failed", "lastError", "errorHost", "errorPort", "errorTime", "errorLapsedSecs")
			requireKeys(t, "bolts[0]", first(t, "bolts", raw["bolts"]), "boltId", "executors", "tasks", "emitted", "transferred", "capacity", "executeLatency", "executed", "processLatency", "acked", "failed", "lastError")
			requireKeys(t, "workers[0]", first(t, "workers", raw["workers"]), "supervisorId", "host", "port", "topologyId", "topologyName", "executorsTotal", "componentNumTasks", "uptime", "uptimeSeconds")
			requireKeys(t, "executorStats[0]", first(t, "executorStats", first(t, "spouts", raw["spouts"]).(map[string]any)["executorStats"]), "id", "host", "port", "uptime", "uptimeSeconds", "emitted", "acked")
			if _, err := c.TopologyWindow(ctx, id, "abc"); !errors.Is(err, api.ErrInvalid) {
				t.Errorf("bad window: %v", err)
			}
			if w, err := c.TopologyWindow(ctx, id, api.Window10m); err != nil || w.Window != "600" || w.WindowHint != "10m 0s" {
				t.Errorf("10m window: %+v %v", w, err)
			}
		}},
		{"system components", func(t *testing.T) {
			// As in Storm UI, system components are listed only with sys=1; the
			// totals count them either way.
			boltIDs := func(info *api.TopologyInfo) []string {
				var ids []string
				for _, b := range info.Bolts {
					ids = append(ids, b.BoltID)
				}
				return ids
			}
			if ids := boltIDs(info); slices.Contains(ids, topology.AckerComponent) || info.Workers[0].ComponentNumTasks[topology.AckerComponent] != 0 {
				t.Errorf("without sys, bolts %v and worker tasks %v list %s", ids, info.Workers[0].ComponentNumTasks, topology.AckerComponent)
			}
			withSys, err := c.TopologyView(ctx, id, "", true)
			if err != nil {
				t.Fatal(err)
			}
			if ids := boltIDs(withSys); !slices.Contains(ids, topology.AckerComponent) || withSys.Workers[0].ComponentNumTasks[topology.AckerComponent] != 1 {
				t.Errorf("with sys, bolts %v and worker tasks %v, want %s listed with 1 task", ids, withSys.Workers[0].ComponentNumTasks, topology.AckerComponent)
			}
			if withSys.ExecutorsTotal != info.ExecutorsTotal || withSys.TasksTotal != info.TasksTotal || info.ExecutorsTotal != 6 {
				t.Errorf("executors/tasks total %d/%d with sys, %d/%d without, want 6 both", withSys.ExecutorsTotal, withSys.TasksTotal, info.ExecutorsTotal, info.TasksTotal)
			}
			if status, body := rawJSON(t, "GET", base+api.PathTopology+id+"?sys=yes"); status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body), "sys") {
				t.Errorf("sys=yes: %d %v, want 400 naming sys", status, body)
			}
		}},
		{"code download", func(t *testing.T) {
			// Code download, as a supervisor does it.
			dest := filepath.Join(t.TempDir(), "stormdist", id)
			if err := c.DownloadCode(ctx, id, dest); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(filepath.Join(dest, api.CodeFileBinary)); !bytes.Equal(got, code) {
				t.Errorf("downloaded code %q", got)
			}
			for _, f := range []string{api.CodeFileConf, api.CodeFileDefinition} {
				want, _ := os.ReadFile(filepath.Join(e.dir, "nimbus", "stormdist", id, f))
				if got, _ := os.ReadFile(filepath.Join(dest, f)); len(want) == 0 || !bytes.Equal(got, want) {
					t.Errorf("downloaded %s differs from nimbus's", f)
				}
			}
			if err := c.DownloadCode(ctx, "nope-1-1", t.TempDir()); !errors.Is(err, api.ErrNotFound) {
				t.Errorf("download of an unknown topology: %v", err)
			}
		}},
		{"conf, definition and errors", func(t *testing.T) {
			// Topology conf, definition and component errors.
			if tc, err := c.TopologyConf(ctx, id); err != nil || tc["topology.acker.executors"] != float64(1) {
				t.Errorf("topology conf: %v %v", tc, err)
			}
			if def, err := c.TopologyDefinition(ctx, id); err != nil || def.Bolts["count"] == nil || def.Bolts["count"].Parallelism != 3 {
				t.Errorf("topology definition: %+v %v", def, err)
			}
			if err := e.state.ReportError(id, "count", "host-a", slot.Port, errors.New("boom again")); err != nil {
				t.Fatal(err)
			}
			ce, err := c.ComponentErrors(ctx, id, "count")
			if err != nil || len(ce.ComponentErrors) != 2 || ce.ComponentErrors[0].Error != "boom again" || ce.ComponentErrors[1].Error != "boom" || ce.ComponentErrors[0].ErrorPort != slot.Port {
				t.Errorf("component errors (newest first): %+v %v", ce, err)
			}
			_, raw := rawJSON(t, "GET", base+api.PathTopology+id+"/component/count/errors")
			requireKeys(t, "componentErrors[0]", first(t, "componentErrors", raw["componentErrors"]), "error", "errorTime", "errorHost", "errorPort", "errorLapsedSecs")
			if _, err := c.ComponentErrors(ctx, id, "nope"); !errors.Is(err, api.ErrNotFound) {
				t.Errorf("errors of an unknown component: %v", err)
			}
		}},
		{"cluster configuration and nimbus summary", func(t *testing.T) {
			conf, err := c.ClusterConfiguration(ctx)
			if err != nil || conf["nimbus.monitor.freq.secs"] == nil {
				t.Errorf("cluster configuration: %v %v", conf, err)
			}
			ns, err := c.NimbusSummary(ctx)
			if err != nil || len(ns.Nimbuses) != 1 || ns.Nimbuses[0].Status != "Leader" || ns.Nimbuses[0].Port == 0 {
				t.Errorf("nimbus summary %+v %v", ns, err)
			}
		}},
		{"actions", func(t *testing.T) {
			// Actions, with Storm UI's reply.
			status, raw := rawJSON(t, "POST", base+api.PathTopology+id+"/deactivate")
			if status != 200 || raw["topologyOperation"] != "deactivate" || raw["topologyId"] != id || raw["status"] != "success" {
				t.Errorf("deactivate reply %d %v", status, raw)
			}
			if e.state.status(id) != "INACTIVE" {
				t.Errorf("status %s after deactivate", e.state.status(id))
			}
			if err := c.Activate(ctx, id); err != nil || e.state.status(id) != "ACTIVE" {
				t.Errorf("activate: %v, status %s", err, e.state.status(id))
			}
			if err := c.Rebalance(ctx, id, 0, 2, map[string]int{"count": 1}); err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, 10*time.Second, "rebalance to 2 workers", func() bool {
				a, _ := e.state.AssignmentInfo(id, nil)
				return e.state.status(id) == "ACTIVE" && a != nil && len(slotsOf(a)) == 2
			})
			if err := c.Kill(ctx, id, 0); err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, 10*time.Second, "removal", func() bool { return e.state.status(id) == "" })
		}},
		{"error replies", func(t *testing.T) {
			// Errors: JSON with error and errorMessage, a status by kind, a message in the Go error.
			status, raw := rawJSON(t, "POST", base+api.PathTopology+"nope-1-1/activate")
			if status != 404 || raw["error"] == nil || !strings.Contains(fmt.Sprint(raw["errorMessage"]), "nope-1-1") {
				t.Errorf("unknown topology: %d %v", status, raw)
			}
			status, raw = rawJSON(t, "POST", base+api.PathTopology+"x/kill/soon")
			if status != 400 || !strings.Contains(fmt.Sprint(raw["errorMessage"]), "soon") {
				t.Errorf("bad wait: %d %v", status, raw)
			}
			status, _ = rawJSON(t, "GET", base+"/api/v1/nothing")
			if status != 404 {
				t.Errorf("unknown path: %d", status)
			}
			if err := c.Deactivate(ctx, "nope-1-1"); !errors.Is(err, api.ErrNotFound) || !strings.Contains(err.Error(), "nope-1-1") {
				t.Errorf("client error %v: want not found with the message", err)
			}
		}},
	}
	for _, st := range steps {
		if !t.Run(st.name, st.run) {
			return
		}
	}
}

func FuzzSubmitRequestBody(f *testing.F) {
	good, _ := json.Marshal(api.SubmitRequest{Name: "wc", UploadID: strings.Repeat("a", 32), SHA256: strings.Repeat("0", 64), Definition: wordCount()})
	f.Add(good)
	f.Add([]byte(`{"name":"x","definition":{"spouts":{"s":null}}}`))
	f.Add([]byte(`{"name":"x","definition":{"spouts":{"s":{"parallelism":1}},"bolts":{"b":{"parallelism":1,"inputs":[{"component":"s","grouping":{"type":"fields"}}]}}}}`))
	f.Add([]byte(`{"conf":{"topology.workers":1e300}}`))
	f.Add([]byte(`[]`))
	h := newEnv(f, nil).n.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		req, _ := http.NewRequest("POST", api.PathTopologies, bytes.NewReader(body))
		req.Host = "127.0.0.1"
		req.Header.Set("Content-Type", api.ContentTypeJSON)
		rec := &recorder{header: http.Header{}}
		h.ServeHTTP(rec, req)
		if rec.status != 400 && rec.status != 409 && rec.status != 200 {
			t.Errorf("status %d for %q: %s", rec.status, body, rec.body.String())
		}
	})
}

// recorder is a minimal ResponseWriter (httptest would do; this keeps the
// fuzz loop allocation-light).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(s int) { r.status = s }
