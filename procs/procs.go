// Package procs launches and supervises child processes the way a Storm
// supervisor needs its workers run: each child in its own process group, its
// stdout and stderr in rotated log files, readiness signalled by a one-line
// handshake on stdout, exit state recorded as data, a graceful-then-forced
// shutdown of the whole group, and pid records that let the next owner reap
// the children of a crashed one. Children die with their owner, even when the
// owner is killed with SIGKILL: every child holds the read end of a lifeline
// pipe whose write end only its owner holds (see HoldLifeline), on every
// platform; on Linux the parent-death signal is a second guard.
package procs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults used when a Spec leaves a field zero.
const (
	DefaultLogMaxBytes  = 10 << 20
	DefaultLogMaxFiles  = 5
	DefaultReadyTimeout = 2 * time.Minute
	// stderrTailBytes is how much of the end of stderr an early-exit error quotes.
	stderrTailBytes = 2048
)

// Spec describes a child process to launch.
type Spec struct {
	// Path is the executable; Args are its arguments (without argv[0]).
	Path string
	Args []string
	// Env is the child's environment; nil means the parent's.
	Env []string
	// Dir is the working directory; empty means the parent's.
	Dir string
	// LogDir receives OutLogName and ErrLogName and their rotations; required.
	LogDir string
	// LogMaxBytes bounds each log file; LogMaxFiles bounds how many files of a
	// stream exist (the live one plus LogMaxFiles-1 rotations).
	LogMaxBytes int64
	LogMaxFiles int
	// ReadyPrefix is the start of the handshake line the child prints on
	// stdout once it is usable; empty means Launch does not wait.
	ReadyPrefix string
	// ReadyTimeout bounds the wait for the handshake.
	ReadyTimeout time.Duration
	// PidDir receives a pid record while the child runs; empty means none.
	PidDir string
}

// Log file names under Spec.LogDir.
const (
	OutLogName = "worker.out.log"
	ErrLogName = "worker.err.log"
)

// ExitState records how a process ended.
type ExitState struct {
	Pid int
	// Code is the exit status, -1 when the process was killed by a signal.
	Code int
	// Signal is the signal that killed the process, 0 when it exited.
	Signal syscall.Signal
	Time   time.Time
}

func (e ExitState) String() string {
	if e.Signal != 0 {
		return fmt.Sprintf("pid %d killed by signal %s", e.Pid, e.Signal)
	}
	return fmt.Sprintf("pid %d exited with code %d", e.Pid, e.Code)
}

// Process is a running (or ended) child started by Launch.
type Process struct {
	spec     Spec
	pid      int
	done     chan struct{}
	logsDone chan struct{}
	ready    chan string // receives the handshake line once
	exit     ExitState
	stderr   *tailBuffer
}

// Pid returns the child's pid, which is also its process group id.
func (p *Process) Pid() int { return p.pid }

// Done is closed once the child has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitState returns how the child ended; the zero value while it runs.
func (p *Process) ExitState() ExitState {
	select {
	case <-p.done:
		return p.exit
	default:
		return ExitState{}
	}
}

