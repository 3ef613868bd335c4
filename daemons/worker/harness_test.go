package worker

import (
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/topology"
)

// assignmentFor spreads the executors of def (and numAckers ackers) over
// slots round-robin, in component order, as a hand-written assignment.
func assignmentFor(def *topology.Definition, numAckers int, slots []cluster.NodePort) *cluster.Assignment {
	tasks := def.ComponentTasks(numAckers)
	parallelism := map[string]int{topology.AckerComponent: numAckers}
	for id, c := range def.Spouts {
		parallelism[id] = c.Parallelism
	}
	for id, c := range def.Bolts {
		parallelism[id] = c.Parallelism
	}
	ids := slices.Sorted(maps.Keys(tasks))
	a := &cluster.Assignment{V: cluster.SchemaVersion, NodeHost: map[string]string{}}
	i := 0
	for _, id := range ids {
		for _, r := range topology.Executors(tasks[id], parallelism[id]) {
			slot := slots[i%len(slots)]
			i++
			a.NodeHost[slot.Node] = "127.0.0.1"
			a.Executors = append(a.Executors, cluster.ExecutorAssignment{
				Executor: cluster.ExecutorInfo{Start: r[0], End: r[1]}, Slot: slot, StartSecs: time.Now().Unix(),
			})
		}
	}
	return a
}

// inProcess runs a whole topology in one worker of this process, without
// ZooKeeper or TCP: the executors, routing, ackers and stats only.
type inProcess struct {
	w       *worker
	stopped bool
}

// before, if given, run after the worker is built and before its executors start.
func startInProcess(t testing.TB, b *topology.Builder, conf config.Conf, before ...func(*worker)) *inProcess {
	t.Helper()
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	def := topo.Definition
	if conf == nil {
		conf = config.Conf{}
	}
	// As nimbus's defaults give a real worker: no event logger unless asked.
	conf = config.Conf{config.TopologyEventLoggerExecutors: 0}.Merge(def.Conf).Merge(conf)
	slot := cluster.NodePort{Node: "sup-1", Port: 1}
	a := assignmentFor(def, topology.NumAckers(conf, 1), []cluster.NodePort{slot})
	w := &worker{
		opts:    Options{Worker: workercontract.Worker{TopologyID: "test-1-1", SupervisorID: slot.Node, Port: slot.Port, WorkerID: "w1", LocalDir: t.TempDir()}, Topology: topo},
		conf:    conf,
		def:     def,
		logger:  testutil.Logger(t, slog.LevelWarn),
		peers:   map[cluster.NodePort]*peer{},
		started: time.Now(),
	}
	w.mine = slotExecutors(a, slot.Node, slot.Port)
	if err := w.build(a); err != nil {
		t.Fatal(err)
	}
	if err := w.openMetrics(); err != nil {
		t.Fatal(err)
	}
	if w.metrics != nil {
		w.metrics.start(w.executors)
	}
	for _, f := range before {
		f(w)
	}
	w.rt.active.Swap(true)
	w.startExecutors()
	p := &inProcess{w: w}
	t.Cleanup(p.stop)
	return p
}

func (p *inProcess) stop() {
	if !p.stopped {
		p.stopped = true
		p.w.shutdown()
	}
}

// fatal returns the worker's fatal error, nil when there is none yet.
func (p *inProcess) fatal() error {
	select {
	case err := <-p.w.rt.fatalErr:
		return err
	default:
		return nil
	}
}
