package nimbus

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/internal/testutil"
)

// stormUIEnv is a nimbus with one word-count topology whose executors sent
// one heartbeat with per-stream stats, and an error of its bolt.
func stormUIEnv(t *testing.T) (*testEnv, string, cluster.NodePort) {
	t.Helper()
	e := newEnv(t, nil)
	e.addSupervisor("a", 6700)
	id := e.submit("wc", nil)
	e.advance(0)
	a, err := e.state.AssignmentInfo(id, nil)
	if err != nil || a == nil {
		t.Fatalf("assignment: %v %v", a, err)
	}
	slot := onlySlot(t, a)
	hb := &cluster.WorkerHeartbeat{V: 1, TopologyID: id, TimeMillis: 1000, UptimeSecs: 42}
	taskComp := wordCount().TaskToComponent(1)
	for _, ea := range a.Executors {
		eh := cluster.ExecutorHeartbeat{Executor: ea.Executor, Component: taskComp[ea.Executor.Start], UptimeSecs: 42}
		switch eh.Component {
		case "words":
			eh.Stats = cluster.ExecutorStats{Type: "spout",
				Emitted: map[string]int64{"default": 100, "__ack_init": 100}, Transferred: map[string]int64{"default": 100, "__ack_init": 100},
				Acked: map[string]int64{"default": 40}, Failed: map[string]int64{"default": 2}, CompleteLatencyMsSum: 80}
		case "count":
			eh.Stats = cluster.ExecutorStats{Type: "bolt",
				Emitted: map[string]int64{"default": 10}, Transferred: map[string]int64{"default": 10},
				Executed: map[string]int64{"default": 50}, Acked: map[string]int64{"default": 50}, ExecuteLatencyMsSum: 25, ProcessLatencyMsSum: 50, Capacity: 0.25}
		}
		hb.Executors = append(hb.Executors, eh)
	}
	if err := e.state.SetWorkerHeartbeat(id, slot.Node, slot.Port, hb); err != nil {
		t.Fatal(err)
	}
	if err := e.state.ReportError(id, "count", "host-a", slot.Port, errors.New("boom")); err != nil {
		t.Fatal(err)
	}
	return e, id, slot
}

// get fetches a path and returns the status, the headers and the body.
func get(t *testing.T, u string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func getJSON(t *testing.T, u string, v any) int {
	t.Helper()
	status, _, body := get(t, u)
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %d, not JSON: %v: %s", u, status, err, body)
	}
	return status
}

