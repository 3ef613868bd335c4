package nimbus

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/localstorm/localstorm/api"
)

// FaultInjector is the hook through which the process that owns the daemons
// (a localcluster: `localstorm up`) injects faults on request. Nimbus owns no
// processes and cannot do them itself: it only serves the requests, behind
// the API's rules (a cross-origin POST is refused), and passes each on.
type FaultInjector interface {
	// InjectFault does fault (one of api.Faults) as req says. Its error
	// wraps an api error kind (api.ErrInvalid, api.ErrNotFound, ...) for
	// the reply's status.
	InjectFault(ctx context.Context, fault string, req api.FaultRequest) (*api.FaultReply, error)
}

// registerFaults serves POST /api/v1/faults/<fault> through inj; with no
// injector nothing is registered and the paths are the API's 404.
func (h *apiHandler) registerFaults(post func(path, contentType string, fn handlerFunc), inj FaultInjector) {
	if inj == nil {
		return
	}
	post(api.PathFaults+"{fault}", api.ContentTypeJSON, func(r *http.Request) (any, error) {
		fault := r.PathValue("fault")
		if !slices.Contains(api.Faults, fault) {
			return nil, fmt.Errorf("%w: no fault %q: the faults are %s", api.ErrNotFound, fault, strings.Join(api.Faults, ", "))
		}
		var req api.FaultRequest
		if r.ContentLength != 0 {
			if err := h.decodeJSON(r, &req); err != nil {
				return nil, err
			}
		}
		h.log.Warn("injecting a fault on request", "fault", fault, "topology", req.Topology, "port", req.Port, "supervisor", req.Supervisor, "daemon", req.Daemon, "remote", r.RemoteAddr)
		return inj.InjectFault(r.Context(), fault, req)
	})
}
