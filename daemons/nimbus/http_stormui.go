package nimbus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/procs"
)

// The rest of Storm UI's REST API (component, supervisor, workers,
// visualization, metrics pages), Storm's logviewer API, the log links of
// every page, and JSONP.

// workerLogFile is the worker log file the pages link to: a worker's own log
// lines go to its stderr (Storm's worker.log is its log4j log).
const workerLogFile = procs.ErrLogName

// Storm's daemon log file names, which the daemon log links name.
const (
	nimbusLogFile     = "nimbus.log"
	supervisorLogFile = "supervisor.log"
)

// registerStormUI adds the routes of this file to the mux of newHandler.
func (h *apiHandler) registerStormUI(mux *http.ServeMux, handle func(string, handlerFunc)) {
	svc := h.svc
	handle("GET "+api.PathTopology+"{id}/component/{component}", func(r *http.Request) (any, error) {
		sys, err := sysParam(r)
		if err != nil {
			return nil, err
		}
		return svc.ComponentPage(r.Context(), r.PathValue("id"), r.PathValue("component"), r.URL.Query().Get("window"), sys)
	})
	handle("GET "+api.PathTopology+"{id}/metrics", func(r *http.Request) (any, error) {
		sys, err := sysParam(r)
		if err != nil {
			return nil, err
		}
		return svc.TopologyInfo(r.Context(), r.PathValue("id"), r.URL.Query().Get("window"), sys)
	})
	handle("GET "+api.PathTopology+"{id}/visualization", func(r *http.Request) (any, error) {
		sys, err := sysParam(r)
		if err != nil {
			return nil, err
		}
		return svc.Visualization(r.Context(), r.PathValue("id"), r.URL.Query().Get("window"), sys)
	})
	handle("GET "+api.PathTopology+"{id}/visualization-init", func(r *http.Request) (any, error) {
		sys, err := sysParam(r)
		if err != nil {
			return nil, err
		}
		return svc.VisualizationInit(r.Context(), r.PathValue("id"), r.URL.Query().Get("window"), sys)
	})
	handle("GET "+api.PathTopologyWorkers+"{id}", func(r *http.Request) (any, error) {
		return svc.TopologyWorkers(r.Context(), r.PathValue("id"))
	})
	handle("GET "+api.PathSupervisor, func(r *http.Request) (any, error) {
		sys, err := sysParam(r)
		if err != nil {
			return nil, err
		}
		return svc.SupervisorPage(r.Context(), r.URL.Query().Get("id"), r.URL.Query().Get("host"), sys)
	})
	handle("GET "+api.PathListLogs, func(r *http.Request) (any, error) {
		return h.logs.listLogs(r.URL.Query().Get("topoId"), r.URL.Query().Get("port"))
	})
	handle("GET "+api.PathSearch, h.searchLog)
	mux.Handle("GET "+api.PathLog, h.serveLogPage(false))
	mux.Handle("GET "+api.PathDaemonLog, h.serveLogPage(true))
	mux.Handle("GET "+api.PathDownload, h.serveLogDownload(false))
	mux.Handle("GET "+api.PathDaemonDownload, h.serveLogDownload(true))
}

// linker makes the log links of a page, pointing at this nimbus's
// logviewer as the client reached it.
type linker struct{ base string }

func linkerFor(r *http.Request) linker { return linker{base: "http://" + r.Host} }

func (l linker) workerLog(topologyID string, port int) string {
	if port == 0 {
		return ""
	}
	return l.base + api.PathLog + "?file=" + javaURLEncode(topologyID+"/"+strconv.Itoa(port)+"/"+workerLogFile)
}

func (l linker) daemonLog(file string) string {
	return l.base + api.PathDaemonLog + "?file=" + javaURLEncode(file)
}

// decorate adds to a page what depends on how the client reached nimbus
// (log links), and the encoded ids Storm UI writes beside every id.
func decorate(r *http.Request, v any) any {
	l := linkerFor(r)
	switch d := v.(type) {
	case *api.NimbusSummary:
		for i := range d.Nimbuses {
			d.Nimbuses[i].NimbusLogLink = l.daemonLog(nimbusLogFile)
		}
	case *api.SupervisorSummary:
		decorateSupervisors(l, d.Supervisors)
	case *api.SupervisorPage:
		decorateSupervisors(l, d.Supervisors)
		decorateWorkers(l, d.Workers)
		d.LogviewerPort = portOf(r)
	case *api.TopologyWorkers:
		d.LogviewerPort = portOf(r)
	case *api.TopologySummary:
		for i := range d.Topologies {
			d.Topologies[i].EncodedID = javaURLEncode(d.Topologies[i].ID)
		}
	case *api.TopologyInfo:
		d.EncodedID = javaURLEncode(d.ID)
		for i := range d.Spouts {
			s := &d.Spouts[i]
			s.EncodedSpoutID = javaURLEncode(s.SpoutID)
			decorateExecutors(l, d.ID, s.ExecutorStats)
		}
		for i := range d.Bolts {
			b := &d.Bolts[i]
			b.EncodedBoltID = javaURLEncode(b.BoltID)
			decorateExecutors(l, d.ID, b.ExecutorStats)
		}
		decorateWorkers(l, d.Workers)
	case *api.ComponentPage:
		for i := range d.ExecutorStats {
			d.ExecutorStats[i].WorkerLogLink = l.workerLog(d.TopologyID, d.ExecutorStats[i].Port)
		}
		for i := range d.ComponentErrors {
			d.ComponentErrors[i].ErrorWorkerLogLink = l.workerLog(d.TopologyID, d.ComponentErrors[i].ErrorPort)
		}
	}
	return v
}

