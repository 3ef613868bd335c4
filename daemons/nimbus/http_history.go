package nimbus

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/localstorm/localstorm/api"
)

// registerHistoryAndZK serves the live history and the read-only ZooKeeper
// explorer (GET only: neither changes anything).
func (h *apiHandler) registerHistoryAndZK(handle func(string, handlerFunc)) {
	svc := h.svc
	history := func(r *http.Request) (any, error) {
		secs := 0
		if s := r.URL.Query().Get("secs"); s != "" {
			var err error
			if secs, err = strconv.Atoi(s); err != nil || secs < 0 {
				return nil, fmt.Errorf("%w: secs=%q: give a whole number of seconds, 0 or more", api.ErrInvalid, s)
			}
		}
		return svc.TopologyHistory(r.Context(), r.PathValue("id"), r.PathValue("component"), secs)
	}
	handle("GET "+api.PathTopology+"{id}/history", history)
	handle("GET "+api.PathTopology+"{id}/component/{component}/history", history)
	handle("GET "+api.PathZK, func(r *http.Request) (any, error) {
		path := r.URL.Query().Get("path")
		if path == "" {
			path = "/"
		}
		return svc.ZNode(r.Context(), path)
	})
}
