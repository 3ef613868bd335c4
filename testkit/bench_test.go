package testkit_test

// Benchmarks of issue 6's speed targets, on the 2-core CI machine:
//   - a CompleteTopology test of word count on 2 workers (real subprocesses),
//     start to cleanup: median < 1 s;
//   - 50 such tests in one package (`go test`, default parallelism) < 30 s.
//
// A test is timed as a user runs it: this test binary is started again with
// -test.run selecting TestCompleteTopologyWordCount, so each iteration holds
// the process start, testkit.Start, the submit (upload of this binary), the
// workers' start, completion, the kill and the cleanup (cluster close, leak
// check). The 50 tests are testkit/internal/fiftytests, run by `go test`.
//
//	go test -run '^$' -bench . -count 5 ./testkit/

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/testutil"
)

// passLine is go test's verdict line of the word-count test, with the
// test's own duration (its cleanups included).
var passLine = regexp.MustCompile(`--- PASS: TestCompleteTopologyWordCount \(([0-9.]+)s\)`)

// BenchmarkCompleteTopologyWordCount runs TestCompleteTopologyWordCount in a
// fresh process per iteration. ms-median/test is the test's own duration as
// go test reports it (10 ms resolution); ms-median/process adds the test
// binary's start and exit.
func BenchmarkCompleteTopologyWordCount(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	var proc, test []float64
	for i := 0; i < b.N; i++ {
		start := time.Now()
		out, err := exec.Command(exe, "-test.run=^TestCompleteTopologyWordCount$", "-test.count=1", "-test.v").CombinedOutput()
		took := time.Since(start)
		m := passLine.FindSubmatch(out)
		if err != nil || m == nil {
			b.Fatalf("TestCompleteTopologyWordCount did not pass (%v):\n%s", err, out)
		}
		secs, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			b.Fatalf("duration %q: %v", m[1], err)
		}
		proc = append(proc, float64(took.Microseconds())/1000)
		test = append(test, secs*1000)
	}
	b.ReportMetric(testutil.Median(proc), "ms-median/process")
	b.ReportMetric(testutil.Median(test), "ms-median/test")
}

// BenchmarkFiftyTests runs `go test -count=1` of the package of 50 word-count
// CompleteTopology tests: as written (sequential: go test's default
// parallelism only applies to tests that call t.Parallel), and with every
// test calling t.Parallel (GOMAXPROCS at once). The package is built once
// before the timer starts, so iterations time the (cached) build check, the
// link, vet and the run, as a developer's `go test` does.
func BenchmarkFiftyTests(b *testing.B) {
	const pkg = "./internal/fiftytests"
	if out, err := exec.Command("go", "test", "-count=1", "-run", "^$", pkg).CombinedOutput(); err != nil {
		b.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	for _, mode := range []struct{ name, parallel string }{{"sequential", "0"}, {"parallel", "1"}} {
		b.Run(mode.name, func(b *testing.B) {
			var took []float64
			for i := 0; i < b.N; i++ {
				cmd := exec.Command("go", "test", "-count=1", pkg)
				cmd.Env = append(os.Environ(), "FIFTYTESTS_PARALLEL="+mode.parallel)
				start := time.Now()
				out, err := cmd.CombinedOutput()
				if err != nil {
					b.Fatalf("go test %s (%s): %v\n%s", pkg, mode.name, err, out)
				}
				took = append(took, time.Since(start).Seconds())
			}
			b.ReportMetric(testutil.Median(took), "s-median/50-tests")
		})
	}
}
