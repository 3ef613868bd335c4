package nimbus

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/nimbus/ui"
	"github.com/localstorm/localstorm/daemons/timeline"
)

// maxJSONBody bounds JSON request bodies (a submit carries a definition).
const maxJSONBody = 16 << 20

// handlerFunc is an API handler: it returns the value to encode as JSON.
type handlerFunc func(r *http.Request) (any, error)

// handlerOptions configure the API handler.
type handlerOptions struct {
	maxUpload int64 // bytes of code in one upload
	maxJSON   int64 // bytes of a JSON request body
	// hosts are the names, besides the loopback ones, that requests may
	// give as Host (canonicalHost form).
	hosts map[string]bool
	// logs are the log roots the logviewer serves.
	logs logRoots
	// faults, when set, serves /api/v1/faults/ (httpfaults.go).
	faults FaultInjector
	// events is the timeline served at /api/v1/events (events.go); its
	// streams end when stop closes.
	events *timeline.Log
	stop   <-chan struct{}
}

// newHandler serves svc over HTTP: Storm UI's REST paths for reads and
// actions, plus upload, submit and code download, behind guard.
func newHandler(svc Service, opts handlerOptions, log *slog.Logger) http.Handler {
	h := &apiHandler{svc: svc, maxUpload: opts.maxUpload, maxJSON: opts.maxJSON, hosts: opts.hosts, logs: opts.logs, log: log}
	mux := http.NewServeMux()
	handle := func(pattern string, fn handlerFunc) { mux.Handle(pattern, h.wrap(checkPathValues(fn))) }
	// post registers a route that changes something; it takes one content type.
	post := func(path, contentType string, fn handlerFunc) {
		handle("POST "+path, requireContentType(contentType, fn))
	}
	handle("GET "+api.PathClusterSummary, func(r *http.Request) (any, error) { return svc.ClusterSummary(r.Context()) })
	handle("GET "+api.PathClusterConfiguration, func(r *http.Request) (any, error) { return svc.ClusterConfiguration(r.Context()) })
	handle("GET "+api.PathNimbusSummary, func(r *http.Request) (any, error) { return svc.NimbusSummary(r.Context()) })
	handle("GET "+api.PathSupervisorSummary, func(r *http.Request) (any, error) { return svc.SupervisorSummary(r.Context()) })
	handle("GET "+api.PathTopologySummary, func(r *http.Request) (any, error) { return svc.TopologySummary(r.Context()) })
	handle("GET "+api.PathTopology+"{id}", func(r *http.Request) (any, error) {
		sys, err := sysParam(r)
		if err != nil {
			return nil, err
		}
		return svc.TopologyInfo(r.Context(), r.PathValue("id"), r.URL.Query().Get("window"), sys)
	})
	handle("GET "+api.PathTopology+"{id}/conf", func(r *http.Request) (any, error) { return svc.TopologyConf(r.Context(), r.PathValue("id")) })
	handle("GET "+api.PathTopology+"{id}/definition", func(r *http.Request) (any, error) {
		return svc.TopologyDefinition(r.Context(), r.PathValue("id"))
	})
	handle("GET "+api.PathTopology+"{id}/component/{component}/errors", func(r *http.Request) (any, error) {
		return svc.ComponentErrors(r.Context(), r.PathValue("id"), r.PathValue("component"))
	})
	post(api.PathTopology+"{id}/activate", api.ContentTypeJSON, h.action("activate", func(r *http.Request, id string, _ int) error { return svc.Activate(r.Context(), id) }))
	post(api.PathTopology+"{id}/deactivate", api.ContentTypeJSON, h.action("deactivate", func(r *http.Request, id string, _ int) error { return svc.Deactivate(r.Context(), id) }))
	kill := h.action("kill", func(r *http.Request, id string, wait int) error { return svc.Kill(r.Context(), id, wait) })
	post(api.PathTopology+"{id}/kill", api.ContentTypeJSON, kill)
	post(api.PathTopology+"{id}/kill/{wait}", api.ContentTypeJSON, kill)
	rebalance := h.action("rebalance", func(r *http.Request, id string, wait int) error {
		var o api.RebalanceOptions
		if r.ContentLength != 0 {
			var err error
			if o, err = h.decodeRebalance(r); err != nil {
				return err
			}
		}
		return svc.Rebalance(r.Context(), id, wait, o)
	})
	post(api.PathTopology+"{id}/rebalance", api.ContentTypeJSON, rebalance)
	post(api.PathTopology+"{id}/rebalance/{wait}", api.ContentTypeJSON, rebalance)
	post(api.PathUploads, api.ContentTypeUpload, func(r *http.Request) (any, error) {
		body := http.MaxBytesReader(nil, r.Body, h.maxUpload)
		reply, err := svc.Upload(r.Context(), body, r.Header.Get(api.HeaderChecksum))
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return nil, fmt.Errorf("upload: %w: the code is larger than %s = %d bytes", api.ErrTooLarge, MaxUploadBytes, h.maxUpload)
		}
		return reply, err
	})
	post(api.PathTopologies, api.ContentTypeJSON, func(r *http.Request) (any, error) {
		var req api.SubmitRequest
		if err := h.decodeJSON(r, &req); err != nil {
			return nil, err
		}
		id, err := svc.Submit(r.Context(), req)
		if err != nil {
			return nil, err
		}
		return &api.SubmitReply{TopologyID: id, Name: req.Name, Status: statusOrActive(req.InitialStatus), NotUsed: notUsedMessages(req)}, nil
	})
	mux.Handle("GET "+api.PathTopology+"{id}/code/{file}", http.HandlerFunc(h.serveCode))
	h.registerStormUI(mux, handle)
	h.registerHistoryAndZK(handle)
	h.registerLogConfig(handle, post)
	h.registerFaults(post, opts.faults)
	h.registerEvents(mux, handle, opts.events, opts.stop)
	h.registerDebug(post)
	mux.Handle("GET "+api.PathMetrics, metricsHandler(svc, log))
	// The web UI serves what is not under /api/ (its own 404 and 405 for
	// paths and methods it does not serve); under /api/, what no route
	// matches gets the API's JSON error: 405 with Allow when the path has
	// routes for other methods, else 404.
	mux.Handle("/", ui.Handler(""))
	mux.Handle(apiPrefix, h.wrap(func(r *http.Request) (any, error) { return nil, unrouted(mux, r) }))
	return h.guard(mux)
}

