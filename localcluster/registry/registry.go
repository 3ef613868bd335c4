// Package registry is where running clusters are found by name: each
// `localstorm up` writes a record of itself (pid, API URL, ZooKeeper, data
// dir) that the other commands read.
package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/localstorm/localstorm/procs"
)

// A running `localstorm up` records itself in a small state file under the
// user's state directory, so that other commands find it by cluster name.

// Record is the state file of one running cluster.
type Record struct {
	Name          string    `json:"name"`
	PID           int       `json:"pid"`
	PIDStartTicks uint64    `json:"pidStartTicks"`
	APIURL        string    `json:"apiUrl"`
	ThriftAddr    string    `json:"thriftAddr,omitempty"` // Storm's Nimbus Thrift service
	ZooKeeper     string    `json:"zookeeper"`
	ZooKeeperMode string    `json:"zookeeperMode"`
	DataDir       string    `json:"dataDir"`
	Persistent    bool      `json:"persistent"`
	StartedAt     time.Time `json:"startedAt"`
	LogFile       string    `json:"logFile,omitempty"` // the log of a detached cluster
}

// ErrNoCluster says no running cluster has that name.
var ErrNoCluster = errors.New("no running cluster")

// ErrStaleCluster says the named cluster's state file belongs to a dead process.
var ErrStaleCluster = errors.New("cluster is not running (stale state file)")

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// ValidateName checks a cluster name.
func ValidateName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("cluster name %q: use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// StateDir is where cluster state files live: $LOCALSTORM_STATE_DIR, else
// $XDG_STATE_HOME/localstorm, else ~/.local/state/localstorm.
func StateDir() string {
	if d := os.Getenv("LOCALSTORM_STATE_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "localstorm")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "localstorm-state")
	}
	return filepath.Join(home, ".local", "state", "localstorm")
}

func recordPath(name string) string { return filepath.Join(StateDir(), name+".json") }

// LogPath is where a detached `up` of the cluster called name writes its
// log (its stdout and stderr); it stays after the cluster stops, for
// `localstorm export logs`.
func LogPath(name string) string { return filepath.Join(StateDir(), name+".log") }

// WriteRecord saves r atomically, readable by its owner only (0600 in a
// dir made 0700); the pid's start time is filled in.
func WriteRecord(r Record) error {
	if err := os.MkdirAll(StateDir(), 0o700); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	if r.PIDStartTicks == 0 {
		r.PIDStartTicks, _ = procs.StartTicks(r.PID)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := recordPath(r.Name) + ".tmp"
	// Removed first: WriteFile keeps the mode of a file left by a crash.
	_ = os.Remove(tmp)
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write cluster state file: %w", err)
	}
	return os.Rename(tmp, recordPath(r.Name))
}

// RemoveRecord deletes the state file of name if it is owned by pid.
func RemoveRecord(name string, pid int) {
	r, err := readRecord(name)
	if err == nil && r.PID == pid {
		_ = os.Remove(recordPath(name))
	}
}

func readRecord(name string) (*Record, error) {
	b, err := os.ReadFile(recordPath(name))
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("state file %s is corrupt: %w", recordPath(name), err)
	}
	return &r, nil
}

// Find returns the running cluster called name. A state file whose process is
// gone gives ErrStaleCluster (and the file is removed); none gives ErrNoCluster
// with the names of those that run.
func Find(name string) (*Record, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	r, err := readRecord(name)
	if errors.Is(err, os.ErrNotExist) {
		running := Running()
		if len(running) == 0 {
			return nil, fmt.Errorf("%w named %q: start one with `localstorm up --cluster %s`", ErrNoCluster, name, name)
		}
		names := make([]string, len(running))
		for i, r := range running {
			names[i] = r.Name
		}
		return nil, fmt.Errorf("%w named %q (running: %s): choose one with --cluster NAME", ErrNoCluster, name, strings.Join(names, ", "))
	}
	if err != nil {
		return nil, err
	}
	if !Alive(r.PID, r.PIDStartTicks) {
		_ = os.Remove(recordPath(name))
		return nil, fmt.Errorf("%w: cluster %q (pid %d) is gone, its state file was stale and is removed; start it again with `localstorm up --cluster %s`", ErrStaleCluster, name, r.PID, name)
	}
	return r, nil
}

// Running lists the clusters whose processes are alive, by name.
func Running() []Record {
	entries, _ := os.ReadDir(StateDir())
	var out []Record
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		r, err := readRecord(name)
		if err != nil || !Alive(r.PID, r.PIDStartTicks) {
			continue
		}
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Alive reports whether pid runs and, when startTicks is known, is the same
// process that was recorded (not a reused pid).
func Alive(pid int, startTicks uint64) bool {
	if pid <= 0 {
		return false
	}
	if startTicks == 0 {
		return procs.Running(pid)
	}
	return procs.Alive(pid, startTicks)
}
