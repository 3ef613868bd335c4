package shell

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/localstorm/localstorm/procs"
	"github.com/localstorm/localstorm/topology"
)

// Configuration keys read by shell components (Storm's names).
const (
	confSubprocessTimeout = "topology.subprocess.timeout.secs"
	confWorkerTimeout     = "supervisor.worker.timeout.secs"
	confMaxPending        = "topology.shellbolt.max.pending"
)

// defaultTimeout applies when neither timeout key is set (Storm's default
// supervisor.worker.timeout.secs).
const defaultTimeout = 30 * time.Second

// minHandshakeTimeout is the least time a subprocess gets to answer the
// handshake: interpreters can take long to start on a loaded machine, and
// Storm waits for the pid reply without a limit.
var minHandshakeTimeout = 10 * time.Second

// stderrTailBytes is how much of a subprocess's stderr is kept for errors.
const stderrTailBytes = 4096

// subprocessTimeout is topology.subprocess.timeout.secs, falling back to
// supervisor.worker.timeout.secs, as Storm's ShellBolt and ShellSpout.
func subprocessTimeout(conf map[string]any) time.Duration {
	for _, key := range []string{confSubprocessTimeout, confWorkerTimeout} {
		if secs, ok := number(conf[key]); ok && secs > 0 {
			return time.Duration(secs * float64(time.Second))
		}
	}
	return defaultTimeout
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case string:
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil
	}
	return 0, false
}

// process is a running multilang subprocess.
type process struct {
	command []string
	cmd     *exec.Cmd
	in      *bufio.Writer
	out     *bufio.Reader
	stdin   io.Closer
	stdout  io.Closer
	pid     int
	logger  *slog.Logger

	writeMu sync.Mutex // one message at a time on stdin

	stderr    tail
	stderrEOF chan struct{} // closed when stderr is drained (the process exited)
	exited    chan struct{} // closed when the process has been waited for
	waitErr   error
}

// launch starts command in dir and performs the handshake: the setup
// message out, the pid reply back within timeout.
func launch(command []string, ctx *topology.Context, outputs map[string]topology.StreamDef, timeout time.Duration, logger *slog.Logger) (*process, error) {
	if len(command) == 0 {
		return nil, fmt.Errorf("shell component %q: empty command", ctx.ComponentID)
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Dir = workingDir(ctx.CodeDir)
	// Its own process group, so that stopping it also stops what it started.
	cmd.SysProcAttr = procs.GroupAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start subprocess %q: %w", command, err)
	}
	// Our own pipes for stdout and stderr: with exec's, Wait would close
	// them as soon as the child exits, racing with reading its last words.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start subprocess %q: %w", command, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("start subprocess %q: %w", command, err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close() // the child has its copies
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("start subprocess %q in %q: %w", command, cmd.Dir, err)
	}
	p := &process{
		command:   command,
		cmd:       cmd,
		in:        bufio.NewWriterSize(stdin, 64<<10),
		out:       bufio.NewReaderSize(outR, 64<<10),
		stdin:     stdin,
		stdout:    outR,
		logger:    logger,
		stderrEOF: make(chan struct{}),
		exited:    make(chan struct{}),
	}
	go p.drainStderr(errR)
	// Should this worker's owner die, the worker's lifeline kills the
	// subprocess's group too (it knows nothing of lifelines itself).
	untrack := procs.TrackGroup(cmd.Process.Pid, cmd.Path)
	go func() {
		p.waitErr = cmd.Wait()
		untrack()
		close(p.exited)
	}()

	// The handshake is bounded by the subprocess timeout: a child that never
	// answers is killed, which ends the read below.
	timeout = max(timeout, minHandshakeTimeout)
	timer := time.AfterFunc(timeout, p.kill)
	defer timer.Stop()
	if err := p.write(newHandshake(ctx, ctx.Conf, outputs)); err != nil {
		return nil, p.abort("send the handshake", err)
	}
	raw, err := readMessage(p.out)
	if err != nil {
		if !timer.Stop() {
			err = fmt.Errorf("no pid reply within %v: %w", timeout, err)
		}
		return nil, p.abort("read the handshake reply", err)
	}
	reply, err := decodeShellMsg(raw)
	if err != nil || reply.PID <= 0 {
		if err == nil {
			err = fmt.Errorf("reply %q has no pid", truncate(raw, 200))
		}
		return nil, p.abort("read the handshake reply", err)
	}
	p.pid = reply.PID
	logger.Info("launched subprocess", "command", command, "pid", p.pid)
	return p, nil
}