// Launch starts spec's program and, when spec.ReadyPrefix is set, returns only
// after the child printed its handshake line on stdout. On a handshake timeout
// or a cancelled ctx the child's process group is killed; when the child exits
// first, the error quotes the end of its stderr. ctx bounds only the launch:
// once Launch returned, the child runs until it exits or is shut down.
func Launch(ctx context.Context, spec Spec) (*Process, error) {
	if errUnsupported != nil {
		return nil, fmt.Errorf("launch %s: %w", spec.Path, errUnsupported)
	}
	if spec.Path == "" {
		return nil, errors.New("launch: Spec.Path is empty: name the executable to run")
	}
	if spec.LogDir == "" {
		return nil, fmt.Errorf("launch %s: Spec.LogDir is empty: name a directory for its logs", spec.Path)
	}
	if spec.LogMaxBytes <= 0 {
		spec.LogMaxBytes = DefaultLogMaxBytes
	}
	if spec.LogMaxFiles <= 0 {
		spec.LogMaxFiles = DefaultLogMaxFiles
	}
	if spec.ReadyTimeout <= 0 {
		spec.ReadyTimeout = DefaultReadyTimeout
	}
	if err := os.MkdirAll(spec.LogDir, 0o755); err != nil {
		return nil, fmt.Errorf("launch %s: create log dir: %w", spec.Path, err)
	}
	outLog, err := newRotatingFile(filepath.Join(spec.LogDir, OutLogName), spec.LogMaxBytes, spec.LogMaxFiles)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", spec.Path, err)
	}
	errLog, err := newRotatingFile(filepath.Join(spec.LogDir, ErrLogName), spec.LogMaxBytes, spec.LogMaxFiles)
	if err != nil {
		outLog.Close()
		return nil, fmt.Errorf("launch %s: %w", spec.Path, err)
	}
	p := &Process{
		spec:     spec,
		done:     make(chan struct{}),
		logsDone: make(chan struct{}),
		ready:    make(chan string, 1),
		stderr:   &tailBuffer{max: stderrTailBytes},
	}
	started := make(chan error, 1)
	go p.run(outLog, errLog, started)
	if err := <-started; err != nil {
		return nil, fmt.Errorf("launch %s: %w", spec.Path, err)
	}
	if spec.ReadyPrefix == "" {
		return p, nil
	}
	timer := time.NewTimer(spec.ReadyTimeout)
	defer timer.Stop()
	select {
	case <-p.ready:
		return p, nil
	case <-p.done:
		// Give the copiers a moment to drain: the ready line may have come
		// just before the exit, and otherwise the error shows why.
		select {
		case <-p.logsDone:
		case <-time.After(time.Second):
		}
		select {
		case <-p.ready:
			return p, nil // it was ready; the caller sees Done closed
		default:
		}
		return nil, fmt.Errorf("launch %s: exited before its ready line (%s); stderr ends with: %q",
			spec.Path, p.exit, p.stderr.String())
	case <-timer.C:
		p.kill()
		return nil, fmt.Errorf("launch %s: no ready line %q within %s; killed its process group",
			spec.Path, spec.ReadyPrefix, spec.ReadyTimeout)
	case <-ctx.Done():
		p.kill()
		return nil, fmt.Errorf("launch %s: waiting for its ready line: %w", spec.Path, ctx.Err())
	}
}

// run starts the child and waits for it on one goroutine locked to its OS
// thread: Linux delivers the parent-death signal when the *thread* that forked
// the child exits, and the Go runtime may retire an unlocked thread at any
// time, which would kill a healthy child. Keeping the thread busy in wait4
// until the child ends ties the signal to the death of this process.
func (p *Process) run(outLog, errLog *rotatingFile, started chan<- error) {
	runtime.LockOSThread()
	// No UnlockOSThread: the thread exits with the goroutine, after the child.

	// Three pipes: stdout, stderr, and the lifeline, whose write end this
	// process holds, unwritten, until the child is reaped.
	var pipes [3][2]*os.File
	closeAll := func() {
		for _, pp := range pipes {
			for _, f := range pp {
				if f != nil {
					f.Close()
				}
			}
		}
		outLog.Close()
		errLog.Close()
	}
	for i := range pipes {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll()
			started <- fmt.Errorf("pipe: %w", err)
			return
		}
		pipes[i] = [2]*os.File{r, w}
	}
	outR, outW := pipes[0][0], pipes[0][1]
	errR, errW := pipes[1][0], pipes[1][1]
	lifeR, lifeW := pipes[2][0], pipes[2][1]
	cmd := exec.Command(p.spec.Path, p.spec.Args...)
	cmd.Env = withLifeline(p.spec.Env)
	cmd.Dir = p.spec.Dir
	cmd.Stdout = outW
	cmd.Stderr = errW
	cmd.ExtraFiles = []*os.File{lifeR} // descriptor lifelineFD in the child
	cmd.SysProcAttr = sysProcAttr()
	startErr := cmd.Start()
	// The child holds its own copies; ours must close so readers see EOF,
	// and so that only the child holds the lifeline's read end.
	outW.Close()
	errW.Close()
	lifeR.Close()
	if startErr != nil {
		outR.Close()
		errR.Close()
		lifeW.Close()
		outLog.Close()
		errLog.Close()
		started <- startErr
		return
	}
	p.pid = cmd.Process.Pid
	record := ""
	var err error
	if p.spec.PidDir != "" {
		record, err = writePidRecord(p.spec.PidDir, p.pid, p.spec.Path)
		if err != nil {
			// The child runs unrecorded: a crash of the owner would still
			// kill it through its lifeline, so go on.
			fmt.Fprintf(errLog, "procs: write pid record: %v\n", err)
		}
	}

	var copiers sync.WaitGroup
	copiers.Add(2)
	go func() {
		defer copiers.Done()
		p.copyStdout(outR, outLog)
	}()
	go func() {
		defer copiers.Done()
		copyTo(errR, io.MultiWriter(errLog, p.stderr))
	}()
	go func() {
		copiers.Wait()
		outR.Close()
		errR.Close()
		outLog.Close()
		errLog.Close()
		close(p.logsDone)
	}()
	started <- nil

	state, _ := cmd.Process.Wait()
	lifeW.Close()
	p.exit = exitStateOf(p.pid, state)
	if record != "" {
		os.Remove(record)
	}
	close(p.done)
}

