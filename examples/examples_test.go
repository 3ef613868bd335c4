// Package examples_test runs every example end to end: each topology binary
// is built, submitted to a real local cluster and must ack tuples; the Flux
// examples are submitted as YAML and run by localstorm's own worker.
package examples_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/localcluster/submit"
	"github.com/localstorm/localstorm/testkit"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "multilang" {
		os.Exit(serveMultilang(os.Args[1:])) // a packaged component (storm_package_test.go)
	}
	testkit.Main(m)
}

// buildExamples builds the example binaries in one go invocation.
func buildExamples(t testing.TB, pkgs ...string) string {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build examples: %v\n%s", err, out)
	}
	return dir
}

func TestExamplesRunOnACluster(t *testing.T) {
	bins := buildExamples(t,
		"./examples/wordcount/cmd/wordcount",
		"./examples/exclamation/cmd/exclamation",
		"./examples/reliable/cmd/reliable",
		"./examples/multilang/cmd/multilang",
		"./examples/movingaverage/cmd/movingaverage",
		"./examples/movingaverage/cmd/movingsum",
		"./examples/movingaverage/cmd/persistentsum",
		"./examples/statefulwordcount/cmd/statefulwordcount",
	)
	c := testkit.Start(t, testkit.Options{Supervisors: 2, Slots: 6})
	for _, ex := range []struct{ name, path string }{
		{"wordcount", filepath.Join(bins, "wordcount")},
		{"exclamation", filepath.Join(bins, "exclamation")},
		{"reliable", filepath.Join(bins, "reliable")},
		{"multilang", filepath.Join(bins, "multilang")},
		{"movingaverage", filepath.Join(bins, "movingaverage")},
		{"movingsum", filepath.Join(bins, "movingsum")},
		{"persistentsum", filepath.Join(bins, "persistentsum")},
		{"statefulwordcount", filepath.Join(bins, "statefulwordcount")},
		{"flux-wordcount", "flux/wordcount.yaml"},
		{"multilang-flux", "multilang/resources/multilang.yaml"},
	} {
		t.Run(ex.name, func(t *testing.T) {
			if _, err := os.Stat(ex.path); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			id, err := submit.Path(ctx, c.Client(), ex.path, submit.Options{Wait: true})
			if err != nil {
				t.Fatal(err)
			}
			c.WaitAcked(t, id, 50)
			if err := c.Client().Kill(ctx, id, 0); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A Flux file's ${ENV-NAME} is resolved once, by the submitter, from its
// environment; workers run in another (the cluster's) and must read the
// values the submitter resolved, not crash-loop on a variable they lack.
func TestFluxEnvironmentIsResolvedAtSubmit(t *testing.T) {
	dir := t.TempDir()
	entries, err := os.ReadDir("flux")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries { // the files, not the symlinks to them
		b, err := os.ReadFile(filepath.Join("flux", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	yamlPath := filepath.Join(dir, "wordcount.yaml")
	raw, err := os.ReadFile(yamlPath)
	if err != nil {
		t.Fatal(err)
	}
	const ref = `${ENV-LOCALSTORM_TEST_SPLITTER}`
	withRef := strings.Replace(string(raw), `"splitsentence.py"`, `"`+ref+`"`, 1)
	if withRef == string(raw) {
		t.Fatal("the example no longer runs splitsentence.py: update this test")
	}
	if err := os.WriteFile(yamlPath, []byte(withRef), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := os.LookupEnv("LOCALSTORM_TEST_SPLITTER"); ok {
		t.Fatal("LOCALSTORM_TEST_SPLITTER is set in the cluster's environment: the test needs it unset there")
	}
	c := testkit.Start(t, testkit.Options{Supervisors: 1, Slots: 2})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	id, err := submit.Flux(ctx, c.Client(), yamlPath, submit.Options{
		Wait: true,
		Env:  map[string]string{"LOCALSTORM_TEST_SPLITTER": "splitsentence.py"},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.WaitAcked(t, id, 50)
}

// workerFiles concatenates the files of the topology's workers that
// pattern matches (workercontract's names).
func workerFiles(c *testkit.Cluster, id, pattern string) string {
	files, _ := filepath.Glob(workercontract.DataDir(c.LocalCluster().DataDir()).WorkerFiles(id, 0, pattern))
	var all strings.Builder
	for _, f := range files {
		b, _ := os.ReadFile(f)
		all.Write(b)
	}
	return all.String()
}

// The metrics example writes its own metrics and Storm's built-in ones to
// the workers' metrics logs; the debug example logs the sampled emits of a
// component once debug is enabled on it, as Storm UI's debug action does.
func TestMetricsAndDebugExamples(t *testing.T) {
	bins := buildExamples(t, "./examples/metrics/cmd/metrics", "./examples/debug/cmd/debug")
	c := testkit.Start(t, testkit.Options{Supervisors: 1, Slots: 2})
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	readAll := func(id, name string) string { return workerFiles(c, id, name) }

	id, err := submit.Path(ctx, c.Client(), filepath.Join(bins, "metrics"), submit.Options{Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	c.WaitAcked(t, id, 50)
	testutil.Eventually(t, 60*time.Second, "the count bolt's metrics and the built-in ones in the metrics log", func() bool {
		log := readAll(id, workercontract.MetricsLogName)
		return strings.Contains(log, ":count") && strings.Contains(log, "words-counted") &&
			strings.Contains(log, "word-length") && strings.Contains(log, "__execute-count        \t{split:default=")
	})

	id, err = submit.Path(ctx, c.Client(), filepath.Join(bins, "debug"), submit.Options{Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	c.WaitAcked(t, id, 50)
	if got := readAll(id, workercontract.EventsLogName); got != "" {
		t.Fatalf("events logged before debug was enabled:\n%s", got)
	}
	if err := c.Client().Debug(ctx, id, "split", true, 100); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "split's emits in the event log", func() bool {
		return strings.Contains(readAll(id, workercontract.EventsLogName), ",split,")
	})
	if log := readAll(id, workercontract.EventsLogName); strings.Contains(log, ",sentences,") || strings.Contains(log, ",count,") {
		t.Errorf("components without debug were logged:\n%.2000s", log)
	}
}