func TestComponentPage(t *testing.T) {
	e, id, slot := stormUIEnv(t)
	base := e.n.APIURL()
	u := base + api.PathTopology + id + "/component/"

	var spout api.ComponentPage
	if st := getJSON(t, u+"words", &spout); st != 200 {
		t.Fatalf("spout page: %d %+v", st, spout)
	}
	if spout.ComponentType != "spout" || spout.Executors != 2 || spout.Tasks != 2 || spout.EncodedTopologyID != id || spout.Name != "wc" || len(spout.SpoutSummary) != 4 || spout.BoltStats != nil {
		t.Errorf("spout page %+v", spout)
	}
	if all := spout.SpoutSummary[3]; all.Window != api.WindowAllTime || all.Emitted != 200 || all.Acked != 80 || all.Failed != 4 || all.CompleteLatency != "2.000" || all.LastError == nil {
		t.Errorf("spout all-time stats %+v", all)
	}
	// System streams only with sys=1; the spout's acks are per stream.
	if o := spout.OutputStats; len(o) != 1 || o[0].Stream != "default" || o[0].Emitted != 200 || *o[0].Acked != 80 || *o[0].Failed != 4 || o[0].CompleteLatency != "2.000" {
		t.Errorf("spout output stats %+v", o)
	}
	var sysPage api.ComponentPage
	getJSON(t, u+"words?sys=1", &sysPage)
	if o := sysPage.OutputStats; len(o) != 2 || o[0].Stream != "__ack_init" || o[0].Emitted != 200 {
		t.Errorf("spout output stats with sys %+v", o)
	}
	wantLink := "http://" + strings.TrimPrefix(base, "http://") + "/api/v1/log?file=" + id + "%2F6700%2Fworker.err.log"
	if ex := spout.ExecutorStats; len(ex) != 2 || !strings.HasPrefix(ex[0].ID, "[") || ex[0].EncodedID != javaURLEncode(ex[0].ID) || !strings.HasPrefix(ex[0].EncodedID, "%5B") || ex[0].Port != slot.Port || ex[0].Host != "host-a" || ex[0].UptimeSeconds != 42 || ex[0].WorkerLogLink != wantLink {
		t.Errorf("spout executors %+v, want link %s", ex, wantLink)
	}

	var bolt api.ComponentPage
	getJSON(t, u+"count?window=600", &bolt)
	if bolt.ComponentType != "bolt" || bolt.Window != "600" || bolt.WindowHint != "10m 0s" || len(bolt.BoltStats) != 4 || bolt.SpoutSummary != nil {
		t.Errorf("bolt page %+v", bolt)
	}
	if b := bolt.BoltStats[0]; *b.Executed != 150 || b.ExecuteLatency != "0.500" || b.ProcessLatency != "1.000" || b.Capacity != "0.250" {
		t.Errorf("bolt 10m stats %+v", b)
	}
	if in := bolt.InputStats; len(in) != 1 || in[0].Component != "words" || in[0].EncodedComponentID != "words" || in[0].Stream != "default" || in[0].Executed != 150 || in[0].Acked != 150 || in[0].ExecuteLatency != "0.500" {
		t.Errorf("bolt input stats %+v", in)
	}
	if o := bolt.OutputStats; len(o) != 1 || o[0].Emitted != 30 || o[0].Acked != nil {
		t.Errorf("bolt output stats %+v", o)
	}
	if ce := bolt.ComponentErrors; len(ce) != 1 || ce[0].Error != "boom" || ce[0].ErrorPort != slot.Port || ce[0].Time <= 0 || ce[0].Time%1000 != 0 || ce[0].ErrorWorkerLogLink != wantLink {
		t.Errorf("component errors %+v", ce)
	}
	// Storm's field names on the raw document.
	_, raw := rawJSON(t, "GET", u+"count")
	requireKeys(t, "bolt page", raw, "id", "encodedId", "name", "executors", "tasks", "topologyId", "encodedTopologyId", "topologyStatus", "window", "windowHint", "componentType", "debug", "samplingPct", "boltStats", "inputStats", "outputStats", "executorStats", "componentErrors")
	requireKeys(t, "bolt executor", first(t, "executorStats", raw["executorStats"]), "id", "encodedId", "uptime", "uptimeSeconds", "host", "port", "emitted", "transferred", "capacity", "executeLatency", "executed", "processLatency", "acked", "failed", "workerLogLink")
	requireKeys(t, "component error", first(t, "componentErrors", raw["componentErrors"]), "time", "errorHost", "errorPort", "errorWorkerLogLink", "errorLapsedSecs", "error")

	// Unknown component, unknown topology, bad window: Storm's error body.
	for path, want := range map[string]int{u + "nope": 404, base + api.PathTopology + "wc-9-9/component/words": 404, u + "words?window=x": 400} {
		st, m := rawJSON(t, "GET", path)
		if st != want || m["errorMessage"] == "" || m["error"] != strconv.Itoa(want)+" "+http.StatusText(want) {
			t.Errorf("GET %s: %d %v, want %d with Storm's error %q", path, st, m, want, strconv.Itoa(want)+" "+http.StatusText(want))
		}
	}
}

