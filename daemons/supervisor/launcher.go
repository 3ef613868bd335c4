package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/workercontract"
)

// WorkerLauncher returns the program and leading arguments that run a worker
// of the topology downloaded into codeDir, whose stormconf.json is conf. The
// supervisor appends the flags of docs/internals.md ("The worker command line").
type WorkerLauncher func(codeDir string, conf config.Conf) (path string, args []string, err error)

// DefaultWorkerLauncher runs a Go topology as `{codeDir}/stormcode worker`
// and a Flux topology (stormcode.tgz unpacked into {codeDir}/resources) as
// `localstorm worker --flux {codeDir}/resources/<the one .yaml>`, with
// localstormPath as the localstorm executable (empty: os.Executable()).
func DefaultWorkerLauncher(localstormPath string) WorkerLauncher {
	return func(codeDir string, _ config.Conf) (string, []string, error) {
		binary := filepath.Join(codeDir, workercontract.CodeFile)
		if _, err := os.Stat(binary); err == nil {
			return binary, workercontract.GoCommand(), nil
		}
		resources := filepath.Join(codeDir, workercontract.ResourcesDir)
		if _, err := os.Stat(resources); err != nil {
			return "", nil, fmt.Errorf("%s holds neither %s nor unpacked Flux %s", codeDir, workercontract.CodeFile, workercontract.ResourcesDir)
		}
		yaml, err := fluxDefinition(resources)
		if err != nil {
			return "", nil, err
		}
		exe := localstormPath
		if exe == "" {
			if exe, err = os.Executable(); err != nil {
				return "", nil, fmt.Errorf("find the localstorm executable for a Flux worker: %w", err)
			}
		}
		return exe, workercontract.FluxCommand(yaml), nil
	}
}

// fluxDefinition finds the one YAML file at the top of a Flux resources dir.
func fluxDefinition(resources string) (string, error) {
	entries, err := os.ReadDir(resources)
	if err != nil {
		return "", fmt.Errorf("read Flux resources: %w", err)
	}
	var found []string
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() && (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			found = append(found, filepath.Join(resources, name))
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("Flux resources %s: want exactly one .yaml topology definition at the top, found %d %v", resources, len(found), found)
	}
	return found[0], nil
}
