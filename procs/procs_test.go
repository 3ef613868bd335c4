package procs

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/testutil"
)

// The test binary doubles as the child programs: helperEnv selects a mode.
const (
	helperEnv   = "LOCALSTORM_PROCS_HELPER"
	readyPrefix = "localstorm-worker-ready"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

func printReady() { fmt.Printf("%s port=0 pid=%d\n", readyPrefix, os.Getpid()) }

// term receives SIGTERM; installed before the ready line so that a prompt
// Shutdown finds the handler in place.
var term = make(chan os.Signal, 1)

func waitTerm() int {
	<-term
	return 0
}

func runHelper(mode string) int {
	signal.Notify(term, syscall.SIGTERM)
	switch mode {
	case "ready":
		printReady()
		return waitTerm()
	case "ready-exit":
		printReady()
		return 0
	case "silent":
		return waitTerm()
	case "fail":
		fmt.Fprintln(os.Stderr, "boom: bad config key x.y")
		return 3
	case "ignoreterm":
		signal.Reset(syscall.SIGTERM)
		signal.Ignore(syscall.SIGTERM)
		printReady()
		select {}
	case "chatty":
		n, _ := strconv.Atoi(os.Getenv("CHATTY_BYTES"))
		line := strings.Repeat("x", 99) + "\n"
		for i := 0; i < n/100; i++ {
			os.Stdout.WriteString(line)
			os.Stderr.WriteString(line)
		}
		printReady()
		return waitTerm()
	case "forker":
		// A member of the group left behind when the leader exits on SIGTERM.
		sleeper := exec.Command("sleep", "300")
		if err := sleeper.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("%s port=0 pid=%d child=%d\n", readyPrefix, os.Getpid(), sleeper.Process.Pid)
		return waitTerm()
	case "parent", "lifeline-parent":
		child := "ready"
		if mode == "lifeline-parent" {
			// As on macOS: nothing but the lifeline ties the child to us.
			parentDeathSignal = false
			child = "lifeline-child"
		}
		p, err := Launch(context.Background(), helperSpec(os.Getenv("PARENT_DIR"), child))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("child-pid=%d\n", p.Pid())
		select {}
	case "lifeline-child":
		// A worker: it holds its lifeline and runs a foreign child (as a
		// multilang subprocess is) in a process group of its own.
		if !HoldLifeline() {
			fmt.Fprintln(os.Stderr, "no lifeline")
			return 1
		}
		foreign := exec.Command("sleep", "300")
		foreign.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := foreign.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer TrackGroup(foreign.Process.Pid, "sleep")()
		pidFile := filepath.Join(os.Getenv("PARENT_DIR"), "foreign-pid")
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(foreign.Process.Pid)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		printReady()
		return waitTerm()
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 2
}

func helperSpec(dir, mode string) Spec {
	exe, _ := os.Executable()
	return Spec{
		Path: exe,
		// GORACE: the race detector would sleep 1 s before every exit.
		Env:          append(os.Environ(), helperEnv+"="+mode, "GORACE=atexit_sleep_ms=0"),
		LogDir:       filepath.Join(dir, "logs"),
		ReadyPrefix:  readyPrefix,
		ReadyTimeout: 20 * time.Second,
		PidDir:       filepath.Join(dir, "pids"),
	}
}

func processGone(pid int) bool { return !Running(pid) }

func launch(t *testing.T, spec Spec) *Process {
	t.Helper()
	p, err := Launch(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown(syscall.SIGKILL, 0) })
	return p
}

func TestLaunchHandshakeAndGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	p := launch(t, helperSpec(dir, "ready"))
	if pgid, err := syscall.Getpgid(p.Pid()); err != nil || pgid != p.Pid() {
		t.Fatalf("child pgid = %d, %v; want its own group %d", pgid, err, p.Pid())
	}
	record := filepath.Join(dir, "pids", strconv.Itoa(p.Pid()))
	if _, err := os.Stat(record); err != nil {
		t.Fatalf("pid record missing while running: %v", err)
	}
	if es := p.ExitState(); es.Pid != 0 {
		t.Fatalf("ExitState while running = %+v, want zero", es)
	}
	if err := p.Shutdown(syscall.SIGTERM, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	es := p.ExitState()
	if es.Pid != p.Pid() || es.Code != 0 || es.Signal != 0 || es.Time.IsZero() {
		t.Fatalf("exit state after SIGTERM = %+v, want pid %d code 0", es, p.Pid())
	}
	if _, err := os.Stat(record); !os.IsNotExist(err) {
		t.Fatalf("pid record still there after exit: %v", err)
	}
	<-p.logsDone
	out, err := os.ReadFile(filepath.Join(dir, "logs", OutLogName))
	if err != nil || !strings.HasPrefix(string(out), readyPrefix) {
		t.Fatalf("stdout log = %q, %v; want the ready line", out, err)
	}
}

func TestLaunchFailures(t *testing.T) {
	tests := []struct {
		name    string
		mode    string
		timeout time.Duration
		want    []string
	}{
		{"early exit quotes stderr", "fail", 20 * time.Second, []string{"exited before its ready line", "exited with code 3", "boom: bad config key x.y"}},
		{"handshake timeout kills", "silent", 300 * time.Millisecond, []string{"no ready line", "killed its process group"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			spec := helperSpec(dir, tc.mode)
			spec.ReadyTimeout = tc.timeout
			p, err := Launch(t.Context(), spec)
			if err == nil {
				p.Shutdown(syscall.SIGKILL, 0)
				t.Fatal("Launch succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			// No child may be left: the pid dir is empty once it was reaped.
			testutil.Eventually(t, 5*time.Second, "pid record removal", func() bool {
				entries, _ := os.ReadDir(filepath.Join(dir, "pids"))
				return len(entries) == 0
			})
		})
	}
}

// TestReadyThenExit: a child that prints its ready line and exits at once
// was launched; its exit shows on Done, not as a launch error.
func TestReadyThenExit(t *testing.T) {
	for range 5 {
		p, err := Launch(t.Context(), helperSpec(t.TempDir(), "ready-exit"))
		if err != nil {
			t.Fatalf("Launch: %v", err)
		}
		select {
		case <-p.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the child did not exit")
		}
		if es := p.ExitState(); es.Code != 0 {
			t.Fatalf("exit state %+v, want code 0", es)
		}
	}
}

func TestLaunchBadSpec(t *testing.T) {
	for _, spec := range []Spec{{LogDir: t.TempDir()}, {Path: "/bin/true"}, {Path: "/nonexistent/prog", LogDir: t.TempDir()}} {
		if p, err := Launch(t.Context(), spec); err == nil {
			p.Shutdown(syscall.SIGKILL, 0)
			t.Errorf("Launch(%+v) succeeded, want an error", spec)
		}
	}
}

func TestLaunchContextCancel(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := Launch(ctx, helperSpec(dir, "silent")); err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("Launch with an expiring context: %v, want deadline exceeded", err)
	}
}

func TestShutdownEscalatesToSIGKILL(t *testing.T) {
	p := launch(t, helperSpec(t.TempDir(), "ignoreterm"))
	start := time.Now()
	if err := p.Shutdown(syscall.SIGTERM, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Fatalf("Shutdown returned after %s, before the grace period", waited)
	}
	if es := p.ExitState(); es.Signal != syscall.SIGKILL || es.Code != -1 {
		t.Fatalf("exit state = %+v, want killed by SIGKILL", es)
	}
	// A second Shutdown of an ended process is a no-op.
	if err := p.Shutdown(syscall.SIGTERM, time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestDumpBeforeKill: a child that ignores SIGTERM gets SIGQUIT when its
// grace is over, and its goroutine dump is in its stderr log.
func TestDumpBeforeKill(t *testing.T) {
	t.Cleanup(DumpBeforeKill(10 * time.Second))
	dir := t.TempDir()
	p := launch(t, helperSpec(dir, "ignoreterm"))
	start := time.Now()
	if err := p.Shutdown(syscall.SIGTERM, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("Shutdown took %s: the child did not end on SIGQUIT", waited)
	}
	// The Go runtime exits with code 2 after the dump.
	if es := p.ExitState(); es.Code != 2 {
		t.Errorf("exit state = %+v, want code 2 after SIGQUIT", es)
	}
	errLog, err := os.ReadFile(filepath.Join(dir, "logs", ErrLogName))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SIGQUIT: quit", "goroutine 1 ", "procs.runHelper"} {
		if !strings.Contains(string(errLog), want) {
			t.Fatalf("stderr log has no %q:\n%s", want, errLog)
		}
	}
}

// TestDumpBeforeKillOverlapping: dumps stay on until every caller stopped
// them, and stopping twice counts once.
func TestDumpBeforeKillOverlapping(t *testing.T) {
	first := DumpBeforeKill(time.Second)
	second := DumpBeforeKill(time.Second)
	first()
	first()
	if dumpWait() != time.Second {
		t.Fatalf("dumps off while a caller still holds them")
	}
	second()
	if w := dumpWait(); w != 0 {
		t.Fatalf("dump wait %s after every caller stopped, want 0", w)
	}
}

// launchForker launches the "forker" helper and returns it with the pid of
// the child it started in its process group.
func launchForker(t *testing.T) (*Process, int) {
	t.Helper()
	dir := t.TempDir()
	p := launch(t, helperSpec(dir, "forker"))
	out, err := os.ReadFile(filepath.Join(dir, "logs", OutLogName))
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(out), "child=")
	child, err := strconv.Atoi(strings.TrimSpace(after))
	if err != nil {
		t.Fatalf("no child pid in %q: %v", out, err)
	}
	return p, child
}

func TestShutdownKillsWholeGroup(t *testing.T) {
	p, child := launchForker(t)
	if processGone(child) {
		t.Fatalf("grandchild %d not running", child)
	}
	if err := p.Shutdown(syscall.SIGTERM, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "the group member left behind to die", func() bool { return processGone(child) })
}

// TestShutdownAfterCrashKillsLeftovers: the leader was SIGKILLed from
// outside (kill -9 of a worker); Shutdown of the ended process still kills
// the children it left in its group.
func TestShutdownAfterCrashKillsLeftovers(t *testing.T) {
	p, child := launchForker(t)
	syscall.Kill(p.Pid(), syscall.SIGKILL)
	<-p.Done()
	if processGone(child) {
		t.Fatal("the child died with its leader; nothing left to test")
	}
	if err := p.Shutdown(syscall.SIGTERM, time.Second); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "the leftover child to die", func() bool { return processGone(child) })
}

func TestLogRotationBounds(t *testing.T) {
	dir := t.TempDir()
	spec := helperSpec(dir, "chatty")
	spec.Env = append(spec.Env, "CHATTY_BYTES=20000")
	spec.LogMaxBytes = 1000
	spec.LogMaxFiles = 3
	p := launch(t, spec)
	if err := p.Shutdown(syscall.SIGTERM, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	<-p.logsDone
	for _, name := range []string{OutLogName, ErrLogName} {
		matches, _ := filepath.Glob(filepath.Join(dir, "logs", name+"*"))
		if len(matches) != 3 {
			t.Errorf("%s: %d files %v, want 3 (live + 2 rotations)", name, len(matches), matches)
		}
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil || st.Size() > 1000 {
				t.Errorf("%s: size %d, %v; want at most 1000", m, st.Size(), err)
			}
		}
	}
	out, _ := os.ReadFile(filepath.Join(dir, "logs", OutLogName))
	if !strings.Contains(string(out), readyPrefix) {
		t.Errorf("live stdout log lacks the last line written (the ready line): %q", out)
	}
}

func TestRotatingFileKeepsTheTail(t *testing.T) {
	tests := []struct {
		maxBytes int64
		maxFiles int
		writes   int
	}{
		{100, 1, 10},
		{100, 2, 10},
		{64, 4, 100},
		{1 << 20, 3, 50},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d-%d-%d", tc.maxBytes, tc.maxFiles, tc.writes), func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "x.log")
			r, err := newRotatingFile(name, tc.maxBytes, tc.maxFiles)
			if err != nil {
				t.Fatal(err)
			}
			var all strings.Builder
			for i := 0; i < tc.writes; i++ {
				s := fmt.Sprintf("line %04d of the log\n", i)
				all.WriteString(s)
				if n, err := r.Write([]byte(s)); err != nil || n != len(s) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			r.Close()
			var kept string
			for i := tc.maxFiles - 1; i >= 1; i-- {
				data, err := os.ReadFile(rotatedName(name, i))
				if err == nil {
					kept += string(data)
				}
			}
			if _, err := os.Stat(rotatedName(name, tc.maxFiles)); err == nil {
				t.Errorf("rotation %d exists beyond maxFiles", tc.maxFiles)
			}
			data, _ := os.ReadFile(name)
			kept += string(data)
			if int64(len(kept)) > tc.maxBytes*int64(tc.maxFiles) {
				t.Errorf("kept %d bytes, more than %d files of %d", len(kept), tc.maxFiles, tc.maxBytes)
			}
			if !strings.HasSuffix(all.String(), kept) {
				t.Errorf("kept bytes are not the tail of what was written")
			}
			if want := min(int64(all.Len()), tc.maxBytes*int64(tc.maxFiles-1)+1); int64(len(kept)) < want {
				t.Errorf("kept %d bytes, want at least %d", len(kept), want)
			}
		})
	}
}

