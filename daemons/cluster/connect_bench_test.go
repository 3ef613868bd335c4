package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/zookeeper"
)

// BenchmarkConnect measures what a daemon pays to get a ClusterState
// (session established, root created) and to close it, on the embedded
// server and the real 3.8.
//
//	go test -run '^$' -bench BenchmarkConnect -count 5 ./daemons/cluster/
func BenchmarkConnect(b *testing.B) {
	for _, tg := range startTargets(b) {
		b.Run(tg.name, func(b *testing.B) {
			opts := tg.options(b)
			opts.Logger = nil
			for range b.N {
				ctx, cancel := context.WithTimeout(b.Context(), waitFor)
				s, err := connect(ctx, opts)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				_ = s.Close()
			}
		})
	}
}

// BenchmarkReconnect measures how long a state takes to be usable again
// after the server dropped its connection (the session lives on): from the
// drop until a read succeeds.
//
//	go test -run '^$' -bench BenchmarkReconnect -benchtime 20x -count 5 ./daemons/cluster/
func BenchmarkReconnect(b *testing.B) {
	ctx, cancel := context.WithTimeout(b.Context(), waitFor)
	defer cancel()
	srv, err := zookeeper.Start(ctx, zookeeper.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	opts := target{name: "embedded", addr: srv.Addr()}.options(b)
	opts.Logger = nil
	s := connectState(b, opts)
	if err := s.SetData("/x", []byte("x")); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		srv.DropConnections()
		for {
			if _, err := s.GetData("/x", false); err == nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
}
