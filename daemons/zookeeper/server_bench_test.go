package zookeeper

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// Benchmarks of the embedded server through the go-zookeeper client. The
// embedded-vs-real comparison lives in the conformance suite's benchmarks;
// these isolate the server's own paths (in memory and with fsync).

func benchServer(b *testing.B, fsync bool) *zk.Conn {
	opts := Options{}
	if fsync {
		opts.DataDir = b.TempDir()
	}
	s := startServer(b, opts)
	c := connect(b, s.Addr())
	return c
}

func BenchmarkSequentialOps(b *testing.B) {
	for _, fsync := range []bool{false, true} {
		name := "memory"
		if fsync {
			name = "fsync"
		}
		b.Run(name, func(b *testing.B) {
			c := benchServer(b, fsync)
			data := make([]byte, 100)
			acl := zk.WorldACL(zk.PermAll)
			ops := []struct {
				name string
				fn   func(i int) error
			}{
				{"create", func(i int) error { _, err := c.Create(fmt.Sprintf("/n%d", i), data, 0, acl); return err }},
				{"get", func(i int) error { _, _, err := c.Get(fmt.Sprintf("/n%d", i)); return err }},
				{"set", func(i int) error { _, err := c.Set(fmt.Sprintf("/n%d", i), data, -1); return err }},
				{"delete", func(i int) error { return c.Delete(fmt.Sprintf("/n%d", i), -1) }},
			}
			for _, op := range ops {
				b.Run(op.name, func(b *testing.B) {
					if op.name != "create" {
						for i := range b.N {
							if _, err := c.Create(fmt.Sprintf("/n%d", i), data, 0, acl); err != nil && op.name != "get" && op.name != "set" && op.name != "delete" {
								b.Fatal(err)
							}
						}
					}
					b.ResetTimer()
					for i := range b.N {
						if err := op.fn(i); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					if op.name == "create" || op.name == "get" || op.name == "set" {
						for i := range b.N {
							_ = c.Delete(fmt.Sprintf("/n%d", i), -1)
						}
					}
				})
			}
		})
	}
}

// BenchmarkPipelined runs 32 goroutines on one connection; ops/s is the figure.
func BenchmarkPipelined(b *testing.B) {
	for _, fsync := range []bool{false, true} {
		for _, op := range []string{"create", "get", "set"} {
			name := "memory/" + op
			if fsync {
				name = "fsync/" + op
			}
			b.Run(name, func(b *testing.B) {
				c := benchServer(b, fsync)
				data := make([]byte, 100)
				acl := zk.WorldACL(zk.PermAll)
				if _, err := c.Create("/p", data, 0, acl); err != nil {
					b.Fatal(err)
				}
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for range 32 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							var err error
							switch op {
							case "create":
								_, err = c.Create(fmt.Sprintf("/p/%d", i), data, 0, acl)
							case "get":
								_, _, err = c.Get("/p")
							case "set":
								_, err = c.Set("/p", data, -1)
							}
							if err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
			})
		}
	}
}

// BenchmarkWatchLatency measures setData → event on another connection.
func BenchmarkWatchLatency(b *testing.B) {
	s := startServer(b, Options{})
	c := connect(b, s.Addr())
	w := connect(b, s.Addr())
	if _, err := c.Create("/w", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		_, _, ch, err := w.GetW("/w")
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := c.Set("/w", []byte("x"), -1); err != nil {
			b.Fatal(err)
		}
		<-ch
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slicesSortDurations(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func slicesSortDurations(d []time.Duration) {
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j] < d[j-1]; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}

// BenchmarkTreeMemory reports the heap that 100,000 znodes of 100 bytes take.
func BenchmarkTreeMemory(b *testing.B) {
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		t := newTree()
		data := make([]byte, 100)
		t.apply(&txn{Type: opCreate, Zxid: 1, Path: "/m", ACL: openACL, Cversion: 1}, nil)
		for i := range 100000 {
			x := txn{Type: opCreate, Zxid: int64(i + 2), Path: fmt.Sprintf("/m/node-%07d", i), Data: append([]byte(nil), data...), ACL: openACL, Cversion: int32(i + 1)}
			t.apply(&x, nil)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MB")
		runtime.KeepAlive(t)
	}
}
