package worker

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/workercontract"
	"github.com/localstorm/localstorm/topology"
)

// Metrics v1 in the worker, as Storm's executor runs them: every task's
// registered metrics (topology.Context.RegisterMetric) and Storm's built-in
// per-executor metrics are taken at the end of each time bucket, in the
// executor's own goroutine (Storm sends the executor a __metrics_tick
// tuple), and the data points of each task go with their TaskInfo to the
// topology's metrics consumers (topology.metrics.consumer.register).
//
// Storm runs each consumer as a bolt (__metrics_<class>) fed over the
// __metrics stream; here each worker runs one instance of each consumer,
// fed by its own tasks, so the logging consumer writes the metrics log of
// the worker whose tasks it reports (Storm writes it in the worker running
// the consumer bolt). With no consumer registered nothing is collected.

// metricsHub runs a worker's metrics: a clock goroutine sends each executor
// the buckets that end, executors send their data points, and the hub's
// goroutine feeds them to the consumers.
type metricsHub struct {
	consumers     []topology.MetricsConsumer
	log           *os.File
	host          string
	port          int
	builtinBucket int
	points        chan taskPoints
	dropped       atomic.Int64 // data point batches lost to a full queue
	stop          chan struct{}
	wg            sync.WaitGroup
}

type taskPoints struct {
	info   topology.TaskInfo
	points []topology.DataPoint
}

// newMetricsHub makes the consumers of conf's registrations, writing to the
// metrics log in logsDir; nil when none is registered.
func newMetricsHub(conf config.Conf, logsDir, host string, port int, started time.Time) (*metricsHub, error) {
	regs, err := topology.MetricsConsumerRegistrations(conf)
	if err != nil || len(regs) == 0 {
		return nil, err
	}
	bucket := max(config.NewReader(conf).IntOr(config.TopologyBuiltinMetricsBucketSec, 60), 1)
	if err := os.MkdirAll(logsDir, 0o755); err != nil {
		return nil, fmt.Errorf("metrics log: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(logsDir, workercontract.MetricsLogName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("metrics log: %w", err)
	}
	h := &metricsHub{log: f, host: host, port: port, builtinBucket: bucket,
		points: make(chan taskPoints, 1024), stop: make(chan struct{})}
	for _, r := range regs {
		c, err := topology.NewMetricsConsumer(r, topology.MetricsConsumerEnv{Conf: conf, Log: f, Started: started})
		if err != nil {
			f.Close()
			return nil, err
		}
		h.consumers = append(h.consumers, c)
	}
	return h, nil
}

// start runs the clock and the consumers for the executors.
func (h *metricsHub) start(executors []*executor) {
	for _, e := range executors {
		e.metricsTick = make(chan int, 4)
		e.metrics = h
	}
	h.wg.Add(2)
	go h.clock(executors)
	go h.consume()
}

// clock ticks every second and sends each executor the bucket sizes that
// end this second (a bucket of n seconds ends every n seconds from start).
func (h *metricsHub) clock(executors []*executor) {
	defer h.wg.Done()
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	for secs := 1; ; secs++ {
		select {
		case <-h.stop:
			return
		case <-tk.C:
		}
		for _, e := range executors {
			for _, b := range e.metricBuckets() {
				if secs%b != 0 {
					continue
				}
				select {
				case e.metricsTick <- b:
				default: // the executor is behind; it takes this bucket next time
				}
			}
		}
	}
}

func (h *metricsHub) consume() {
	defer h.wg.Done()
	for {
		select {
		case <-h.stop:
			return
		case tp := <-h.points:
			for _, c := range h.consumers {
				c.HandleDataPoints(tp.info, tp.points)
			}
		}
	}
}

// send queues a task's data points without ever blocking an executor.
func (h *metricsHub) send(tp taskPoints) {
	select {
	case h.points <- tp:
	default:
		h.dropped.Add(1)
	}
}

// close stops the hub after handing the consumers what is queued.
func (h *metricsHub) close() {
	close(h.stop)
	h.wg.Wait()
	for {
		select {
		case tp := <-h.points:
			for _, c := range h.consumers {
				c.HandleDataPoints(tp.info, tp.points)
			}
			continue
		default:
		}
		break
	}
	for _, c := range h.consumers {
		c.Cleanup()
	}
	h.log.Close()
}

// metricBuckets returns the bucket sizes of the executor's metrics: its
// tasks' registrations and the built-in bucket.
func (e *executor) metricBuckets() []int {
	out := []int{e.metrics.builtinBucket}
	for _, t := range e.tasks {
		if t.ctx == nil || t.ctx.Metrics == nil {
			continue
		}
		for _, b := range t.ctx.Metrics.Buckets() {
			if !slices.Contains(out, b) {
				out = append(out, b)
			}
		}
	}
	return out
}

// tickMetrics takes the executor's metrics of a bucket that ended (in the
// executor goroutine, as Storm's metrics tick) and sends them per task.
// The built-in metrics are reported by the executor's first task.
func (e *executor) tickMetrics(bucket int) {
	now := time.Now()
	for i, t := range e.tasks {
		var points []topology.DataPoint
		if t.ctx != nil && t.ctx.Metrics != nil {
			points = t.ctx.Metrics.Collect(bucket)
		}
		if i == 0 && bucket == e.metrics.builtinBucket {
			points = append(points, e.builtinMetrics(now)...)
		}
		if len(points) == 0 {
			continue
		}
		e.metrics.send(taskPoints{info: topology.TaskInfo{
			SrcWorkerHost: e.metrics.host, SrcWorkerPort: e.metrics.port, SrcTaskID: t.id,
			SrcComponentID: e.component, Timestamp: now.Unix(), UpdateIntervalSecs: bucket,
		}, points: points})
	}
}
