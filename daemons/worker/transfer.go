package worker

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/topology"
)

// Transfer between the workers of a topology: each worker listens on its slot
// port (127.0.0.1) and keeps one outgoing connection to every other worker
// that runs tasks its executors send to. Tuples travel in frames (codec.go).

const (
	// maxCoalesce bounds the bytes a peer writes in one go.
	maxCoalesce = 256 << 10
	// Reconnect backoff to a peer that is not (yet, or no longer) listening.
	// The cap is short because the usual case is a peer that starts a few
	// hundred ms after this worker: with a 1 s cap the doubling waits had
	// reached 320-640 ms by then, and tuples to the peer waited that long
	// (measured: 290 ms of a 2.5 s testkit run). A refused dial on loopback
	// costs microseconds, so ten a second to a dead peer are nothing.
	minBackoff = 10 * time.Millisecond
	maxBackoff = 100 * time.Millisecond
)

// peer is the outgoing connection to another worker. Its queue is bounded:
// while the peer is unreachable (starting late, restarting) producers block,
// so nothing is lost to a peer that is merely late. A frame being written
// when a connection breaks is lost, as in Storm: acking replays it.
type peer struct {
	slot   cluster.NodePort
	addr   string
	sink   int
	queue  chan []envelope
	free   chan []envelope // sent batches, cleared, for the outboxes to reuse
	stop   chan struct{}
	done   chan struct{}
	logger *slog.Logger
	onErr  func(error) // encoding errors (a value that cannot be sent)
}

func newPeer(slot cluster.NodePort, queueBatches int, logger *slog.Logger, onErr func(error)) *peer {
	return &peer{
		slot:   slot,
		addr:   fmt.Sprintf("127.0.0.1:%d", slot.Port),
		sink:   newSinkID(),
		queue:  make(chan []envelope, queueBatches),
		free:   make(chan []envelope, 8),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		logger: logger.With("peer", fmt.Sprintf("%s:%d", slot.Node, slot.Port)),
		onErr:  onErr,
	}
}

// close stops the peer and waits for its goroutine; queued tuples are dropped.
func (p *peer) close() {
	close(p.stop)
	<-p.done
}

func (p *peer) run() {
	defer close(p.done)
	var conn net.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	backoff := minBackoff
	var buf []byte
	var closed <-chan struct{}
	for {
		if conn == nil {
			c, err := dialPeer(&net.Dialer{Timeout: time.Second}, p.addr)
			if err != nil {
				p.logger.Debug("connect to peer worker", "err", err, "retry_in", backoff)
				select {
				case <-time.After(backoff):
				case <-p.stop:
					return
				}
				backoff = min(backoff*2, maxBackoff)
				continue
			}
			p.logger.Info("connected to peer worker")
			conn, backoff, closed = c, minBackoff, watchClosed(c)
		}
		var b []envelope
		select {
		case b = <-p.queue:
		case <-closed:
			// The peer worker is gone (killed, restarting): reconnect now,
			// to its replacement as soon as that listens, rather than at
			// the next write, which the dead socket would swallow.
			p.logger.Info("peer worker closed the connection; reconnecting")
			conn.Close()
			conn = nil
			continue
		case <-p.stop:
			return
		}
		buf = p.encode(buf[:0], b)
		// Coalesce what else is queued into one write.
	more:
		for len(buf) < maxCoalesce {
			select {
			case b = <-p.queue:
				buf = p.encode(buf, b)
			default:
				break more
			}
		}
		if _, err := conn.Write(buf); err != nil {
			p.logger.Warn("send to peer worker failed; reconnecting", "err", err, "bytes_lost", len(buf))
			conn.Close()
			conn = nil
		}
		if cap(buf) > 4*maxCoalesce {
			buf = nil // do not keep a huge buffer after a burst of big tuples
		}
	}
}

// watchClosed returns a channel closed when c's remote end closes or resets
// it (or c is closed here). A peer worker never writes on the connection,
// so the read returns only then.
func watchClosed(c net.Conn) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		var one [1]byte
		_, _ = c.Read(one[:])
	}()
	return ch
}

// errSelfConnect is a dial that connected the socket to itself.
var errSelfConnect = errors.New("connected to itself: nothing listens on the port yet")

