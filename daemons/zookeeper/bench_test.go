package zookeeper_test

// Embedded vs real ZooKeeper 3.8, same go-zookeeper client, same run:
//
//	go test -run '^$' -bench 'BenchmarkCompare' -count 5 ./daemons/zookeeper/
//
// Targets: embedded in memory; embedded and real with a data dir, fsync on
// and off (real: forceSync=no). Per target: sequential per-op latency
// (create/get/set/delete, ns/op), pipelined throughput with 32 goroutines on
// one connection (ops/s), and setData → watch event latency (p50/p99).
// BenchmarkCompareRSS100kZnodes measures each server's RSS in its own process
// holding 100,000 znodes of 100 bytes.

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/daemons/zookeeper"
	"github.com/localstorm/localstorm/internal/zktest"
)

// benchTarget starts one server for a benchmark and returns its address.
type benchTarget struct {
	name  string
	start func(b *testing.B) string
}

func embeddedBench(dataDir bool, fsync zookeeper.FsyncPolicy) func(b *testing.B) string {
	return func(b *testing.B) string {
		opts := zookeeper.Options{Fsync: fsync}
		if dataDir {
			opts.DataDir = b.TempDir()
		}
		srv, err := zookeeper.Start(b.Context(), opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = srv.Close() })
		return srv.Addr()
	}
}

func realBench(forceSync bool) func(b *testing.B) string {
	return func(b *testing.B) string {
		opts := zktest.RealOptions{JVMFlags: []string{}} // the JVM's defaults, full JIT
		if !forceSync {
			opts.Extra = []string{"forceSync=no"}
		}
		return zktest.StartReal(b, opts).Addr
	}
}

func benchTargets() []benchTarget {
	return []benchTarget{
		{"embedded-memory", embeddedBench(false, zookeeper.FsyncNever)},
		{"embedded-fsync", embeddedBench(true, zookeeper.FsyncAlways)},
		{"embedded-nofsync", embeddedBench(true, zookeeper.FsyncNever)},
		{"real-fsync", realBench(true)},
		{"real-nofsync", realBench(false)},
	}
}

func benchConnect(b *testing.B, addr string) *zk.Conn {
	b.Helper()
	c, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(silent{}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				go func() {
					for range events { // keep the client's event channel drained
					}
				}()
				return c
			}
		case <-deadline:
			b.Fatalf("no session from %s within 15s", addr)
		}
	}
}

var payload = []byte(strings.Repeat("x", 100))

// pipelined runs n operations from 32 goroutines sharing one connection.
func pipelined(b *testing.B, n int, op func(i int) error) {
	const workers = 32
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := op(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		b.Fatal(err)
	}
}

var benchRoot atomic.Int64

// warmUp runs a few thousand of every operation first, so the real server's
// JIT has compiled its hot paths (and the embedded server's pools are filled)
// before anything is timed: each -count repetition starts fresh servers.
func warmUp(b *testing.B, c *zk.Conn, root string) {
	const n = 2000
	dir := root + "/warmup"
	if _, err := c.Create(dir, nil, 0, worldACL); err != nil {
		b.Fatal(err)
	}
	for _, op := range []func(i int) error{
		func(i int) error { _, err := c.Create(dir+"/"+strconv.Itoa(i), payload, 0, worldACL); return err },
		func(i int) error { _, _, err := c.Get(dir + "/" + strconv.Itoa(i)); return err },
		func(i int) error { _, err := c.Set(dir+"/"+strconv.Itoa(i), payload, -1); return err },
		func(i int) error { return c.Delete(dir+"/"+strconv.Itoa(i), -1) },
	} {
		pipelined(b, n, op)
		for i := 0; i < n/10; i++ { // and some one at a time
			_ = op(n + i)
		}
	}
}