// TestChildDiesWithSIGKILLedParent re-execs the test binary as a parent that
// launches a grandchild, kills the parent with SIGKILL and expects the
// grandchild to die: once with everything Launch sets up on this platform,
// once with the lifeline alone (the Linux parent-death signal switched off,
// as macOS has none), where the grandchild also runs a foreign child in a
// group of its own, which must die with it.
func TestChildDiesWithSIGKILLedParent(t *testing.T) {
	for _, tc := range []struct {
		name, mode string
		foreign    bool
		within     time.Duration
	}{
		{"default", "parent", false, 5 * time.Second},
		// The bound: a worker and its multilang children are gone
		// within 1 s of their owner's SIGKILL.
		{"lifeline alone", "lifeline-parent", true, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			child, parent := startParent(t, dir, tc.mode)
			ticks, err := StartTicks(child)
			if err != nil {
				t.Fatalf("grandchild %d not running: %v", child, err)
			}
			victims := map[int]uint64{child: ticks}
			if tc.foreign {
				b, err := os.ReadFile(filepath.Join(dir, "foreign-pid"))
				if err != nil {
					t.Fatal(err)
				}
				fpid, _ := strconv.Atoi(string(b))
				fticks, err := StartTicks(fpid)
				if err != nil {
					t.Fatalf("foreign child %d not running: %v", fpid, err)
				}
				victims[fpid] = fticks
			}
			// The parent launched the child from a locked thread; let the Go
			// runtime of the parent run a while so an unlocked thread would
			// have been retired.
			time.Sleep(100 * time.Millisecond)
			for pid, ticks := range victims {
				if !Alive(pid, ticks) {
					t.Fatalf("process %d died while its owner was alive", pid)
				}
			}
			if err := parent.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			parent.Wait()
			killed := time.Now()
			testutil.Eventually(t, tc.within, "the grandchild and its children to die with their owner", func() bool {
				for pid, ticks := range victims {
					if Alive(pid, ticks) {
						return false
					}
				}
				return true
			})
			t.Logf("%d processes gone %v after their owner's SIGKILL", len(victims), time.Since(killed).Round(time.Millisecond))
			// The pid record stays behind for ReapOrphans, which finds nothing to kill.
			n, err := ReapOrphans(filepath.Join(dir, "pids"), nil)
			if err != nil || n != 0 {
				t.Fatalf("ReapOrphans = %d, %v; want 0 killed", n, err)
			}
			if entries, _ := os.ReadDir(filepath.Join(dir, "pids")); len(entries) != 0 {
				t.Fatalf("pid records left: %v", entries)
			}
		})
	}
}

