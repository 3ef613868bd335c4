package localcluster_test

// Benchmarks of issue 5's speed targets, on the 2-core CI machine:
//   - `localstorm up` (embedded ZooKeeper, 3 supervisors) to ready < 300 ms;
//   - `up` + `submit` + first acked tuple < 1 s;
//   - an idle `up` process < 60 MB RSS and < 2% of one core.
//
// The targets are medians, so every benchmark reports the median of its
// iterations (…-median metrics) besides Go's mean ns/op. The CLI benchmarks
// run the real binaries, built once per run from this module: the
// `localstorm` CLI and internal/firstack (word count whose spout reports its
// first ack over HTTP, the moment it happens).
//
//	go test -run '^$' -bench . -count 5 ./localcluster/

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/localcluster"
)

// BenchmarkStart measures localcluster.Start in this process (embedded
// ZooKeeper, 3 supervisors of 4 slots, temporary data dir) until it returns a
// usable cluster; Close is not timed.
func BenchmarkStart(b *testing.B) {
	var took []time.Duration
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
		start := time.Now()
		c, err := localcluster.Start(ctx, localcluster.Options{Name: "bench"})
		took = append(took, time.Since(start))
		if err != nil {
			cancel()
			b.Fatalf("start: %v", err)
		}
		b.StopTimer()
		if err := c.Close(ctx); err != nil {
			b.Errorf("close: %v", err)
		}
		cancel()
		b.StartTimer()
	}
	reportMedian(b, took, "ms-median/ready")
}

// BenchmarkUpReady measures `localstorm up` from exec to its banner on
// stdout (the cluster is usable then), then stops it with SIGTERM (not timed).
func BenchmarkUpReady(b *testing.B) {
	bins := buildBinaries(b)
	b.ResetTimer() // the first benchmark to run builds the binaries
	var took []time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		up := startUp(b, bins, fmt.Sprintf("ready%d", i))
		took = append(took, time.Since(start))
		b.StopTimer()
		up.stop(b)
		b.StartTimer()
	}
	reportMedian(b, took, "ms-median/ready")
}

// BenchmarkUpSubmitFirstAck measures `localstorm up`, then `localstorm
// submit` of a word-count binary, until the spout's first tuple is acked
// (through the acker, across the two workers' real processes).
func BenchmarkUpSubmitFirstAck(b *testing.B) {
	bins := buildBinaries(b)
	b.ResetTimer() // the first benchmark to run builds the binaries
	acks := make(chan struct{}, 16)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case acks <- struct{}{}:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	ackURL := "http://" + ln.Addr().String() + "/ack"

	var total, ready, submitted []time.Duration
	for i := 0; i < b.N; i++ {
		for len(acks) > 0 { // an ack left over from the previous iteration's cluster
			<-acks
		}
		name := fmt.Sprintf("ack%d", i)
		start := time.Now()
		up := startUp(b, bins, name)
		ready = append(ready, time.Since(start))
		out, err := bins.cli(up.env, "submit", bins.firstack, "--cluster", name, "-c", "localstorm.bench.ack.url="+ackURL).CombinedOutput()
		if err != nil {
			up.stop(b)
			b.Fatalf("submit: %v\n%s", err, out)
		}
		submitted = append(submitted, time.Since(start))
		select {
		case <-acks:
		case <-time.After(60 * time.Second):
			up.stop(b)
			b.Fatalf("no acked tuple within 60 s of submit\n%s", up.stderr.String())
		}
		total = append(total, time.Since(start))
		b.StopTimer()
		up.stop(b)
		b.StartTimer()
	}
	reportMedian(b, ready, "ms-median/ready")
	reportMedian(b, submitted, "ms-median/submitted")
	reportMedian(b, total, "ms-median/first-ack")
}

// BenchmarkUpIdle measures an idle `localstorm up` (no topology): its RSS
// and its CPU use over idleWindow, after idleSettle for start-up to finish.
// CPU is utime+stime from /proc/PID/stat, in percent of one core. It runs
// with nimbus's live history (the default) and without it
// (localstorm.nimbus.history.secs=0), so the history's cost is measured in
// the same run.
func BenchmarkUpIdle(b *testing.B) {
	bins := buildBinaries(b)
	b.ResetTimer() // the first benchmark to run builds the binaries
	b.Run("history=on", func(b *testing.B) { benchUpIdle(b, bins, false) })
	b.Run("history=off", func(b *testing.B) { benchUpIdle(b, bins, false, "-c", "localstorm.nimbus.history.secs=0") })
}

// BenchmarkUpIdleTopology is BenchmarkUpIdle with a topology that runs but
// has nothing to do (the word count after its spout's 10 sentences): its
// two workers heartbeat, and nimbus samples their history every second.
// The figures are of the `up` process only (the workers are their own).
func BenchmarkUpIdleTopology(b *testing.B) {
	bins := buildBinaries(b)
	b.ResetTimer() // the first benchmark to run builds the binaries
	b.Run("history=on", func(b *testing.B) { benchUpIdle(b, bins, true) })
	b.Run("history=off", func(b *testing.B) { benchUpIdle(b, bins, true, "-c", "localstorm.nimbus.history.secs=0") })
}

