package localcluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/localcluster/registry"
)

// BenchmarkUpDemo measures `localstorm up --demo` at the default rate and
// flat out (--demo-rate 0): the CPU of the up process and its workers, in
// percent of one core, and the sentences acked per second, over demoWindow
// after demoSettle.
func BenchmarkUpDemo(b *testing.B) {
	const (
		demoSettle = 5 * time.Second
		demoWindow = 10 * time.Second
	)
	bins := buildBinaries(b)
	for _, rate := range []string{"default", "0"} {
		b.Run("rate="+rate, func(b *testing.B) {
			var extra []string
			if rate != "default" {
				extra = []string{"--demo-rate", rate}
			}
			var cpu, acked []float64
			for i := 0; i < b.N; i++ {
				up := startUp(b, bins, fmt.Sprintf("demo%s-%d", rate, i), append([]string{"--demo"}, extra...)...)
				cl := api.NewClient(upAPIURL(b, up))
				time.Sleep(demoSettle)
				t0, c0, a0 := time.Now(), treeCPUTicks(b, up.pid), spoutAcked(b, cl)
				time.Sleep(demoWindow)
				c1, a1, t1 := treeCPUTicks(b, up.pid), spoutAcked(b, cl), time.Now()
				secs := t1.Sub(t0).Seconds()
				cpu = append(cpu, float64(c1-c0)/clockTicksPerSec/secs*100)
				acked = append(acked, float64(a1-a0)/secs)
				up.stop(b)
			}
			b.ReportMetric(testutil.Median(cpu), "cpu-%-median")
			b.ReportMetric(testutil.Median(acked), "acked/s-median")
		})
	}
}

// upAPIURL reads the API's URL from the cluster's record in its state dir.
func upAPIURL(b *testing.B, up *upProcess) string {
	raw, err := os.ReadFile(filepath.Join(up.stateDir, up.name+".json"))
	if err != nil {
		b.Fatal(err)
	}
	var rec registry.Record
	if err := json.Unmarshal(raw, &rec); err != nil || rec.APIURL == "" {
		b.Fatalf("record %s: %v", raw, err)
	}
	return rec.APIURL
}

// spoutAcked is the demo spout's acked count (all time).
func spoutAcked(b *testing.B, cl *api.Client) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, err := cl.TopologyIDByName(ctx, "wordcount")
	if err != nil {
		b.Fatal(err)
	}
	info, err := cl.TopologyWindow(ctx, id, api.WindowAllTime)
	if err != nil {
		b.Fatal(err)
	}
	return info.SpoutsAcked()
}

// treeCPUTicks is utime+stime of pid and every descendant (the workers).
func treeCPUTicks(b *testing.B, pid int) int64 {
	parent := map[int]int{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
		parent[p], _ = strconv.Atoi(fields[1])
	}
	var total int64
	for p := range parent {
		for q := p; q > 1; q = parent[q] {
			if q == pid {
				total += cpuTicks(b, p)
				break
			}
		}
	}
	return total
}