func TestStormUIPages(t *testing.T) {
	e, id, slot := stormUIEnv(t)
	base := e.n.APIURL()

	// The topology page and its metrics twin carry encoded ids and log links.
	for _, p := range []string{api.PathTopology + id, api.PathTopology + id + "/metrics"} {
		_, raw := rawJSON(t, "GET", base+p)
		requireKeys(t, p, raw, "encodedId", "topologyStats", "spouts", "bolts", "workers")
		requireKeys(t, p+" spout", first(t, "spouts", raw["spouts"]), "spoutId", "encodedSpoutId")
		requireKeys(t, p+" bolt", first(t, "bolts", raw["bolts"]), "boltId", "encodedBoltId")
		requireKeys(t, p+" worker", first(t, "workers", raw["workers"]), "workerLogLink")
	}

	var tw api.TopologyWorkers
	if st := getJSON(t, base+api.PathTopologyWorkers+id, &tw); st != 200 || len(tw.HostPortList) != 1 || tw.HostPortList[0] != (api.HostPort{Host: "host-a", Port: slot.Port}) || tw.LogviewerScheme != "http" || tw.LogviewerPort == 0 {
		t.Errorf("topology-workers %d %+v", st, tw)
	}
	if st, _, _ := get(t, base+api.PathTopologyWorkers+"wc-9-9"); st != 404 {
		t.Errorf("topology-workers of an unknown id: %d", st)
	}

	var sp api.SupervisorPage
	for _, q := range []string{"?id=a", "?host=host-a"} {
		if st := getJSON(t, base+api.PathSupervisor+q, &sp); st != 200 || len(sp.Supervisors) != 1 || sp.Supervisors[0].SlotsFree != 0 || len(sp.Workers) != 1 || sp.Workers[0].WorkerLogLink == "" || sp.Supervisors[0].LogLink == "" {
			t.Errorf("supervisor%s: %d %+v", q, st, sp)
		}
	}
	for q, want := range map[string]int{"": 400, "?id=a&host=host-a": 400, "?id=zz": 404, "?host=nowhere": 404} {
		if st, _, _ := get(t, base+api.PathSupervisor+q); st != want {
			t.Errorf("supervisor%s: %d, want %d", q, st, want)
		}
	}
	_, raw := rawJSON(t, "GET", base+api.PathSupervisorSummary)
	requireKeys(t, "supervisor summary", first(t, "supervisors", raw["supervisors"]), "slotsFree", "logLink")

	var vis map[string]map[string]any
	getJSON(t, base+api.PathTopology+id+"/visualization", &vis)
	if len(vis) != 2 || vis["words"][":type"] != "spout" || vis["count"][":type"] != "bolt" || vis["count"][":capacity"] != 0.25 {
		t.Errorf("visualization %v", vis)
	}
	requireKeys(t, "visualization count", any(vis["count"]), ":type", ":capacity", ":latency", ":transferred", ":stats", ":link", ":inputs")
	in := first(t, ":inputs", vis["count"][":inputs"]).(map[string]any)
	if in[":component"] != "words" || in[":stream"] != "default" || in[":grouping"] != "fields" || in[":sani-stream"] != "default" {
		t.Errorf("visualization input %v", in)
	}
	st0 := first(t, ":stats", vis["words"][":stats"]).(map[string]any)
	if tr := st0[":transferred"].(map[string]any)[":all-time"].(map[string]any); tr["default"] != 100.0 || tr["__ack_init"] != nil {
		t.Errorf("visualization executor transferred %v", st0)
	}
	var vi struct {
		Table [][]map[string]any `json:"visualizationTable"`
	}
	getJSON(t, base+api.PathTopology+id+"/visualization-init", &vi)
	if len(vi.Table) != 1 || len(vi.Table[0]) != 1 || vi.Table[0][0]["stream"] != "default" || vi.Table[0][0]["checked"] != true {
		t.Errorf("visualization-init %+v", vi)
	}
	if got := sanitizeStreamName("1a b"); got != "_s_a_b" {
		t.Errorf("sanitizeStreamName(1a b) = %q", got)
	}
	if got := javaURLEncode("a b~*/[1-2]é"); got != "a+b%7E*%2F%5B1-2%5D%C3%A9" {
		t.Errorf("javaURLEncode = %q", got)
	}
}