// dialPeer connects to a peer worker's slot port. A dial on loopback to a
// port in the ephemeral range that nothing listens on yet can connect the
// socket to itself (TCP simultaneous open, when the kernel picks that very
// port as the source): what is written goes nowhere, and the socket holds
// the port the peer is about to bind, so it fails to listen and its first
// tuples are lost. Such a connection is reset and reported as a failed dial.
// (Storm's default slot ports, 6700 and up, lie below the ephemeral range;
// testkit's and localstorm's, chosen free at start, are in it.)
func dialPeer(d *net.Dialer, addr string) (net.Conn, error) {
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if c.LocalAddr().String() == c.RemoteAddr().String() {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // reset: leave no TIME_WAIT on the peer's port
		}
		c.Close()
		return nil, errSelfConnect
	}
	return c, nil
}

// encode appends the frame of batch b to buf and hands b back for reuse.
func (p *peer) encode(buf []byte, b []envelope) []byte {
	buf, err := appendBatch(buf, b)
	if err != nil {
		p.onErr(err)
	}
	clear(b) // keep no tuple values alive
	select {
	case p.free <- b[:0]:
	default:
	}
	return buf
}

// server accepts the connections of peer workers and delivers their tuples
// to the local executors, blocking (and so pushing back on the TCP
// connection) while an executor's inbox is full.
type server struct {
	rt    *runtime
	ln    net.Listener
	stop  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

func newServer(rt *runtime, ln net.Listener) *server {
	return &server{rt: rt, ln: ln, stop: make(chan struct{}), conns: map[net.Conn]bool{}}
}

func (s *server) start() {
	s.wg.Add(1)
	go s.accept()
}

// close stops accepting, closes every connection and waits for their goroutines.
func (s *server) close() {
	close(s.stop)
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.rt.logger.Error("accept peer connection", "err", err)
			}
			return
		}
		s.mu.Lock()
		select {
		case <-s.stop:
			s.mu.Unlock()
			c.Close()
			return
		default:
		}
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go s.receive(c)
	}
}

func (s *server) receive(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	rt := s.rt
	fr := newFrameReader(c)
	// A goroutine reads frames while this one decodes and delivers the
	// previous ones: on a busy connection each takes a part of the work.
	// reads is short: a blocked delivery soon stops the reading, and so the
	// peer (TCP's window); the reader keeps the buffers of at most
	// readsAhead+2 reads.
	reads := make(chan []frame, readsAhead)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done) // before c.Close (deferred earlier): the reader unblocks
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(reads)
		for {
			fs, err := fr.readAll(nil)
			if len(fs) > 0 {
				select {
				case reads <- fs:
				case <-done:
					return
				}
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	}()
	split := map[*executor][]envelope{}
	for fs := range reads {
		for _, f := range fs {
			batch, err := fr.decode(nil, f)
			if err != nil {
				rt.logger.Warn("receive from peer worker", "remote", c.RemoteAddr().String(), "err", err)
				return
			}
			if !s.dispatch(batch, split) {
				return
			}
		}
	}
	err := <-readErr
	select {
	case <-s.stop:
	default:
		if !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
			rt.logger.Warn("receive from peer worker", "remote", c.RemoteAddr().String(), "err", err)
		}
	}
}

// dispatch fills in what the wire leaves out of a batch, then hands each
// executor its part (split is scratch space); false when the server stops.
func (s *server) dispatch(batch []envelope, split map[*executor][]envelope) bool {
	rt := s.rt
	var only *executor
	mixed := false
	// Consecutive tuples mostly share their emitting task and stream.
	lastTask, lastStream := -1, ""
	var comp string
	var fields topology.Fields
	for i := range batch {
		m := &batch[i]
		if m.Task != lastTask || m.Stream != lastStream {
			lastTask, lastStream = m.Task, m.Stream
			comp = rt.taskToComponent[m.Task]
			fields = rt.outputs[comp][m.Stream].Fields
		}
		m.Component, m.Fields = comp, fields
		var x *executor
		if m.Dest >= 0 && m.Dest < len(rt.local) {
			x = rt.local[m.Dest]
		}
		if x == nil {
			rt.dropped.Add(1)
			mixed = true
			continue
		}
		if only == nil {
			only = x
		} else if x != only {
			mixed = true
		}
	}
	if !mixed {
		return only == nil || s.deliver(only, batch)
	}
	for i := range batch {
		if m := &batch[i]; m.Dest >= 0 && m.Dest < len(rt.local) && rt.local[m.Dest] != nil {
			split[rt.local[m.Dest]] = append(split[rt.local[m.Dest]], *m)
		}
	}
	for x, b := range split {
		delete(split, x)
		if !s.deliver(x, b) {
			return false
		}
	}
	return true
}

func (s *server) deliver(x *executor, b []envelope) bool {
	select {
	case x.inbox <- b:
		return true
	case <-s.stop:
		return false
	}
}