// apiPrefix is the subtree of the API routes; the rest is the web UI's.
const apiPrefix = "/api/"

// unrouted is the error for a request under /api/ that no route took:
// ErrMethod listing in Allow the methods that some route serves at its path,
// or ErrNotFound.
func unrouted(mux *http.ServeMux, r *http.Request) error {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := &http.Request{Method: m, Host: r.Host, URL: r.URL}
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != apiPrefix {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		return fmt.Errorf("%w: no API at %s %s", api.ErrNotFound, r.Method, r.URL.Path)
	}
	return &methodError{method: r.Method, path: r.URL.Path, allow: allow}
}

// methodError is a 405: the reply's Allow header lists allow.
type methodError struct {
	method, path string
	allow        []string
}

func (e *methodError) Error() string {
	return fmt.Sprintf("%s %s: %v: use %s", e.method, e.path, api.ErrMethod, strings.Join(e.allow, " or "))
}

func (e *methodError) Unwrap() error { return api.ErrMethod }

// checkPathValues refuses, before fn runs, a topology or component id that
// cannot be one: decoded from %2F, %2e%2e, %00 and the like, it would reach
// ZooKeeper paths and directory names.
func checkPathValues(fn handlerFunc) handlerFunc {
	return func(r *http.Request) (any, error) {
		if err := pathValuesError(r); err != nil {
			return nil, err
		}
		return fn(r)
	}
}

func pathValuesError(r *http.Request) error {
	if id := r.PathValue("id"); id != "" && (strings.ContainsAny(id, disallowedNameChars) || strings.ContainsFunc(id, zkRefuses)) {
		return fmt.Errorf("%w: topology id %q: an id is NAME-COUNTER-LAUNCHSECS, and a NAME has none of %s; for the other characters, %s",
			api.ErrInvalid, id, strings.Join(strings.Split(disallowedNameChars, ""), " "), zkAllowedChars)
	}
	if c := r.PathValue("component"); c != "" && (c == "." || c == ".." || strings.Contains(c, "/") || strings.ContainsFunc(c, zkRefuses)) {
		return fmt.Errorf("%w: component id %q: a component id is not . or .., has no /, and for the other characters, %s",
			api.ErrInvalid, c, zkAllowedChars)
	}
	return nil
}

