// Package nimbusthrift serves nimbus as Apache Storm's Nimbus Thrift service
// (framed transport, binary protocol, nimbus.thrift.port), so that Storm's own
// clients (the `storm` command, scripts on Storm's generated Python or Java
// clients, streamparse) work against localstorm.
//
// It is the second of nimbus's two front doors (the HTTP API is the other):
// a thin adapter that turns each Thrift call into calls of nimbus's Service
// (the Backend here) and each error kind (api.ErrNotFound, ErrConflict,
// ErrInvalid) into the exception Storm throws, with Storm's wording. It holds
// no nimbus logic of its own; the one state it keeps is the chunked upload
// sessions that Storm's beginFileUpload/uploadChunk/finishFileUpload need.
// submitTopology translates what Storm's clients send (a StormTopology and a
// jar) into what nimbus already runs, a Flux topology and its resources
// (translate.go, jar.go), and submits that.
//
// The structs and the service are generated (package storm, `make thrift`)
// from storm.thrift, localstorm's subset of Storm 2.x's IDL with Storm's
// names and field ids. The wire is github.com/apache/thrift's; the accept
// loop is this package's: one goroutine per connection, each owned and
// waited for by Close. A frame larger than nimbus.thrift.max_buffer_size
// closes its connection only; an unknown method is answered with a
// TApplicationException UNKNOWN_METHOD and the connection goes on.
package nimbusthrift

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/apache/thrift/lib/go/thrift"

	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
)

// DefaultMaxBufferSize is Storm's nimbus.thrift.max_buffer_size: the largest
// frame the server reads.
const DefaultMaxBufferSize = 1 << 20

// Options configure the Thrift service.
type Options struct {
	// Backend is nimbus.
	Backend Backend
	// MaxFrameSize bounds a request frame (nimbus.thrift.max_buffer_size);
	// 0 = DefaultMaxBufferSize.
	MaxFrameSize int
	// MaxUploadBytes bounds a file uploaded with uploadChunk; 0 = no bound.
	MaxUploadBytes int64
	// SpoolDir holds uploads in progress; "" = the OS temporary dir.
	SpoolDir string
	// Logger receives connection errors; nil discards them.
	Logger *slog.Logger
}

// Server serves the Nimbus service on a listener.
type Server struct {
	ln        net.Listener
	processor thrift.TProcessor
	handler   *Handler
	maxFrame  int
	log       *slog.Logger

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
	errCh  chan error
}

// Serve serves the Nimbus service on ln until Close; it returns at once.
// The server owns ln from then on.
func Serve(ln net.Listener, opts Options) (*Server, error) {
	if opts.Backend == nil {
		return nil, errors.New("nimbus thrift: options: Backend is nil")
	}
	if opts.MaxFrameSize <= 0 {
		opts.MaxFrameSize = DefaultMaxBufferSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	port := 0
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		port = a.Port
	}
	h := NewHandler(opts.Backend, port, opts.SpoolDir, opts.MaxUploadBytes)
	s := &Server{
		ln: ln, processor: storm.NewNimbusProcessor(h), handler: h, maxFrame: opts.MaxFrameSize,
		log: opts.Logger, conns: map[net.Conn]struct{}{}, errCh: make(chan error, 1),
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the address the service listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Port is the port the service listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Err delivers an accept loop that failed; the service serves no more after it.
func (s *Server) Err() <-chan error { return s.errCh }

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if !closed {
				s.errCh <- fmt.Errorf("nimbus thrift: accept: %w", err)
			}
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			if err := s.serveConn(c); err != nil {
				s.log.Info("thrift connection closed", "remote", c.RemoteAddr().String(), "err", err)
			}
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// serveConn answers the requests of one connection until it closes, breaks
// or sends a frame over the size bound.
func (s *Server) serveConn(c net.Conn) error {
	trans := thrift.NewTFramedTransportConf(thrift.NewTSocketFromConnConf(c, nil), &thrift.TConfiguration{MaxFrameSize: int32(s.maxFrame)})
	proto := thrift.NewTBinaryProtocolConf(trans, &thrift.TConfiguration{MaxFrameSize: int32(s.maxFrame)})
	ctx := context.Background()
	for {
		// ok with an error is a call answered with an exception (declared
		// or TApplicationException); the connection is still in step.
		ok, err := s.processor.Process(ctx, proto, proto)
		var te thrift.TTransportException
		var tae thrift.TApplicationException
		switch {
		case errors.As(err, &te):
			if te.TypeId() == thrift.END_OF_FILE {
				return nil
			}
			return err
		case errors.As(err, &tae) && tae.TypeId() == thrift.UNKNOWN_METHOD:
			continue
		case !ok && err != nil:
			return err
		case !ok:
			return errors.New("request not processed")
		}
	}
}

// Close stops accepting, closes every connection (a call in progress
// finishes against a closed socket) and waits for their goroutines; then it
// drops the uploads in progress. Close is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.handler.dropUploads()
	s.handler.dropDownloads()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