func BenchmarkCompare(b *testing.B) {
	for _, target := range benchTargets() {
		b.Run(target.name, func(b *testing.B) {
			addr := target.start(b)
			c := benchConnect(b, addr)
			root := fmt.Sprintf("/bench%d", benchRoot.Add(1))
			if _, err := c.Create(root, nil, 0, worldACL); err != nil {
				b.Fatal(err)
			}
			node := root + "/node"
			if _, err := c.Create(node, payload, 0, worldACL); err != nil {
				b.Fatal(err)
			}
			warmUp(b, c, root)
			fresh := func(prefix string) string {
				p := fmt.Sprintf("%s/%s%d", root, prefix, benchRoot.Add(1))
				if _, err := c.Create(p, nil, 0, worldACL); err != nil {
					b.Fatal(err)
				}
				return p
			}

			b.Run("create", func(b *testing.B) {
				dir := fresh("c")
				for i := 0; b.Loop(); i++ {
					if _, err := c.Create(dir+"/"+strconv.Itoa(i), payload, 0, worldACL); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("get", func(b *testing.B) {
				for b.Loop() {
					if _, _, err := c.Get(node); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("set", func(b *testing.B) {
				for b.Loop() {
					if _, err := c.Set(node, payload, -1); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("delete", func(b *testing.B) {
				dir := fresh("d")
				b.StopTimer()
				pipelined(b, b.N, func(i int) error {
					_, err := c.Create(dir+"/"+strconv.Itoa(i), payload, 0, worldACL)
					return err
				})
				b.StartTimer()
				for i := 0; i < b.N; i++ {
					if err := c.Delete(dir+"/"+strconv.Itoa(i), -1); err != nil {
						b.Fatal(err)
					}
				}
			})
			for _, op := range []string{"create", "get", "set"} {
				b.Run("pipelined-"+op, func(b *testing.B) {
					dir := fresh("p")
					start := time.Now()
					pipelined(b, b.N, func(i int) error {
						var err error
						switch op {
						case "create":
							_, err = c.Create(dir+"/"+strconv.Itoa(i), payload, 0, worldACL)
						case "get":
							_, _, err = c.Get(node)
						case "set":
							_, err = c.Set(node, payload, -1)
						}
						return err
					})
					b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
				})
			}
			b.Run("watch", func(b *testing.B) {
				watcher := benchConnect(b, addr)
				var lat []time.Duration
				for b.Loop() {
					_, _, ch, err := watcher.GetW(node)
					if err != nil {
						b.Fatal(err)
					}
					got := make(chan time.Time, 1)
					go func() { <-ch; got <- time.Now() }()
					t0 := time.Now()
					if _, err := c.Set(node, payload, -1); err != nil {
						b.Fatal(err)
					}
					select {
					case at := <-got:
						lat = append(lat, at.Sub(t0))
					case <-time.After(10 * time.Second):
						b.Fatal("no watch event within 10s")
					}
				}
				slices.Sort(lat)
				pct := func(p float64) float64 {
					return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds())
				}
				b.ReportMetric(pct(0.50), "p50-µs")
				b.ReportMetric(pct(0.99), "p99-µs")
			})
		})
	}
}

// BenchmarkCompareRSS100kZnodes fills each server, in its own process, with
// 100,000 znodes of 100 bytes and reports its resident set size, its
// anonymous part, and the size it had before (the child running the
// embedded server is this test binary, so its empty size includes the test
// code).
func BenchmarkCompareRSS100kZnodes(b *testing.B) {
	const znodes = 100_000
	fill := func(b *testing.B, addr string) {
		c := benchConnect(b, addr)
		if _, err := c.Create("/rss", nil, 0, worldACL); err != nil {
			b.Fatal(err)
		}
		pipelined(b, znodes, func(i int) error {
			_, err := c.Create(fmt.Sprintf("/rss/n%06d", i), payload, 0, worldACL)
			return err
		})
		if _, st, err := c.Exists("/rss"); err != nil || st.NumChildren != znodes {
			b.Fatalf("/rss holds %v children (%v), want %d", st, err, znodes)
		}
	}
	b.Run("embedded-memory", func(b *testing.B) {
		for b.Loop() {
			child := startChildServer(b)
			b.ReportMetric(rssMB(b, child.cmd.Process.Pid, "VmRSS"), "RSS-empty-MB")
			fill(b, child.Addr)
			b.ReportMetric(rssMB(b, child.cmd.Process.Pid, "VmRSS"), "RSS-MB")
			b.ReportMetric(rssMB(b, child.cmd.Process.Pid, "RssAnon"), "anon-MB")
			child.Kill()
		}
	})
	b.Run("real", func(b *testing.B) {
		for b.Loop() {
			real := zktest.StartReal(b, zktest.RealOptions{JVMFlags: []string{}})
			b.ReportMetric(rssMB(b, real.Pid(), "VmRSS"), "RSS-empty-MB")
			fill(b, real.Addr)
			b.ReportMetric(rssMB(b, real.Pid(), "VmRSS"), "RSS-MB")
			b.ReportMetric(rssMB(b, real.Pid(), "RssAnon"), "anon-MB")
			real.Stop()
		}
	})
}

// rssMB reads a size field of pid's /proc status: VmRSS, the resident set,
// or RssAnon, its anonymous part (the heap and stacks, without the pages of
// the executable and libraries, which the page cache shares).
func rssMB(b *testing.B, pid int, field string) float64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				b.Fatalf("VmRSS line %q: %v", line, err)
			}
			return float64(kb) / 1024
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
