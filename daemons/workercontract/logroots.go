package workercontract

import "path/filepath"

// LogsRoot holds the Logs dirs of every worker of this local dir
// (<topology-id>/<port>/ under it), and a daemon's own log files.
func (d LocalDir) LogsRoot() string { return d.join("logs") }

// WorkerLogRoots is a filepath.Glob pattern of the LogsRoot of every
// supervisor's local dir, which nimbus's logviewer API serves.
func (d DataDir) WorkerLogRoots() string {
	return filepath.Join(string(d), "supervisor-*", "logs")
}