func TestJSONP(t *testing.T) {
	e, _, _ := stormUIEnv(t)
	base := e.n.APIURL()
	st, h, body := get(t, base+api.PathClusterSummary+"?callback=my.cb_1")
	if st != 200 || h.Get("Content-Type") != "application/javascript;charset=utf-8" || !strings.HasPrefix(string(body), "my.cb_1({") || !strings.HasSuffix(string(body), "});") {
		t.Errorf("JSONP: %d %s %s", st, h.Get("Content-Type"), body)
	}
	// An error is wrapped too, with its status.
	if st, _, body := get(t, base+api.PathTopology+"wc-9-9?callback=cb"); st != 404 || !strings.HasPrefix(string(body), `cb({"error":"404 Not Found"`) {
		t.Errorf("JSONP error: %d %s", st, body)
	}
	for _, cb := range []string{"alert(1)", "a;b", "1a", "a..b", strings.Repeat("a", 200), "</script>"} {
		st, h, _ := get(t, base+api.PathClusterSummary+"?callback="+url.QueryEscape(cb))
		if st != 400 || h.Get("Content-Type") != "application/json" {
			t.Errorf("callback %q: %d %s, want a 400 in JSON", cb, st, h.Get("Content-Type"))
		}
	}
	// A script of another site may not read the API.
	if st, _, _ := get(t, base+api.PathClusterSummary+"?callback=cb", "Sec-Fetch-Site", "cross-site"); st != 403 {
		t.Errorf("cross-site JSONP: %d, want 403", st)
	}
	if st, _, _ := get(t, base+api.PathClusterSummary+"?callback=cb", "Referer", "http://evil.example/page"); st != 403 {
		t.Errorf("JSONP with a foreign Referer: %d, want 403", st)
	}
	// Not on a POST: it answers JSON.
	req, _ := http.NewRequest(http.MethodPost, base+api.PathTopology+"wc-9-9/activate?callback=cb", nil)
	req.Header.Set("Content-Type", api.ContentTypeJSON)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("POST with callback: %s, want JSON", ct)
	}
}

