package shell

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/localstorm/localstorm/topology"
)

// Spout runs a spout as a multilang subprocess speaking Storm's protocol, as
// Storm's ShellSpout. The protocol is synchronous: each NextTuple, Ack, Fail,
// Activate and Deactivate sends one command and handles the subprocess's
// emits and logs until it answers "sync".
//
// Failure: a subprocess that dies, breaks the protocol, or takes longer than
// topology.subprocess.timeout.secs (falling back to
// supervisor.worker.timeout.secs) to answer a command is killed; the error,
// with its exit state and stderr tail, is reported with ReportError and the
// spout panics in the call that was waiting (Storm's ShellSpout throws), so
// that the worker exits and its supervisor restarts it.
type Spout struct {
	command []string
	outputs map[string]topology.StreamDef

	ctx    *topology.Context
	out    topology.SpoutCollector
	proc   *process
	logger *slog.Logger

	timeout time.Duration
	// waitingSince is when the current command was sent (unix nanos), 0 when
	// none is pending; the watchdog kills a subprocess silent for too long.
	waitingSince atomic.Int64
	timedOut     atomic.Bool
	err          error // the failure that killed the spout, once set
	stop         chan struct{}
	wg           sync.WaitGroup
}

// spoutMsg is a command to the subprocess.
type spoutMsg struct {
	Command string `json:"command"`
	ID      any    `json:"id"`
}

// NewSpout returns a spout running command (in the topology's code dir)
// that emits on outputs.
func NewSpout(command []string, outputs map[string]topology.StreamDef) topology.Spout {
	return newSpout(command, outputs)
}

func newSpout(command []string, outputs map[string]topology.StreamDef) *Spout {
	return &Spout{command: command, outputs: outputs}
}

// DeclareOutputFields declares the streams given to NewSpout.
func (s *Spout) DeclareOutputFields(d topology.OutputDeclarer) { declareOutputs(d, s.outputs) }

// Open starts the subprocess and performs the handshake.
func (s *Spout) Open(ctx *topology.Context, out topology.SpoutCollector) error {
	s.ctx, s.out = ctx, out
	s.logger = slog.Default().With("component", ctx.ComponentID, "task", ctx.TaskID)
	s.timeout = subprocessTimeout(ctx.Conf)
	proc, err := launch(s.command, ctx, s.outputs, s.timeout, s.logger)
	if err != nil {
		return fmt.Errorf("open shell spout %q: %w", ctx.ComponentID, err)
	}
	s.proc = proc
	s.stop = make(chan struct{})
	s.wg.Add(1)
	go s.watchdog()
	return nil
}

// Close stops the subprocess.
func (s *Spout) Close() {
	if s.proc == nil {
		return
	}
	close(s.stop)
	s.wg.Wait()
	s.proc.stop(stopGrace)
	s.proc.close()
}

// NextTuple asks the subprocess for its next tuples ("next").
func (s *Spout) NextTuple() { s.query("next", "") }

// Ack passes a completed tuple's message id to the subprocess.
func (s *Spout) Ack(msgID any) { s.query("ack", msgID) }

// Fail passes a failed tuple's message id to the subprocess.
func (s *Spout) Fail(msgID any) { s.query("fail", msgID) }

// Activate tells the subprocess the topology is active.
func (s *Spout) Activate() { s.query("activate", "") }

// Deactivate tells the subprocess the topology is inactive.
func (s *Spout) Deactivate() { s.query("deactivate", "") }

// query sends a command and handles the answer up to "sync"; on failure it
// reports and panics (see the type's comment).
func (s *Spout) query(command string, id any) {
	if s.err != nil {
		panic(fmt.Sprintf("shell spout %q: %v", s.ctx.ComponentID, s.err))
	}
	s.waitingSince.Store(time.Now().UnixNano())
	err := s.exchange(command, id)
	s.waitingSince.Store(0)
	if err == nil {
		return
	}
	if s.timedOut.Load() {
		err = fmt.Errorf("%w: no sync within %v after %q: %v", errTimeout, s.timeout, command, err)
	}
	s.err = s.proc.failure("shell spout died", err)
	s.logger.Error("halting: shell spout died", "err", s.err)
	s.out.ReportError(s.err)
	s.proc.kill()
	panic(fmt.Sprintf("shell spout %q: %v", s.ctx.ComponentID, s.err))
}

func (s *Spout) exchange(command string, id any) error {
	if err := s.proc.write(spoutMsg{Command: command, ID: id}); err != nil {
		return err
	}
	for {
		msg, err := s.proc.read()
		if err != nil {
			return err
		}
		// Any message shows the subprocess is alive (Storm's setHeartbeat).
		s.waitingSince.Store(time.Now().UnixNano())
		switch msg.Command {
		case "sync":
			return nil
		case "log":
			logShell(s.logger, msg)
		case "error":
			s.out.ReportError(fmt.Errorf("shell process exception: %s", msg.Msg))
		case "emit":
			if err := checkStream(s.outputs, msg); err != nil {
				return err
			}
			// Time blocked in the collector (backpressure) is not the
			// subprocess's silence: the watchdog pauses meanwhile.
			s.waitingSince.Store(0)
			var tasks []int
			if msg.Task != 0 {
				s.out.EmitDirect(msg.Task, msg.Stream, msg.Tuple, msg.ID)
			} else {
				tasks = s.out.EmitStream(msg.Stream, msg.Tuple, msg.ID)
			}
			s.waitingSince.Store(time.Now().UnixNano())
			if msg.Task != 0 {
				continue
			}
			if msg.NeedTaskIDs {
				if tasks == nil {
					tasks = []int{}
				}
				if err := s.proc.write(tasks); err != nil {
					return err
				}
			}
		case "metrics":
			if err := updateMetric(s.ctx, msg); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown command %q from a shell spout", msg.Command)
		}
	}
}

// watchdog kills a subprocess that has not answered a pending command within
// the timeout, which ends the blocked read in query.
func (s *Spout) watchdog() {
	defer s.wg.Done()
	ticker := time.NewTicker(heartbeatPeriod)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-ticker.C:
			since := s.waitingSince.Load()
			if since != 0 && now.Sub(time.Unix(0, since)) > s.timeout {
				s.timedOut.Store(true)
				s.proc.kill()
			}
		}
	}
}
