package nimbusthrift

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
)

// SubmitTopology is submitTopology.
func (h *Handler) SubmitTopology(ctx context.Context, name, uploadedJarLocation, jsonConf string, topo *storm.StormTopology) error {
	return h.SubmitTopologyWithOpts(ctx, name, uploadedJarLocation, jsonConf, topo, nil)
}

// SubmitTopologyWithOpts is submitTopologyWithOpts: the StormTopology is
// translated into a Flux topology (translate.go), the uploaded jar's
// resources/ become its resources (jar.go), and nimbus takes them as any
// Flux topology's code. The upload is used up, whatever the outcome.
//
// A name Storm does not allow, a topology localstorm cannot run and a bad
// configuration are InvalidTopologyException; a name a live topology has
// is AlreadyAliveException("<name> is already alive"), as Storm's.
func (h *Handler) SubmitTopologyWithOpts(ctx context.Context, name, uploadedJarLocation, jsonConf string, topo *storm.StormTopology, options *storm.SubmitOptions) error {
	u, err := h.takeUpload(uploadedJarLocation)
	if err != nil {
		return invalid("%v", err)
	}
	defer u.remove()
	if err := h.b.CheckSubmitName(ctx, name); err != nil {
		return submitError(name, err)
	}
	conf := map[string]any{}
	if jsonConf != "" {
		if conf, err = parseConf(jsonConf); err != nil {
			return invalid("topology configuration: %v", err)
		}
	}
	doc, err := toFlux(name, topo)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(h.spoolDir, ".thrift-submit-*")
	if err != nil {
		return fmt.Errorf("submit %s: %w", name, err)
	}
	defer os.RemoveAll(dir)
	def, err := loadFlux(dir, doc)
	if err != nil {
		return err
	}
	if err := checkBuiltinStreams(topo, def); err != nil {
		return err
	}
	code, sum, err := packCode(dir, u, doc)
	if err != nil {
		return err
	}
	defer code.Close()
	reply, err := h.b.Upload(ctx, code, sum)
	if err != nil {
		return fmt.Errorf("submit %s: store code: %w", name, err)
	}
	req := api.SubmitRequest{Name: name, UploadID: reply.UploadID, SHA256: sum, Kind: api.KindFlux, Definition: def, Conf: conf}
	if options != nil && options.InitialStatus == storm.TopologyInitialStatus_INACTIVE {
		req.InitialStatus = string(cluster.StatusInactive)
	}
	if _, err := h.b.Submit(ctx, req); err != nil {
		return submitError(name, err)
	}
	return nil
}

// packCode writes the Flux resources archive into dir and returns it open
// at its start, with its SHA-256.
func packCode(dir string, u *upload, doc []byte) (*os.File, string, error) {
	f, err := os.CreateTemp(dir, "stormcode-*.tgz")
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	if err := packResources(io.MultiWriter(f, h), u.f, u.size, doc); err != nil {
		f.Close()
		var ite *storm.InvalidTopologyException
		if errors.As(err, &ite) {
			return nil, "", ite
		}
		return nil, "", fmt.Errorf("pack the jar's resources: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, "", err
	}
	return f, hex.EncodeToString(h.Sum(nil)), nil
}

// submitError maps nimbus's submit errors to Storm's exceptions.
func submitError(name string, err error) error {
	switch {
	case errors.Is(err, api.ErrConflict):
		return &storm.AlreadyAliveException{Msg: name + " is already alive"}
	case errors.Is(err, api.ErrInvalid):
		return &storm.InvalidTopologyException{Msg: err.Error()}
	}
	return err
}
