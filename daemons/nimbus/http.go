package nimbus

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/nimbus/ui"
)

// maxJSONBody bounds JSON request bodies (a submit carries a definition).
const maxJSONBody = 16 << 20

// handlerFunc is an API handler: it returns the value to encode as JSON.
type handlerFunc func(r *http.Request) (any, error)

// newHandler serves svc over HTTP: Storm UI's REST paths for reads and
// actions, plus upload, submit and code download.
func newHandler(svc Service, maxUpload int64, log *slog.Logger) http.Handler {
	h := &apiHandler{svc: svc, maxUpload: maxUpload, log: log}
	mux := http.NewServeMux()
	handle := func(pattern string, fn handlerFunc) { mux.Handle(pattern, h.wrap(fn)) }
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
	handle("POST "+api.PathTopology+"{id}/activate", h.action("activate", func(r *http.Request, id string, _ int) error { return svc.Activate(r.Context(), id) }))
	handle("POST "+api.PathTopology+"{id}/deactivate", h.action("deactivate", func(r *http.Request, id string, _ int) error { return svc.Deactivate(r.Context(), id) }))
	kill := h.action("kill", func(r *http.Request, id string, wait int) error { return svc.Kill(r.Context(), id, wait) })
	handle("POST "+api.PathTopology+"{id}/kill", kill)
	handle("POST "+api.PathTopology+"{id}/kill/{wait}", kill)
	rebalance := h.action("rebalance", func(r *http.Request, id string, wait int) error {
		var req api.RebalanceRequest
		if r.ContentLength != 0 {
			if err := decodeJSON(r, &req); err != nil {
				return err
			}
		}
		o := req.RebalanceOptions
		return svc.Rebalance(r.Context(), id, wait, o.NumWorkers, o.Executors)
	})
	handle("POST "+api.PathTopology+"{id}/rebalance", rebalance)
	handle("POST "+api.PathTopology+"{id}/rebalance/{wait}", rebalance)
	handle("POST "+api.PathUploads, func(r *http.Request) (any, error) {
		body := http.MaxBytesReader(nil, r.Body, maxUpload)
		reply, err := svc.Upload(r.Context(), body, r.Header.Get(api.HeaderChecksum))
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return nil, fmt.Errorf("upload: %w: the code is larger than %s = %d bytes", api.ErrTooLarge, MaxUploadBytes, maxUpload)
		}
		return reply, err
	})
	handle("POST "+api.PathTopologies, func(r *http.Request) (any, error) {
		var req api.SubmitRequest
		if err := decodeJSON(r, &req); err != nil {
			return nil, err
		}
		id, err := svc.Submit(r.Context(), req)
		if err != nil {
			return nil, err
		}
		return &api.SubmitReply{TopologyID: id, Name: req.Name, Status: statusOrActive(req.InitialStatus)}, nil
	})
	mux.Handle("GET "+api.PathTopology+"{id}/code/{file}", http.HandlerFunc(h.serveCode))
	notFound := h.wrap(func(r *http.Request) (any, error) {
		return nil, fmt.Errorf("%w: no API at %s %s", api.ErrNotFound, r.Method, r.URL.Path)
	})
	// The web UI serves the GETs that no API route matches; an unknown path
	// under /api/ still gets the API's JSON error.
	mux.Handle("GET /", ui.Handler(""))
	mux.Handle("GET /api/", notFound)
	mux.Handle("/", notFound)
	return mux
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
	log       *slog.Logger
}

// wrap encodes a handler's value as JSON, or its error as {"error",
// "errorMessage"} with the status of the error's kind.
func (h *apiHandler) wrap(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

func (h *apiHandler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := api.StatusOf(err)
	if status >= 500 {
		h.log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, api.ErrorReply{Error: http.StatusText(status), ErrorMessage: err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxJSONBody))
	if err := dec.Decode(v); err != nil {
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
