package run

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/testutil"
)

// BenchmarkTopologyBinaryStart execs the word count example's topology
// binary (`--help`: package initialisation, flag parsing, exit), which is
// what every worker process pays before it runs: the median wall time per
// exec and the binary's size. (Not the child's peak RSS: the kernel reports
// this test process's own for a child started by vfork and exec.)
//
//	go test -run '^$' -bench TopologyBinaryStart -benchtime 200x ./topology/run/
func BenchmarkTopologyBinaryStart(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "wordcount")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "../../examples/wordcount/cmd/wordcount")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	st, err := os.Stat(bin)
	if err != nil {
		b.Fatal(err)
	}
	var took []float64
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command(bin, "--help")
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("%s --help: %v", bin, err)
		}
		took = append(took, float64(time.Since(start).Microseconds())/1000)
	}
	b.ReportMetric(testutil.Median(took), "ms-median/exec")
	b.ReportMetric(float64(st.Size())/(1<<20), "binary-MB")
}
