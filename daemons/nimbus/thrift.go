package nimbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/nimbusthrift"
)

// NimbusThriftMaxBufferSize is Storm's key bounding a Thrift request frame.
const NimbusThriftMaxBufferSize = "nimbus.thrift.max_buffer_size"

// Storm's Nimbus Thrift service (package nimbusthrift) is nimbus's second
// front door, next to the HTTP API and over the same Service.

var _ nimbusthrift.Backend = (*Nimbus)(nil)

// listenThrift binds the Thrift listener (before anything changes in
// ZooKeeper, as the API's); addr "" is 127.0.0.1:0.
func (n *Nimbus) listenThrift(addr string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for the Thrift service on %s (nimbus.thrift.port): %w", addr, err)
	}
	n.thriftListener = ln
	return nil
}

// serveThrift starts serving the bound Thrift listener.
func (n *Nimbus) serveThrift() error {
	maxFrame := nimbusthrift.DefaultMaxBufferSize
	if _, set := n.conf[NimbusThriftMaxBufferSize]; set {
		v, err := n.conf.Int(NimbusThriftMaxBufferSize)
		if err != nil || v <= 0 {
			return fmt.Errorf("config %s: must be a positive number of bytes, got %v", NimbusThriftMaxBufferSize, n.conf[NimbusThriftMaxBufferSize])
		}
		maxFrame = v
	}
	s, err := nimbusthrift.Serve(n.thriftListener, nimbusthrift.Options{
		Backend: n, MaxFrameSize: maxFrame, MaxUploadBytes: n.set.maxUploadBytes, SpoolDir: n.inboxDir,
		Logger: n.log.With("api", "thrift"),
	})
	if err != nil {
		return err
	}
	n.thrift = s
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		select {
		case err := <-s.Err():
			n.fatal(err)
		case <-n.thriftDone:
		}
	}()
	return nil
}

// stopThriftOnce stops the Thrift service the first time it is called and
// returns that call's error every time.
func (n *Nimbus) stopThriftOnce() error {
	n.thriftStop.Do(func() { n.thriftStopErr = n.stopThrift() })
	return n.thriftStopErr
}

// stopThrift closes the Thrift service (or its listener, when it never
// served).
func (n *Nimbus) stopThrift() error {
	if n.thrift == nil {
		if n.thriftListener != nil {
			_ = n.thriftListener.Close()
		}
		return nil
	}
	close(n.thriftDone)
	if err := n.thrift.Close(); err != nil {
		return fmt.Errorf("stop Thrift service: %w", err)
	}
	return nil
}

// ThriftPort is the port of Storm's Nimbus Thrift service.
func (n *Nimbus) ThriftPort() int {
	if n.thriftListener == nil {
		return 0
	}
	return n.thriftListener.Addr().(*net.TCPAddr).Port
}

// ThriftAddr is the address a client on this host dials for the Thrift
// service, "127.0.0.1:PORT".
func (n *Nimbus) ThriftAddr() string {
	if n.thriftListener == nil {
		return ""
	}
	return dialable(n.thriftListener.Addr().(*net.TCPAddr))
}

// TopologyNameAllowed says whether a topology could be submitted as name
// now (Storm's isTopologyNameAllowed): the name is valid and no live
// topology has it.
func (n *Nimbus) TopologyNameAllowed(ctx context.Context, name string) (bool, error) {
	if ValidateTopologyName(name) != nil {
		return false, nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	err := n.checkNameFree(name)
	if errors.Is(err, api.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// Storm's names of a topology's code files in its code directory, as
// Storm's clients download them (beginFileDownload), and the file of
// localstorm's code directory each is served from.
var stormCodeFiles = map[string]string{
	"stormjar.jar": api.CodeFileBinary, // the code: a Go binary, or the Flux archive of a Thrift or Flux submit
}

// OpenCodePath opens a file of a topology's code by the path Storm's
// clients download it by: the topology's code directory (its assignment's
// codeDir, {storm.local.dir}/nimbus/stormdist/<id>) and stormjar.jar, or
// one of localstorm's own code file names (stormcode, stormcode.tgz,
// stormconf.json, stormtopology.json).
func (n *Nimbus) OpenCodePath(ctx context.Context, path string) (io.ReadCloser, error) {
	dir, file := filepath.Split(filepath.Clean(path))
	id := filepath.Base(dir)
	if filepath.Clean(dir) != filepath.Join(n.distDir, id) || !validTopologyID(id) {
		return nil, fmt.Errorf("File %s does not exist: download a topology's code as %s/TOPOLOGY-ID/stormjar.jar (the codeDir of its assignment)", path, n.distDir)
	}
	if f, ok := stormCodeFiles[file]; ok {
		file = f
	}
	cf, err := n.OpenCode(ctx, id, file)
	if err != nil {
		return nil, err
	}
	return cf.File, nil
}