// benchUpIdle measures `up` with args, with an idle word count when topo.
func benchUpIdle(b *testing.B, bins binaries, topo bool, args ...string) {
	const (
		idleSettle = 2 * time.Second
		idleWindow = 10 * time.Second
	)
	var cpu, rss []float64
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("idle%d", i)
		up := startUp(b, bins, name, args...)
		if topo {
			out, err := bins.cli(up.env, "submit", bins.firstack, "--cluster", name, "--wait", "-c", "wordcount.sentences.limit=10").CombinedOutput()
			if err != nil {
				up.stop(b)
				b.Fatalf("submit: %v\n%s", err, out)
			}
		}
		time.Sleep(idleSettle)
		t0, c0 := time.Now(), cpuTicks(b, up.pid)
		time.Sleep(idleWindow)
		c1, t1 := cpuTicks(b, up.pid), time.Now()
		cpu = append(cpu, float64(c1-c0)/clockTicksPerSec/t1.Sub(t0).Seconds()*100)
		rss = append(rss, rssMB(b, up.pid))
		up.stop(b)
	}
	b.ReportMetric(testutil.Median(cpu), "cpu-%-median")
	b.ReportMetric(testutil.Median(rss), "rss-MB-median")
}

// clockTicksPerSec is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicksPerSec = 100

// cpuTicks is utime+stime of pid, in clock ticks.
func cpuTicks(b *testing.B, pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("read stat of up: %v", err)
	}
	// Fields after the command name (which may hold spaces) start at ") ".
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	// utime and stime are fields 14 and 15 of stat(5), 12 and 13 here.
	ut, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("parse stat of up: %q", raw)
	}
	return ut + st
}

// rssMB is VmRSS of pid in MB (10^6 bytes).
func rssMB(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatalf("read status of up: %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				b.Fatalf("parse VmRSS %q: %v", line, err)
			}
			return kb * 1024 / 1e6
		}
	}
	b.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// binaries are the programs the CLI benchmarks run, built once per process.
type binaries struct {
	dir, localstorm, firstack string
}

var (
	binsOnce sync.Once
	bins     binaries
	binsErr  error
)

func buildBinaries(b testing.TB) binaries {
	b.Helper()
	binsOnce.Do(func() {
		bins.dir, binsErr = os.MkdirTemp("", "localcluster-bench-")
		if binsErr != nil {
			return
		}
		bins.localstorm = filepath.Join(bins.dir, "localstorm")
		bins.firstack = filepath.Join(bins.dir, "firstack")
		for pkg, out := range map[string]string{"../cmd/localstorm": bins.localstorm, "./internal/firstack": bins.firstack} {
			if out, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
				binsErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if binsErr != nil {
		b.Fatal(binsErr)
	}
	return bins
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bins.dir != "" {
		os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}

// cli is a localstorm command with env (its own state dir).
func (bs binaries) cli(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bs.localstorm, args...)
	cmd.Env = env
	return cmd
}

// upProcess is a running `localstorm up`.
type upProcess struct {
	cmd    *exec.Cmd
	pid    int
	env    []string
	stderr *testutil.Buffer
	done   chan struct{}
}

// startUp runs `localstorm up --cluster name` with a state dir of its own
// and returns once the banner is on stdout.
func startUp(b *testing.B, bs binaries, name string, args ...string) *upProcess {
	b.Helper()
	stateDir, err := os.MkdirTemp(bs.dir, "state-")
	if err != nil {
		b.Fatal(err)
	}
	env := append(os.Environ(), "LOCALSTORM_STATE_DIR="+stateDir)
	cmd := bs.cli(env, append([]string{"up", "--cluster", name}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	p := &upProcess{cmd: cmd, env: env, stderr: &testutil.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("start up: %v", err)
	}
	p.pid = cmd.Process.Pid
	banner := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		seen := false
		for sc.Scan() {
			if !seen && strings.Contains(sc.Text(), "is up") {
				seen = true
				banner <- true
			}
		}
		if !seen {
			banner <- false
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case ok := <-banner:
		if !ok {
			<-p.done
			b.Fatalf("up exited before it was ready:\n%s", p.stderr.String())
		}
	case <-time.After(60 * time.Second):
		p.stop(b)
		b.Fatalf("up: no banner within 60 s:\n%s", p.stderr.String())
	}
	return p
}

// stop sends SIGTERM (up shuts the cluster down in order) and waits; SIGKILL
// after 30 s.
func (p *upProcess) stop(b *testing.B) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		b.Errorf("up (pid %d) did not stop within 30 s of SIGTERM:\n%s", p.pid, p.stderr.String())
	}
}

func reportMedian(b *testing.B, d []time.Duration, unit string) {
	ms := make([]float64, len(d))
	for i, v := range d {
		ms[i] = float64(v.Microseconds()) / 1000
	}
	b.ReportMetric(testutil.Median(ms), unit)
}
