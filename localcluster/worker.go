package localcluster

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/topology"
	"github.com/localstorm/localstorm/topology/flux"
)

// SplitFluxFlag takes `--flux FILE` (or --flux=FILE) out of a worker command
// line: supervisors start Flux workers as `localstorm worker --flux FILE FLAGS`.
func SplitFluxFlag(args []string) (fluxFile string, rest []string) {
	rest = make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--flux" && i+1 < len(args):
			fluxFile = args[i+1]
			i++
		case strings.HasPrefix(args[i], "--flux="):
			fluxFile = strings.TrimPrefix(args[i], "--flux=")
		default:
			rest = append(rest, args[i])
		}
	}
	return fluxFile, rest
}

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
			fluxFile = filepath.Join(codeDir, "resources", f)
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