func decorateSupervisors(l linker, sups []api.Supervisor) {
	for i := range sups {
		sups[i].SlotsFree = max(sups[i].SlotsTotal-sups[i].SlotsUsed, 0)
		sups[i].LogLink = l.daemonLog(supervisorLogFile)
	}
}

func decorateWorkers(l linker, ws []api.WorkerSummary) {
	for i := range ws {
		ws[i].WorkerLogLink = l.workerLog(ws[i].TopologyID, ws[i].Port)
	}
}

func decorateExecutors(l linker, topologyID string, es []api.ExecutorSummary) {
	for i := range es {
		es[i].EncodedID = javaURLEncode(es[i].ID)
		es[i].WorkerLogLink = l.workerLog(topologyID, es[i].Port)
	}
}

// portOf is the port the client reached nimbus on: the logviewer's.
func portOf(r *http.Request) int {
	u := url.URL{Host: r.Host}
	p, _ := strconv.Atoi(u.Port())
	return p
}

// callbackName is what a JSONP callback may be: a JavaScript identifier or
// a dotted path of them, so that it cannot carry script of its own.
var callbackName = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$`)

const maxCallbackLen = 128

// jsonpCallback reads Storm's ?callback= on a GET: "" when absent. A name
// that is not an identifier is 400. A script load from another site is 403:
// JSONP reaches across origins by design, and nimbus's pages are for this
// machine only (the API's rules in httpguard.go), so it answers JSONP to
// non-browser clients and to pages of its own origin.
func jsonpCallback(r *http.Request) (string, error) {
	cb := r.URL.Query().Get("callback")
	if cb == "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return "", nil
	}
	if len(cb) > maxCallbackLen || !callbackName.MatchString(cb) {
		return "", fmt.Errorf("%w: callback %q: a JSONP callback is a JavaScript name (letters, digits, _ and $, dotted), at most %d characters", api.ErrInvalid, cb, maxCallbackLen)
	}
	site := r.Header.Get("Sec-Fetch-Site")
	crossSite := site != "" && site != "same-origin" && site != "none"
	if ref := r.Header.Get("Referer"); site == "" && ref != "" {
		if u, err := url.Parse(ref); err != nil || u.Host != r.Host {
			crossSite = true
		}
	}
	if crossSite {
		return "", fmt.Errorf("%w: a JSONP request from another site is refused: nimbus's API answers JSONP to its own pages and to clients that are not browsers", api.ErrForbidden)
	}
	return cb, nil
}

// writeJSONP writes v as Storm's JSONP: callback(json); as
// application/javascript.
func writeJSONP(w http.ResponseWriter, status int, callback string, v any) {
	var body bytes.Buffer
	_ = json.NewEncoder(&body).Encode(v)
	w.Header().Set("Content-Type", "application/javascript;charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintf(w, "%s(%s);", callback, bytes.TrimSpace(body.Bytes()))
}

// flexInt is a count given as a JSON number or a string of digits, as
// Storm's documented rebalance body gives executor counts.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		b = []byte(s)
	}
	n, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil || n < 0 {
		return fmt.Errorf("%s is not a count (a non-negative integer, as a number or a string)", b)
	}
	*f = flexInt(n)
	return nil
}

// stormRebalanceBody is Storm UI's rebalance body:
// {"rebalanceOptions": {"numWorkers": 2, "executors": {"spout": "5", "bolt": 7}}},
// and localstorm's "topologyConf" (Storm's UI has no way to change the
// configuration on rebalance).
type stormRebalanceBody struct {
	RebalanceOptions struct {
		NumWorkers   flexInt            `json:"numWorkers"`
		Executors    map[string]flexInt `json:"executors"`
		TopologyConf map[string]any     `json:"topologyConf"`
	} `json:"rebalanceOptions"`
}

// decodeRebalance reads a rebalance body into the Go client's form.
func (h *apiHandler) decodeRebalance(r *http.Request) (api.RebalanceOptions, error) {
	var body stormRebalanceBody
	if err := h.decodeJSON(r, &body); err != nil {
		return api.RebalanceOptions{}, err
	}
	o := api.RebalanceOptions{NumWorkers: int(body.RebalanceOptions.NumWorkers), TopologyConf: body.RebalanceOptions.TopologyConf}
	if len(body.RebalanceOptions.Executors) > 0 {
		o.Executors = map[string]int{}
		for c, n := range body.RebalanceOptions.Executors {
			o.Executors[c] = int(n)
		}
	}
	return o, nil
}
