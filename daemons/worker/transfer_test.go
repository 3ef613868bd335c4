package worker

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/topology"
)

// TestServerRejectsBadFramesAndDelivers: a peer sending garbage is cut off;
// a well-formed frame on another connection reaches the bolt tasks it names.
func TestServerRejectsBadFramesAndDelivers(t *testing.T) {
	var received atomic.Int64
	var fromSpout atomic.Int64
	b := topology.NewBuilder()
	b.SetSpout("s", wordSpout(newRecord(), 0, false), 1)
	b.SetBolt("sink", func() topology.Bolt {
		return &funcBolt{fn: func(tp *topology.Tuple, _ topology.BoltCollector) {
			received.Add(1)
			if tp.Component == "s" && tp.Value("sentence") == "hello" {
				fromSpout.Add(1)
			}
		}}
	}, 2).ShuffleGrouping("s")
	p := startInProcess(t, b, config.Conf{config.TopologyAckerExecutors: 0})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	srv := newServer(p.w.rt, ln)
	srv.start()
	t.Cleanup(srv.close)

	bad, err := net.Dial("tcp", ln.Addr().String())
	must(t, err)
	defer bad.Close()
	_, err = bad.Write([]byte{0, 0, 0, 5, 0, 0, 0, 9, 1}) // 9 tuples in 1 byte
	must(t, err)
	_ = bad.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := bad.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read from a connection that sent a bad frame: %v, want EOF (closed by the worker)", err)
	}

	spoutTask := p.w.rt.componentTasks["s"][0]
	var batch []envelope
	for _, dest := range p.w.rt.componentTasks["sink"] {
		for i := 0; i < 3; i++ {
			batch = append(batch, envelope{Dest: dest, Tuple: topology.Tuple{Task: spoutTask, Stream: "default", Values: topology.Values{"hello"}}})
		}
	}
	batch = append(batch, envelope{Dest: 999, Tuple: topology.Tuple{Task: spoutTask, Stream: "default", Values: topology.Values{"lost"}}})
	frame, err := appendBatch(nil, batch)
	must(t, err)
	good, err := net.Dial("tcp", ln.Addr().String())
	must(t, err)
	defer good.Close()
	_, err = good.Write(frame)
	must(t, err)
	testutil.Eventually(t, 10*time.Second, "6 tuples delivered to both sink tasks", func() bool { return fromSpout.Load() == 6 })
	if got := received.Load(); got != 6 {
		t.Fatalf("sink received %d tuples, want 6", got)
	}
	if p.w.rt.dropped.Load() != 1 {
		t.Fatalf("dropped %d tuples for an unknown task, want 1", p.w.rt.dropped.Load())
	}
}

// A dial to a port nothing listens on can connect the socket to itself when
// the kernel picks that port as the source. Forced here by binding the
// source port: dialPeer must refuse the connection and leave the port free
// for the peer worker to listen on.
func TestDialPeerRefusesASelfConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	local, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := dialPeer(&net.Dialer{LocalAddr: local, Timeout: time.Second}, addr)
	if err == nil {
		c.Close()
		t.Fatalf("dialPeer returned a connection from %s to %s", c.LocalAddr(), c.RemoteAddr())
	}
	if !errors.Is(err, errSelfConnect) {
		t.Fatalf("dialPeer: %v, want errSelfConnect (the kernel did not self-connect?)", err)
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the peer cannot listen on its port after a refused self-connection: %v", err)
	}
	ln.Close()
}

// TestPeerReconnectsWhenThePeerCloses: a peer worker that dies closes its
// end; the connection to it is made again to whatever listens on its port
// next (its replacement), before anything is written that the dead socket
// would lose.
func TestPeerReconnectsWhenThePeerCloses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	p := newPeer(cluster.NodePort{Node: "sup", Port: port}, 4, testutil.Logger(t, slog.LevelWarn), func(error) {})
	go p.run()
	defer p.close()
	accept := func(ln net.Listener) chan net.Conn {
		ch := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err == nil {
				ch <- c
			}
		}()
		return ch
	}
	var first net.Conn
	select {
	case first = <-accept(ln):
	case <-time.After(30 * time.Second):
		t.Fatal("the peer did not connect")
	}
	// The old worker dies: its listener and connection close; a new one
	// listens on the same port.
	ln.Close()
	first.Close()
	ln2, err := net.Listen("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	select {
	case c := <-accept(ln2):
		c.Close()
	case <-time.After(30 * time.Second):
		t.Fatal("the peer did not reconnect to the new listener with nothing to send")
	}
}
