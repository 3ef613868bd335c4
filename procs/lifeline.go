package procs

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The lifeline: every child started by Launch gets, as file descriptor
// lifelineFD, the read end of a pipe whose write end only its owner holds and
// never writes. When the owner dies, however it dies, the kernel closes the
// write end and the child's read returns end-of-file: the child then kills
// what it started and itself (HoldLifeline). This is the portable way for
// children to die with their owner; Linux's parent-death signal, which
// macOS lacks, is kept there as a second guard.
const (
	// LifelineEnv names the variable that tells a child the descriptor of its
	// lifeline.
	LifelineEnv = "LOCALSTORM_LIFELINE_FD"
	// lifelineFD is the first of exec.Cmd.ExtraFiles.
	lifelineFD = 3
)

// parentDeathSignal switches the Linux parent-death signal on (where there
// is one); a test turns it off to prove that the lifeline alone, as on
// macOS, is enough.
var parentDeathSignal = true

// withLifeline returns env (nil meaning this process's environment) with
// LifelineEnv naming lifelineFD, and no other value of it.
func withLifeline(env []string) []string {
	if env == nil {
		env = os.Environ()
	}
	env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return strings.HasPrefix(kv, LifelineEnv+"=")
	})
	return append(env, LifelineEnv+"="+strconv.Itoa(lifelineFD))
}

// HoldLifeline is called early by a child that Launch started (a worker). It
// watches the lifeline its owner passed and, when the owner is gone, SIGKILLs
// the process groups registered with TrackGroup (the child's own children in
// groups of their own, such as multilang subprocesses, which know nothing of
// lifelines), then its own process group, then exits. It reports whether the
// process has a lifeline; a process started otherwise (by hand, by a test)
// has none and HoldLifeline does nothing.
func HoldLifeline() bool {
	v, ok := os.LookupEnv(LifelineEnv)
	if !ok {
		return false
	}
	// The claim is this process's, not its children's.
	os.Unsetenv(LifelineEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 0 {
		return false
	}
	f := os.NewFile(uintptr(fd), "lifeline")
	if f == nil {
		return false
	}
	closeOnExec(fd)
	go func() {
		var b [1]byte
		for {
			// The owner never writes: any return is the end of the owner,
			// or a broken descriptor, which is treated the same way.
			if _, err := f.Read(b[:]); err != nil {
				break
			}
		}
		lifelineLost()
	}()
	return true
}

// lifelineLost ends this process and everything it started.
func lifelineLost() {
	for _, pgid := range trackedGroups() {
		killGroup(pgid, sigKill)
	}
	killOwnGroup()
	os.Exit(137) // where the group kill did not reach this process
}

var tracked struct {
	sync.Mutex
	groups    map[int]int // pgid → registrations
	recordDir string      // where TrackGroup records the groups; empty: nowhere
}

// RecordTracked makes TrackGroup write a pid record of every group it
// registers into dir (a worker's pid dir), and remove it once the group is
// untracked. Should the process die without killing them (kill -9 of a
// worker), its owner's ReapOrphans on that dir kills what the records name,
// as Storm's supervisor kills every pid of a dead worker.
func RecordTracked(dir string) {
	tracked.Lock()
	defer tracked.Unlock()
	tracked.recordDir = dir
}

// TrackGroup registers the process group pgid of a child started outside
// Launch (in a group of its own, running path) to be killed when this
// process's lifeline breaks. Call the returned function once the child has
// been reaped.
func TrackGroup(pgid int, path string) (untrack func()) {
	tracked.Lock()
	defer tracked.Unlock()
	if tracked.groups == nil {
		tracked.groups = map[int]int{}
	}
	tracked.groups[pgid]++
	record := ""
	if tracked.recordDir != "" {
		var err error
		if record, err = writePidRecord(tracked.recordDir, pgid, path); err != nil {
			// The lifeline still covers the owner's death; only a kill -9
			// of this process would leave the group behind.
			fmt.Fprintf(os.Stderr, "procs: record process group %d: %v\n", pgid, err)
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			tracked.Lock()
			defer tracked.Unlock()
			if tracked.groups[pgid]--; tracked.groups[pgid] <= 0 {
				delete(tracked.groups, pgid)
			}
			if record != "" {
				os.Remove(record)
			}
		})
	}
}

func trackedGroups() []int {
	tracked.Lock()
	defer tracked.Unlock()
	out := make([]int, 0, len(tracked.groups))
	for pgid := range tracked.groups {
		out = append(out, pgid)
	}
	return out
}
