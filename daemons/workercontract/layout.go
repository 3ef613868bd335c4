package workercontract

import (
	"fmt"
	"path/filepath"
	"strconv"
)

// Names inside a stormdist dir, nimbus's and the downloaded copy each
// supervisor keeps (the worker's --code-dir).
const (
	CodeFile       = "stormcode"          // a Go topology's binary
	FluxCodeFile   = "stormcode.tgz"      // a Flux topology's YAML and resources
	ConfFile       = "stormconf.json"     // the topology's configuration
	DefinitionFile = "stormtopology.json" // the topology's definition
	ResourcesDir   = "resources"          // unpacked Flux files, a binary's embedded resources
)

// LocalDir is a daemon's storm.local.dir; its methods name the paths of
// docs/internals.md under it.
type LocalDir string

func (d LocalDir) join(elem ...string) string {
	return filepath.Join(append([]string{string(d)}, elem...)...)
}

// NimbusInbox holds uploads in progress and uploaded code.
func (d LocalDir) NimbusInbox() string { return d.join("nimbus", "inbox") }

// NimbusStormdist holds one code dir per topology, named by its id.
func (d LocalDir) NimbusStormdist() string { return d.join("nimbus", "stormdist") }

// SupervisorLocalState is the supervisor's LocalState: its local
// assignments and approved workers (Storm's supervisorState).
func (d LocalDir) SupervisorLocalState() string { return d.join("supervisor", "localstate") }

// SupervisorISupervisor is the LocalState of the supervisor's ISupervisor,
// where Storm's StandaloneSupervisor keeps the supervisor's id (Storm's
// supervisorIsupervisorDir).
func (d LocalDir) SupervisorISupervisor() string { return d.join("supervisor", "isupervisor") }

// SupervisorTmp holds downloads in progress.
func (d LocalDir) SupervisorTmp() string { return d.join("supervisor", "tmp") }

// SupervisorStormdist holds the supervisor's copy of each code dir.
func (d LocalDir) SupervisorStormdist() string { return d.join("supervisor", "stormdist") }

// CodeDir is the supervisor's copy of a topology's code, its workers'
// --code-dir.
func (d LocalDir) CodeDir(topologyID string) string {
	return filepath.Join(d.SupervisorStormdist(), topologyID)
}

// Workers holds one dir per worker, named by its worker id.
func (d LocalDir) Workers() string { return d.join("workers") }

// Worker is the dir of one worker, the working dir of its process.
func (d LocalDir) Worker(workerID string) string { return filepath.Join(d.Workers(), workerID) }

// Heartbeats is the worker's LocalState of its local heartbeat.
func (d LocalDir) Heartbeats(workerID string) string {
	return filepath.Join(d.Worker(workerID), "heartbeats")
}

// Pids holds the supervisor's pid records of the worker's processes.
func (d LocalDir) Pids(workerID string) string { return filepath.Join(d.Worker(workerID), "pids") }

// MultilangPids is where the worker's multilang subprocesses create their
// pid files (Storm's protocol: an empty file named by the pid). It is apart
// from Pids, whose files are the supervisor's records.
func (d LocalDir) MultilangPids(workerID string) string {
	return filepath.Join(d.Worker(workerID), "multilang-pids")
}

// Logs holds the log files of the worker of a topology on a port.
func (d LocalDir) Logs(topologyID string, port int) string {
	return d.join("logs", topologyID, strconv.Itoa(port))
}

// WorkerLogPattern matches the log files a worker's process writes into its
// Logs dir (procs.OutLogName, procs.ErrLogName).
const WorkerLogPattern = "worker.*.log"

// DataDir is a localcluster's data dir, where nimbus and each supervisor
// get a local dir of their own as they would on separate machines.
type DataDir string

// Nimbus is nimbus's local dir.
func (d DataDir) Nimbus() LocalDir { return LocalDir(filepath.Join(string(d), "nimbus")) }

// Supervisor is the local dir of the supervisor numbered i (from 0).
func (d DataDir) Supervisor(i int) LocalDir {
	return LocalDir(filepath.Join(string(d), fmt.Sprintf("supervisor-%d", i)))
}

// WorkerLogs is a filepath.Glob pattern of the worker log files of a
// topology on a port in every supervisor's local dir; an empty topologyID or
// a port 0 matches any.
func (d DataDir) WorkerLogs(topologyID string, port int) string {
	topo, slot := topologyID, strconv.Itoa(port)
	if topo == "" {
		topo = "*"
	}
	if port == 0 {
		slot = "*"
	}
	return filepath.Join(string(d), "supervisor-*", "logs", topo, slot, WorkerLogPattern)
}
