package cluster

import (
	"net"
	"strings"
	"testing"
	"time"
)

// A server that accepts but never answers (a ZooKeeper that hangs, or not a
// ZooKeeper at all) gives up after storm.zookeeper.connection.timeout with
// an error naming it, instead of waiting for ever.
func TestConnectGivesUpAfterTheConnectionTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	start := time.Now()
	st, err := Connect(t.Context(), Options{Servers: []string{ln.Addr().String()}, ConnectionTimeout: 300 * time.Millisecond})
	if err == nil {
		st.Close()
		t.Fatal("connected to a server that never answers")
	}
	if !strings.Contains(err.Error(), "storm.zookeeper.connection.timeout") {
		t.Errorf("error %q does not name the timeout that ended the wait", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("gave up after %v; the bound was 300ms", took)
	}
}