func statusOrActive(s string) string {
	if s == "" {
		return "ACTIVE"
	}
	return s
}

type apiHandler struct {
	svc       Service
	maxUpload int64
	maxJSON   int64
	hosts     map[string]bool
	logs      logRoots
	log       *slog.Logger
}

// wrap encodes a handler's value as JSON (JSONP for a GET with a valid
// ?callback=), or its error as {"error": "404 Not Found", "errorMessage"}
// with the status of the error's kind, as Storm UI does.
func (h *apiHandler) wrap(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cb, err := jsonpCallback(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		v, err := fn(r)
		status := http.StatusOK
		if err != nil {
			if cb == "" {
				h.writeError(w, r, err)
				return
			}
			status, v = h.errorReply(w, r, err)
		}
		if cb != "" {
			writeJSONP(w, status, cb, decorate(r, v))
			return
		}
		writeJSON(w, status, decorate(r, v))
	})
}

func (h *apiHandler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, reply := h.errorReply(w, r, err)
	writeJSON(w, status, reply)
}

// errorReply is the status and body of an error: Storm's {"error": "<code>
// <reason>", "errorMessage": ...}; a 405 sets Allow.
func (h *apiHandler) errorReply(w http.ResponseWriter, r *http.Request, err error) (int, *api.ErrorReply) {
	status := api.StatusOf(err)
	if me := (*methodError)(nil); errors.As(err, &me) {
		w.Header().Set("Allow", strings.Join(me.allow, ", "))
	}
	if status >= 500 {
		h.log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	return status, &api.ErrorReply{Error: fmt.Sprintf("%d %s", status, http.StatusText(status)), ErrorMessage: err.Error()}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (h *apiHandler) decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, h.maxJSON))
	if err := dec.Decode(v); err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return fmt.Errorf("%w: the JSON body is larger than %d bytes", api.ErrTooLarge, h.maxJSON)
		}
		return fmt.Errorf("%w: request body is not valid JSON: %v", api.ErrInvalid, err)
	}
	return nil
}

// action adapts a topology action to Storm UI's reply.
func (h *apiHandler) action(op string, fn func(r *http.Request, id string, wait int) error) handlerFunc {
	return func(r *http.Request) (any, error) {
		id := r.PathValue("id")
		wait := -1
		if s := r.PathValue("wait"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%s %s: %w: wait %q is not a number of seconds", op, id, api.ErrInvalid, s)
			}
			wait = n
		}
		if err := fn(r, id, wait); err != nil {
			return nil, err
		}
		return &api.ActionReply{TopologyOperation: op, TopologyID: id, Status: "success"}, nil
	}
}

// serveCode streams one file of a topology's code directory.
func (h *apiHandler) serveCode(w http.ResponseWriter, r *http.Request) {
	if err := pathValuesError(r); err != nil {
		h.writeError(w, r, err)
		return
	}
	f, err := h.svc.OpenCode(r.Context(), r.PathValue("id"), r.PathValue("file"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(f.Size, 10))
	w.Header().Set(api.HeaderCodeFile, f.Name)
	if f.SHA256 != "" {
		w.Header().Set(api.HeaderChecksum, f.SHA256)
	}
	if _, err := io.Copy(w, f); err != nil {
		h.log.Warn("code download interrupted", "path", r.URL.Path, "err", err)
	}
}

// sysParam reads Storm UI's sys parameter: 1 or true lists the system
// components (__acker, __system) too; absent, 0 or false leaves them out.
func sysParam(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("sys"); v {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	default:
		return false, fmt.Errorf("%w: sys=%q: use 1 (list the system components too) or 0", api.ErrInvalid, v)
	}
}

// notUsedMessages says, for the submit's answer, which keys of req
// localstorm accepts but does not use.
func notUsedMessages(req api.SubmitRequest) []string {
	var out []string
	for _, key := range NotUsedKeys(req) {
		out = append(out, config.NotUsedMessage(key))
	}
	return out
}
