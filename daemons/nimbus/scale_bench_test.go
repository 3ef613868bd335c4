package nimbus

// Benchmarks of nimbus's scheduling round as the cluster grows (issue 18):
// the pure scheduler (Schedule over a snapshot) and the whole mk-assignments
// round (read topologies, heartbeats and supervisors from the cluster state,
// schedule, write what changed), at 100 to 10,000 executors. Target: one
// round at 10,000 executors < 50 ms.
//
//	go test -run '^$' -bench 'BenchmarkSchedule|BenchmarkMkAssignments' -count 5 ./daemons/nimbus/

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/topology"
)

// Shape of a scaled cluster: topologies of execsPerTopology executors on
// workersPerTopology workers, supervisors of slotsPerSupervisor slots with a
// fifth of the slots left free.
const (
	execsPerTopology   = 50
	workersPerTopology = 2
	slotsPerSupervisor = 4
)

var scaleSizes = []int{100, 1000, 10000} // executors

// scaleShape returns the topologies and supervisors for executors.
func scaleShape(executors int) (topologies, supervisors int) {
	topologies = max(executors/execsPerTopology, 1)
	supervisors = max(topologies*workersPerTopology*5/4/slotsPerSupervisor, 1)
	return topologies, supervisors
}

// scaleSnapshot is a snapshot of the shape of scaleShape(executors), with no
// assignment yet.
func scaleSnapshot(executors int) Snapshot {
	topologies, supervisors := scaleShape(executors)
	s := Snapshot{Supervisors: map[string]SupervisorSnapshot{}, NowSecs: 1}
	for i := range supervisors {
		s.Supervisors[fmt.Sprintf("sup-%04d", i)] = SupervisorSnapshot{Host: "localhost", Ports: []int{6700, 6701, 6702, 6703}, Alive: true}
	}
	for i := range topologies {
		t := TopologySnapshot{ID: fmt.Sprintf("t%04d-1-1", i), NumWorkers: workersPerTopology, Alive: map[cluster.ExecutorInfo]bool{}}
		for e := 1; e <= execsPerTopology; e++ {
			t.Executors = append(t.Executors, cluster.ExecutorInfo{Start: e, End: e})
		}
		s.Topologies = append(s.Topologies, t)
	}
	return s
}

// BenchmarkSchedule: the pure scheduler. fresh: nothing is assigned yet (a
// cluster's first round, or every topology submitted at once); steady:
// every topology keeps its alive assignment (the round nimbus runs every
// nimbus.monitor.freq.secs); lost: one supervisor of the steady cluster is
// dead and its executors move.
func BenchmarkSchedule(b *testing.B) {
	for _, n := range scaleSizes {
		fresh := scaleSnapshot(n)
		plan := Schedule(fresh)
		steady := fresh
		steady.Topologies = nil
		for _, t := range fresh.Topologies {
			t.Current = plan.Assignments[t.ID]
			for _, e := range t.Executors {
				t.Alive[e] = true
			}
			steady.Topologies = append(steady.Topologies, t)
		}
		lost := steady
		lost.Supervisors = map[string]SupervisorSnapshot{}
		for id, s := range steady.Supervisors {
			lost.Supervisors[id] = s
		}
		lost.Supervisors["sup-0000"] = SupervisorSnapshot{Host: "localhost", Ports: []int{6700, 6701, 6702, 6703}}
		for _, c := range []struct {
			name string
			snap Snapshot
		}{{"fresh", fresh}, {"steady", steady}, {"lost", lost}} {
			b.Run(fmt.Sprintf("executors=%d/%s", n, c.name), func(b *testing.B) {
				cpu0 := processCPU()
				for b.Loop() {
					p := Schedule(c.snap)
					if len(p.Assignments) != len(c.snap.Topologies) {
						b.Fatalf("%d assignments for %d topologies", len(p.Assignments), len(c.snap.Topologies))
					}
				}
				reportRound(b, processCPU()-cpu0)
			})
		}
	}
}

// reportRound reports the wall time and the CPU time (of the whole process:
// on a loaded machine the wall time also holds the waits for a core) of one
// round.
func reportRound(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/round")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/round")
}

// scaleDefinition is a topology of execsPerTopology executors (no ackers).
func scaleDefinition() *topology.Definition {
	d := wordCount()
	d.Spouts["words"].Parallelism = 10
	d.Bolts["count"].Parallelism = execsPerTopology - 10
	return d
}

// BenchmarkMkAssignments: the whole round over the cluster state (in
// memory, and the embedded ZooKeeper), with every topology assigned and
// within its launch grace (no heartbeats yet, so all alive); the timer runs
// for one MkAssignments call that writes nothing.
func BenchmarkMkAssignments(b *testing.B) {
	for _, n := range scaleSizes {
		for name, mk := range benchStates(b) {
			b.Run(fmt.Sprintf("executors=%d/%s", n, name), func(b *testing.B) {
				nb := scaleNimbus(b, mk(), n)
				cpu0 := processCPU()
				for b.Loop() {
					if err := nb.MkAssignments(""); err != nil {
						b.Fatal(err)
					}
				}
				reportRound(b, processCPU()-cpu0)
			})
		}
	}
}

// scaleNimbus is nimbus over state with the supervisors and topologies of
// scaleShape(executors), every topology submitted and assigned.
func scaleNimbus(b *testing.B, state cluster.StormClusterState, executors int) *Nimbus {
	b.Helper()
	topologies, supervisors := scaleShape(executors)
	for i := range supervisors {
		id := fmt.Sprintf("sup-%04d", i)
		if err := state.SupervisorHeartbeat(id, &cluster.SupervisorInfo{V: 1, TimeSecs: time.Now().Unix(), Hostname: id, SlotPorts: []int{6700, 6701, 6702, 6703}}); err != nil {
			b.Fatal(err)
		}
	}
	n, err := Start(b.Context(), Options{Conf: config.Conf{
		config.NimbusMonitorFreqSecs: 3600, config.NimbusTaskLaunchSecs: 3600, config.NimbusSupervisorTimeoutSecs: 3600,
		config.TopologyAckerExecutors: 0,
	}, LocalDir: b.TempDir(), State: state})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = n.Close(context.Background()) })
	code := []byte("code")
	for i := range topologies {
		up, err := n.Upload(b.Context(), bytes.NewReader(code), sum(code))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := n.Submit(b.Context(), api.SubmitRequest{Name: fmt.Sprintf("t%04d", i), UploadID: up.UploadID, SHA256: up.SHA256,
			Kind: api.KindBinary, Definition: scaleDefinition(), Conf: map[string]any{config.TopologyWorkers: workersPerTopology}}); err != nil {
			b.Fatal(err)
		}
	}
	return n
}
