package procs

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/localstorm/localstorm/internal/errlist"
)

// PidRecord is the file <PidDir>/<pid> written while a child runs. The start
// time tells the process apart from a later one that reuses its pid.
type PidRecord struct {
	V   int `json:"v"`
	Pid int `json:"pid"`
	// StartTicks is the process's start time in the operating system's
	// own unit: clock ticks since boot on Linux (field 22 of
	// /proc/<pid>/stat), microseconds since the epoch on macOS (the
	// kernel's p_starttime). Records are only read on the machine that
	// wrote them.
	StartTicks uint64 `json:"startTicks"`
	Path       string `json:"path"`
	// OwnerPid is the process that launched the child.
	OwnerPid int `json:"ownerPid"`
}

func writePidRecord(dir string, pid int, path string) (string, error) {
	ticks, err := StartTicks(pid)
	if err != nil {
		return "", fmt.Errorf("read start time of pid %d: %w", pid, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create pid dir: %w", err)
	}
	data, err := json.Marshal(PidRecord{V: 1, Pid: pid, StartTicks: ticks, Path: path, OwnerPid: os.Getpid()})
	if err != nil {
		return "", err
	}
	name := filepath.Join(dir, strconv.Itoa(pid))
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return "", fmt.Errorf("write pid record: %w", err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return "", fmt.Errorf("write pid record: %w", err)
	}
	return name, nil
}

// ParsePidRecord decodes a pid record file.
func ParsePidRecord(data []byte) (PidRecord, error) {
	var rec PidRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("decode pid record: %w", err)
	}
	if rec.Pid <= 1 {
		return rec, fmt.Errorf("decode pid record: pid %d is not a child process", rec.Pid)
	}
	if rec.StartTicks == 0 {
		return rec, errors.New("decode pid record: no start time")
	}
	return rec, nil
}

// StartTicks returns the start time of pid in the operating system's own
// unit (see PidRecord.StartTicks): together with the pid it names one process.
func StartTicks(pid int) (uint64, error) {
	st, err := inspect(pid)
	return st.start, err
}

// procState is what the platform tells of a process: its start time and
// whether it is a zombie (ended, not yet reaped).
type procState struct {
	start  uint64
	zombie bool
}

// Running reports whether pid is a live process (a zombie is not).
func Running(pid int) bool {
	st, err := inspect(pid)
	return err == nil && !st.zombie
}

// Alive reports whether pid runs with the given start time (a zombie or a
// different process under the same pid is not alive).
func Alive(pid int, startTicks uint64) bool {
	st, err := inspect(pid)
	return err == nil && st.start == startTicks && !st.zombie
}

// reapWait bounds how long ReapOrphans waits for a killed orphan to vanish.
const reapWait = 5 * time.Second

// ReapOrphans kills the process groups recorded in pidDir by an owner that
// died (or was stopped) without shutting its children down, and removes the
// records. Call it only on pid dirs whose processes no live Process manages. A record
// whose pid is gone, or now belongs to a process with another start time (a
// reused pid), is only removed: nothing is killed then. It returns how many
// processes it killed. A missing pidDir is not an error.
func ReapOrphans(pidDir string, logger *slog.Logger) (int, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	entries, err := os.ReadDir(pidDir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reap orphans: read %s: %w", pidDir, err)
	}
	killed := 0
	var errs []error
	for _, e := range entries {
		if e.IsDir() {
			continue // not a record
		}
		name := filepath.Join(pidDir, e.Name())
		data, err := os.ReadFile(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("reap orphans: %w", err))
			continue
		}
		rec, err := ParsePidRecord(data)
		if err != nil {
			logger.Warn("removing unreadable pid record", "file", name, "err", err)
			os.Remove(name)
			continue
		}
		if !Alive(rec.Pid, rec.StartTicks) {
			logger.Info("pid record of a process already gone", "pid", rec.Pid, "path", rec.Path)
			os.Remove(name)
			continue
		}
		logger.Info("killing orphaned process group", "pid", rec.Pid, "path", rec.Path, "owner", rec.OwnerPid)
		if err := killGroup(rec.Pid, syscall.SIGKILL); err != nil {
			errs = append(errs, fmt.Errorf("reap orphan pid %d: %w", rec.Pid, err))
			continue
		}
		deadline := time.Now().Add(reapWait)
		for Alive(rec.Pid, rec.StartTicks) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if Alive(rec.Pid, rec.StartTicks) {
			errs = append(errs, fmt.Errorf("reap orphan pid %d: still alive %s after SIGKILL", rec.Pid, reapWait))
			continue
		}
		killed++
		os.Remove(name)
	}
	return killed, errlist.Join(errs...)
}