// abort kills a subprocess that failed its handshake and describes why.
func (p *process) abort(doing string, err error) error {
	p.kill()
	err = p.failure(doing, err)
	<-p.exited
	p.stdout.Close()
	return err
}

// workingDir is where a subprocess runs: the topology's resources
// directory, Context.CodeDir, as Storm's ShellProcess runs in the code dir's
// resources. When given a stormdist directory instead (it holds
// stormtopology.json and a resources/ directory), its resources/ is used.
func workingDir(codeDir string) string {
	if codeDir == "" {
		return ""
	}
	resources := filepath.Join(codeDir, "resources")
	if st, err := os.Stat(resources); err == nil && st.IsDir() {
		if _, err := os.Stat(filepath.Join(codeDir, "stormtopology.json")); err == nil {
			return resources
		}
	}
	return codeDir
}

// drainStderr logs the subprocess's stderr and keeps its tail for errors
// (Storm logs the error stream of the subprocess too).
func (p *process) drainStderr(r io.Reader) {
	defer close(p.stderrEOF)
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			p.stderr.write(buf[:n])
			p.logger.Info("subprocess stderr", "command", p.command, "text", string(buf[:n]))
		}
		if err != nil {
			return
		}
	}
}

// write sends one message.
func (p *process) write(v any) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	return writeMessage(p.in, v)
}

// read reads and decodes one message.
func (p *process) read() (shellMsg, error) {
	raw, err := readMessage(p.out)
	if err != nil {
		return shellMsg{}, err
	}
	return decodeShellMsg(raw)
}

// kill stops the subprocess's process group at once.
func (p *process) kill() {
	if p.cmd.Process != nil {
		_ = procs.SignalGroup(p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// stop ends the subprocess: stdin closed (Storm's libraries exit on EOF),
// SIGTERM to its group, SIGKILL after grace; waits until it is gone.
func (p *process) stop(grace time.Duration) {
	_ = p.stdin.Close()
	if p.cmd.Process != nil {
		_ = procs.SignalGroup(p.cmd.Process.Pid, syscall.SIGTERM)
	}
	select {
	case <-p.exited:
		return
	case <-time.After(grace):
	}
	p.kill()
	<-p.exited
}

// close releases the read end of stdout, once nothing reads it any more.
func (p *process) close() { p.stdout.Close() }

// failure describes err of the subprocess with its exit state and the tail
// of its stderr (Storm's process info and termination info).
func (p *process) failure(doing string, err error) error {
	// Give a dying child a moment so its exit state and last words show.
	grace := time.After(200 * time.Millisecond)
	exit := "still running"
	select {
	case <-p.exited:
		exit = "exited"
		if p.waitErr != nil {
			exit = p.waitErr.Error()
		}
		select {
		case <-p.stderrEOF:
		case <-grace:
		}
	case <-grace:
	}
	return fmt.Errorf("subprocess %q (pid %d, %s): %s: %w; stderr: %q", p.command, p.cmd.Process.Pid, exit, doing, err, p.stderr.String())
}

// tail keeps the last stderrTailBytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) write(b []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - stderrTailBytes; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

var errTimeout = errors.New("subprocess heartbeat timeout")

// maxPending is topology.shellbolt.max.pending (Storm's default 100).
func maxPending(conf map[string]any) int {
	if n, ok := number(conf[confMaxPending]); ok && n >= 1 && n <= math.MaxInt32 {
		return int(n)
	}
	return 100
}
