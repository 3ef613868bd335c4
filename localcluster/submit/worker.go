package submit

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/topology"
	"github.com/localstorm/localstorm/topology/flux"
)

// ReadTopologyConf reads the stormconf.json of a code dir.
func ReadTopologyConf(codeDir string) (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join(codeDir, api.CodeFileConf))
	if err != nil {
		return nil, fmt.Errorf("read topology conf: %w", err)
	}
	var conf map[string]any
	if err := json.Unmarshal(b, &conf); err != nil {
		return nil, fmt.Errorf("%s: %w", api.CodeFileConf, err)
	}
	return conf, nil
}

// WorkerTopology rebuilds the topology a localstorm worker runs: a Flux file
// (given, or named in stormconf.json and shipped in resources/), or one of
// builtins, named by ConfBuiltin in stormconf.json.
func WorkerTopology(codeDir, fluxFile string, builtins map[string]func() *topology.Builder) (*topology.Topology, error) {
	conf, err := ReadTopologyConf(codeDir)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	if fluxFile == "" {
		if f, ok := conf[ConfFluxFile].(string); ok {
			fluxFile = filepath.Join(codeDir, workercontract.ResourcesDir, f)
		}
	}
	if fluxFile != "" {
		t, err := flux.Load(fluxFile, environ())
		if err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
		return t, nil
	}
	if name, ok := conf[ConfBuiltin].(string); ok && builtins[name] != nil {
		return builtins[name]().Build()
	}
	return nil, fmt.Errorf("worker: the topology in %s is neither a Flux topology nor built into this binary: run its own binary's worker", codeDir)
}
