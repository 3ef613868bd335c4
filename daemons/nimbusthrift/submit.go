package nimbusthrift

import (
	"context"

	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
)

// SubmitTopology is submitTopology.
func (h *Handler) SubmitTopology(ctx context.Context, name, uploadedJarLocation, jsonConf string, topo *storm.StormTopology) error {
	return h.SubmitTopologyWithOpts(ctx, name, uploadedJarLocation, jsonConf, topo, nil)
}

// SubmitTopologyWithOpts is submitTopologyWithOpts.
func (h *Handler) SubmitTopologyWithOpts(ctx context.Context, name, uploadedJarLocation, jsonConf string, topo *storm.StormTopology, options *storm.SubmitOptions) error {
	return &storm.InvalidTopologyException{Msg: "submitTopology is not served yet"}
}