func TestRebalanceStormBody(t *testing.T) {
	e, id, _ := stormUIEnv(t)
	base := e.n.APIURL()
	post := func(body string) int {
		req, _ := http.NewRequest(http.MethodPost, base+api.PathTopology+id+"/rebalance/0", strings.NewReader(body))
		req.Header.Set("Content-Type", api.ContentTypeJSON)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post(`{"rebalanceOptions": {"numWorkers": 1, "executors": {"words": "1", "count": 2}}, "callback": "foo"}`); st != 200 {
		t.Fatalf("Storm's rebalance body: %d", st)
	}
	e.waitQuiet()
	base2, err := e.state.StormBase(id, nil)
	if err != nil || base2.ComponentExecutors["words"] != 1 || base2.ComponentExecutors["count"] != 2 {
		t.Errorf("after rebalance: %+v %v", base2, err)
	}
	// localstorm's own topologyConf in the same body (Storm's UI has none).
	if st := post(`{"rebalanceOptions": {"topologyConf": {"topology.max.spout.pending": 7}}}`); st != 200 {
		t.Fatalf("rebalance body with topologyConf: %d", st)
	}
	e.waitQuiet()
	testutil.Eventually(t, 10*time.Second, "conf changed by the REST rebalance", func() (bool, string) {
		conf, err := e.n.TopologyConf(t.Context(), id)
		return err == nil && conf["topology.max.spout.pending"] == float64(7), fmt.Sprint(conf["topology.max.spout.pending"], err)
	})
	for _, bad := range []string{`{"rebalanceOptions": {"executors": {"words": "x"}}}`, `{"rebalanceOptions": {"executors": {"words": -1}}}`, `{"rebalanceOptions": {"numWorkers": "two"}}`,
		`{"rebalanceOptions": {"topologyConf": {"topology.submitter.user": "x"}}}`, `{"rebalanceOptions": {"topologyConf": [1]}}`} {
		if st := post(bad); st != 400 {
			t.Errorf("rebalance %s: %d, want 400", bad, st)
		}
	}
}

func TestLogviewer(t *testing.T) {
	e, id, _ := stormUIEnv(t)
	base := e.n.APIURL()
	logs := filepath.Join(e.dir, "logs")
	dir := filepath.Join(logs, id, "6700")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var content strings.Builder
	for i := range 2000 {
		content.WriteString("line " + strconv.Itoa(i) + "\n")
	}
	content.WriteString("needle at the end\n")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "worker.err.log"), content.String())
	write(filepath.Join(dir, "worker.out.log"), "ready\n")
	write(filepath.Join(logs, "nimbus.log"), "nimbus started\nneedle\n")
	secret := filepath.Join(t.TempDir(), "secret")
	write(secret, "TOP-SECRET-CONTENT\n")
	if err := os.Symlink(secret, filepath.Join(dir, "escape.log")); err != nil {
		t.Fatal(err)
	}
	file := id + "/6700/worker.err.log"

	var list []string
	getJSON(t, base+api.PathListLogs, &list)
	if strings.Join(list, ",") != file+","+id+"/6700/worker.out.log" {
		t.Errorf("listLogs %v (a symlink is not listed)", list)
	}
	getJSON(t, base+api.PathListLogs+"?topoId=other", &list)
	if len(list) != 0 {
		t.Errorf("listLogs of another topology %v", list)
	}

	// Paging: the last page by default, then start and length.
	st, h, body := get(t, base+api.PathLog+"?file="+url.QueryEscape(file)+"&length=18")
	if st != 200 || string(body) != "needle at the end\n" || h.Get("X-Log-File-Length") != strconv.Itoa(len(content.String())) || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Errorf("last page: %d %q %v", st, body, h)
	}
	if st, _, body := get(t, base+api.PathLog+"?file="+url.QueryEscape(file)+"&start=7&length=7"); st != 200 || string(body) != "line 1\n" {
		t.Errorf("page at 7: %d %q", st, body)
	}
	if st, _, body := get(t, base+api.PathDaemonLog+"?file=nimbus.log&start=0"); st != 200 || !strings.HasPrefix(string(body), "nimbus started") {
		t.Errorf("daemon log: %d %q", st, body)
	}
	if st, h, body := get(t, base+api.PathDownload+"?file="+url.QueryEscape(id+"/6700/worker.out.log")); st != 200 || string(body) != "ready\n" || !strings.Contains(h.Get("Content-Disposition"), "attachment") {
		t.Errorf("download: %d %q %v", st, body, h)
	}

	var s api.LogSearch
	getJSON(t, base+api.PathSearch+"?file="+url.QueryEscape(file)+"&search-string=needle", &s)
	if len(s.Matches) != 1 || s.Matches[0].ByteOffset != int64(strings.Index(content.String(), "needle")) || s.Matches[0].AfterString != " at the end\n" || !strings.HasSuffix(s.Matches[0].BeforeString, "line 1999\n") || s.NextByteOffset != nil || s.IsDaemon != "no" {
		t.Errorf("search %+v", s)
	}
	getJSON(t, base+api.PathSearch+"?file="+url.QueryEscape(file)+"&search-string=line&num-matches=2&start-byte-offset=1", &s)
	if len(s.Matches) != 2 || s.Matches[0].ByteOffset != 7 || s.NextByteOffset == nil || *s.NextByteOffset != 18 {
		t.Errorf("search from offset 1 %+v", s)
	}
	getJSON(t, base+api.PathSearch+"?file=nimbus.log&is-daemon=yes&search-string=needle", &s)
	if len(s.Matches) != 1 || s.IsDaemon != "yes" {
		t.Errorf("daemon search %+v", s)
	}

	// Confinement: .., absolute paths, symlinks out, and names of the wrong
	// shape are refused on every route.
	refused := map[string]int{
		"../../etc/passwd":               400,
		id + "/../../nimbus.log":         400,
		"/etc/passwd":                    400,
		secret:                           400,
		id + "/6700/escape.log":          403,
		id + "/6700":                     400,
		"nimbus.log":                     400,
		id + "/6700/missing.log":         404,
		id + "/6700/..":                  400,
		id + "/6700/worker.err.log\x00x": 400,
	}
	for f, want := range refused {
		for _, p := range []string{api.PathLog, api.PathDownload, api.PathSearch} {
			st, _, body := get(t, base+p+"?search-string=x&file="+url.QueryEscape(f))
			if st != want || strings.Contains(string(body), "TOP-SECRET") {
				t.Errorf("%s?file=%q: %d %s, want %d", p, f, st, body, want)
			}
		}
	}
	for f, want := range map[string]int{"../logs/nimbus.log": 400, "/etc/passwd": 400, file: 400, "none.log": 404} {
		if st, _, _ := get(t, base+api.PathDaemonLog+"?file="+url.QueryEscape(f)); st != want {
			t.Errorf("daemonlog?file=%q: %d, want %d", f, st, want)
		}
	}
	if st, _, _ := get(t, base+api.PathListLogs+"?topoId=.."); st != 400 {
		t.Errorf("listLogs?topoId=..: %d", st)
	}
}
