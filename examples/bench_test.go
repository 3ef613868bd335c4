package examples_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/localstorm/localstorm/localcluster/submit"
	"github.com/localstorm/localstorm/testkit"
	"github.com/localstorm/localstorm/topology/shell"
)

// BenchmarkWordCountMultilang: the word count example's acked throughput
// (sentences acked per second) run natively (its topology binary) and
// packaged for Storm (the jar of `wordcount storm-package`: every spout and
// bolt task a multilang subprocess of localstorm's shell host), and packaged
// with shell.ConfNoTaskIDs (emits without the task-id round trip), on the
// same cluster, alternating. Each iteration is one measured window: the spout
// acked count's growth over window after a warm-up, between the first
// observations of new values (the counts move with worker heartbeats).
//
//	go test -run '^$' -bench WordCountMultilang -benchtime 1x -count 5 ./examples/
func BenchmarkWordCountMultilang(b *testing.B) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		b.Skip("a Storm package's linux/amd64 binary runs only there")
	}
	bins := buildExamples(b, "./examples/wordcount/cmd/wordcount")
	pkg := filepath.Join(b.TempDir(), "pkg")
	if out, err := exec.Command(filepath.Join(bins, "wordcount"), "storm-package", "-o", pkg).CombinedOutput(); err != nil {
		b.Fatalf("storm-package: %v\n%s", err, out)
	}
	c := testkit.Start(b, testkit.Options{Supervisors: 1, Slots: 4})
	jar := filepath.Join(pkg, "wordcount.jar")
	for _, run := range []struct {
		name, path string
		conf       map[string]any
	}{
		{"native", filepath.Join(bins, "wordcount"), nil},
		{"multilang", jar, nil},
		{"multilang-no-task-ids", jar, map[string]any{shell.ConfNoTaskIDs: true}},
	} {
		b.Run(run.name, func(b *testing.B) {
			for b.Loop() {
				b.ReportMetric(ackedRate(b, c, run.path, run.conf, 2*time.Second, 8*time.Second), "acked/s")
			}
		})
	}
}

func ackedRate(b *testing.B, c *testkit.Cluster, path string, conf map[string]any, warmup, window time.Duration) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	id, err := submit.Path(ctx, c.Client(), path, submit.Options{Wait: true, Conf: conf})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Client().Kill(ctx, id, 0) }()
	time.Sleep(warmup) // a benchmark's warm-up, not a wait for a state
	next := func(after int64) (int64, time.Time) {
		for {
			n, err := c.Acked(id)
			if err != nil {
				b.Fatal(err)
			}
			if n != after {
				return n, time.Now()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	n0, _ := c.Acked(id)
	n1, t1 := next(n0)
	time.Sleep(window)
	n2, _ := c.Acked(id)
	n3, t3 := next(n2)
	return float64(n3-n1) / t3.Sub(t1).Seconds()
}
