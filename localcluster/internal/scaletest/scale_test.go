package scaletest_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/localcluster"
	"github.com/localstorm/localstorm/localcluster/submit"
)

const (
	supervisors = 64
	topologies  = 50
	workers     = 2  // per topology: 100 worker processes
	sentences   = 20 // per spout, then the topology idles
	parallel    = 8  // submits in flight at once
)

// TestSixtyFourSupervisorsFiftyTopologies: a cluster of 64 supervisors (2
// slots each) comes up; 50 word-count topologies of 2 workers each are
// submitted; every executor of every topology heartbeats, and every
// topology acks its spout's sentences. Not timed: the waits end on the
// state they wait for, within bounds loose enough for a loaded 2-core CI
// machine under -race.
func TestSixtyFourSupervisorsFiftyTopologies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 100 worker processes")
	}
	bin := filepath.Join(t.TempDir(), "wordcount")
	if out, err := exec.Command("go", "build", "-o", bin, "../../../examples/wordcount/cmd/wordcount").CombinedOutput(); err != nil {
		t.Fatalf("go build wordcount: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{Name: "scale", Supervisors: supervisors, Slots: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	client := c.Client()
	sum, err := client.SupervisorSummary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Supervisors) != supervisors {
		t.Fatalf("%d supervisors registered at ready, want %d", len(sum.Supervisors), supervisors)
	}
	ids := make([]string, topologies)
	errs := make([]error, topologies)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ids[i], errs[i] = submit.Binary(ctx, client, bin, submit.Options{
				Name: fmt.Sprintf("wc%02d", i),
				Conf: map[string]any{"topology.workers": workers, "wordcount.sentences.limit": sentences},
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("submit wc%02d: %v", i, err)
		}
	}
	for _, id := range ids {
		if err := submit.WaitRunning(ctx, client, id); err != nil {
			t.Fatal(err)
		}
	}
	slots := 0
	for _, sup := range c.Supervisors() {
		for _, w := range sup.Workers() {
			if w.State == "running" {
				slots++
			}
		}
	}
	if slots != topologies*workers {
		t.Errorf("%d worker processes running, want %d", slots, topologies*workers)
	}
	for _, id := range ids {
		testutil.Eventually(t, 2*time.Minute, id+" acks its spout's sentences", func() bool {
			info, err := client.Topology(ctx, id)
			return err == nil && spoutAcked(info) >= sentences
		})
	}
}

func spoutAcked(info *api.TopologyInfo) int64 {
	var n int64
	for _, s := range info.Spouts {
		n += s.Acked
	}
	return n
}