func exitStateOf(pid int, state *os.ProcessState) ExitState {
	es := ExitState{Pid: pid, Code: -1, Time: time.Now()}
	if state == nil {
		return es
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		es.Signal = ws.Signal()
		return es
	}
	es.Code = state.ExitCode()
	return es
}

// copyStdout copies the child's stdout into its log and passes the first line
// starting with the ready prefix to Launch.
func (p *Process) copyStdout(r io.Reader, log io.Writer) {
	br := bufio.NewReader(r)
	handshakeDone := p.spec.ReadyPrefix == ""
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			log.Write([]byte(line))
			if !handshakeDone && strings.HasPrefix(line, p.spec.ReadyPrefix) {
				handshakeDone = true
				p.ready <- strings.TrimRight(line, "\r\n")
			}
		}
		if err != nil {
			return
		}
	}
}

func copyTo(r io.Reader, w io.Writer) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			w.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// kill sends SIGKILL to the child's whole process group and waits for the child.
func (p *Process) kill() {
	killGroup(p.pid, syscall.SIGKILL)
	<-p.done
}

// Shutdown signals the child's process group with sig, waits up to grace for
// the child to exit (then, if DumpBeforeKill asked for it, SIGQUITs the child
// and waits a little more), then SIGKILLs the group and waits. After the leader is
// gone, any member left in the group is SIGKILLed too. It returns nil once the
// child is reaped; calling it on an ended process is a no-op.
func (p *Process) Shutdown(sig syscall.Signal, grace time.Duration) error {
	select {
	case <-p.done:
		killStragglers(p.pid)
		return nil
	default:
	}
	if err := killGroup(p.pid, sig); err != nil {
		return fmt.Errorf("shutdown pid %d: signal %s: %w", p.pid, sig, err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		p.dumpStacks(sig)
	}
	select {
	case <-p.done:
		// The leader is gone: only children it left behind may remain.
		killStragglers(p.pid)
	default:
		// The leader ignored sig: the whole group goes.
		killGroup(p.pid, syscall.SIGKILL)
		<-p.done
		killStragglers(p.pid)
	}
	return nil
}

// killStragglers SIGKILLs what is left of the process group pgid after its
// leader was reaped. POSIX never hands out a pid still used as a process
// group id, so while members remain no process has the pid pgid; if one
// does, the group is gone and the pid was reused, and nothing is killed.
func killStragglers(pgid int) {
	if processExists(pgid) {
		return
	}
	killGroup(pgid, syscall.SIGKILL)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