// startParent re-execs the test binary in mode (a parent that launches a
// grandchild) and returns the grandchild's pid and the parent.
func startParent(t *testing.T, dir, mode string) (int, *exec.Cmd) {
	t.Helper()
	exe, _ := os.Executable()
	parent := exec.Command(exe)
	parent.Env = append(os.Environ(), helperEnv+"="+mode, "PARENT_DIR="+dir)
	parent.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	parent.Stderr = os.Stderr
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		parent.Process.Kill()
		parent.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("read child pid from parent: %v", err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "child-pid=")))
	if err != nil {
		t.Fatalf("parent printed %q: %v", line, err)
	}
	return child, parent
}

func TestReapOrphans(t *testing.T) {
	pidDir := t.TempDir()
	start := func() *exec.Cmd {
		cmd := exec.Command("sleep", "300")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
		return cmd
	}
	record := func(pid int, ticks uint64) {
		data := fmt.Sprintf(`{"v":1,"pid":%d,"startTicks":%d,"path":"sleep","ownerPid":1}`, pid, ticks)
		if err := os.WriteFile(filepath.Join(pidDir, strconv.Itoa(pid)), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	orphan := start()
	orphanTicks, err := StartTicks(orphan.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	record(orphan.Process.Pid, orphanTicks)
	// A record whose pid now belongs to another process (other start time).
	reused := start()
	reusedTicks, _ := StartTicks(reused.Process.Pid)
	record(reused.Process.Pid, reusedTicks+1)
	// A record of a process long gone, and garbage.
	gone := exec.Command("true")
	gone.Run()
	record(gone.Process.Pid, 12345)
	os.WriteFile(filepath.Join(pidDir, "junk"), []byte("not json"), 0o644)
	// A directory is not a record: it is neither read nor an error.
	if err := os.Mkdir(filepath.Join(pidDir, "subdir"), 0o755); err != nil {
		t.Fatal(err)
	}

	n, err := ReapOrphans(pidDir, nil)
	if err != nil || n != 1 {
		t.Fatalf("ReapOrphans = %d, %v; want 1 killed", n, err)
	}
	if !Alive(reused.Process.Pid, reusedTicks) {
		t.Fatal("the process that reused a recorded pid was killed")
	}
	orphan.Wait()
	if es := exitStateOf(orphan.Process.Pid, orphan.ProcessState); es.Signal != syscall.SIGKILL {
		t.Fatalf("orphan ended with %+v, want SIGKILL", es)
	}
	if entries, _ := os.ReadDir(pidDir); len(entries) != 1 || entries[0].Name() != "subdir" {
		t.Fatalf("left after reaping: %v, want only the subdirectory", entries)
	}
	if n, err := ReapOrphans(filepath.Join(pidDir, "missing"), nil); n != 0 || err != nil {
		t.Fatalf("ReapOrphans of a missing dir = %d, %v", n, err)
	}
}

func FuzzParsePidRecord(f *testing.F) {
	f.Add([]byte(`{"v":1,"pid":42,"startTicks":7,"path":"x","ownerPid":1}`))
	f.Add([]byte(`{"pid":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := ParsePidRecord(data)
		if err == nil && (rec.Pid <= 1 || rec.StartTicks == 0) {
			t.Fatalf("accepted record %+v", rec)
		}
	})
}

// BenchmarkLaunchToReady measures Launch of the test binary until its ready
// line, plus its graceful shutdown: the process cost inside a worker relaunch.
func BenchmarkLaunchToReady(b *testing.B) {
	dir := b.TempDir()
	var launches []time.Duration
	for b.Loop() {
		start := time.Now()
		p, err := Launch(b.Context(), helperSpec(dir, "ready"))
		if err != nil {
			b.Fatal(err)
		}
		launches = append(launches, time.Since(start))
		if err := p.Shutdown(syscall.SIGTERM, 5*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(launches)
	b.ReportMetric(float64(launches[len(launches)/2].Microseconds())/1000, "ms-median-launch")
}

// BenchmarkLifelineDeath measures how long a child outlives its owner's
// SIGKILL with the lifeline alone (the Linux parent-death signal off, as on
// macOS): from the owner's reaping to the child and its foreign child gone.
func BenchmarkLifelineDeath(b *testing.B) {
	var total time.Duration
	for b.Loop() {
		dir := b.TempDir()
		exe, _ := os.Executable()
		parent := exec.Command(exe)
		parent.Env = append(os.Environ(), helperEnv+"=lifeline-parent", "PARENT_DIR="+dir, "GORACE=atexit_sleep_ms=0")
		parent.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		stdout, err := parent.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := parent.Start(); err != nil {
			b.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		child, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "child-pid=")))
		fb, err := os.ReadFile(filepath.Join(dir, "foreign-pid"))
		if err != nil {
			b.Fatal(err)
		}
		foreign, _ := strconv.Atoi(string(fb))
		parent.Process.Signal(syscall.SIGKILL)
		parent.Wait()
		start := time.Now()
		for Running(child) || Running(foreign) {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("child %d or its foreign child %d outlived its owner by 10s", child, foreign)
			}
			time.Sleep(100 * time.Microsecond)
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms-to-death/op")
}
