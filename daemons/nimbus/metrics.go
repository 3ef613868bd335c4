package nimbus

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/localstorm/localstorm/api"
)

// GET /metrics serves the cluster as Prometheus sees it: the figures of the
// cluster summary and, per topology and component, Storm UI's stats with
// Storm's names (topology name, component id) as labels. Nothing is kept
// between scrapes: each one reads the same Service calls as the API, so
// /metrics and /api/v1 never disagree. Counters are the all-time totals;
// latencies and capacity are gauges over Storm's 10-minute window.
// Latencies are in seconds, as Prometheus's conventions ask.

// metricsScrapeTimeout bounds the Service calls of one scrape.
const metricsScrapeTimeout = 10 * time.Second

var (
	labelsTopology  = []string{"topology"}
	labelsComponent = []string{"topology", "component"}

	descSupervisors = prometheus.NewDesc("localstorm_supervisors", "Supervisors alive.", nil, nil)
	descSlots       = prometheus.NewDesc("localstorm_slots", "Worker slots of the supervisors alive, by state (used, free).", []string{"state"}, nil)
	descTopologies  = prometheus.NewDesc("localstorm_topologies", "Topologies alive (any status).", nil, nil)
	descExecutors   = prometheus.NewDesc("localstorm_executors", "Executors of every topology.", nil, nil)
	descWorkers     = prometheus.NewDesc("localstorm_workers", "Workers assigned, over every topology.", nil, nil)

	descTopologyInfo      = prometheus.NewDesc("localstorm_topology_info", "A topology alive: its id and status (value 1).", []string{"topology", "topology_id", "status"}, nil)
	descTopologyWorkers   = prometheus.NewDesc("localstorm_topology_workers", "Workers assigned to the topology.", labelsTopology, nil)
	descTopologyExecutors = prometheus.NewDesc("localstorm_topology_executors", "Executors of the topology.", labelsTopology, nil)
	descTopologyUptime    = prometheus.NewDesc("localstorm_topology_uptime_seconds", "Seconds since the topology was submitted.", labelsTopology, nil)

	descEmitted     = prometheus.NewDesc("localstorm_component_emitted_total", "Tuples emitted by the component (all time).", labelsComponent, nil)
	descTransferred = prometheus.NewDesc("localstorm_component_transferred_total", "Tuples transferred by the component (all time).", labelsComponent, nil)
	descAcked       = prometheus.NewDesc("localstorm_component_acked_total", "Tuples acked: by a spout, trees completed; by a bolt, inputs acked (all time).", labelsComponent, nil)
	descFailed      = prometheus.NewDesc("localstorm_component_failed_total", "Tuples failed (all time).", labelsComponent, nil)
	descExecuted    = prometheus.NewDesc("localstorm_component_executed_total", "Tuples executed by the bolt (all time).", labelsComponent, nil)

	descCompleteLatency = prometheus.NewDesc("localstorm_component_complete_latency_seconds", "Mean time from a spout's emit to the ack of its tuple tree, last 10 minutes.", labelsComponent, nil)
	descProcessLatency  = prometheus.NewDesc("localstorm_component_process_latency_seconds", "Mean time from a bolt's receipt of a tuple to its ack, last 10 minutes.", labelsComponent, nil)
	descExecuteLatency  = prometheus.NewDesc("localstorm_component_execute_latency_seconds", "Mean time a bolt's execute takes, last 10 minutes.", labelsComponent, nil)
	descCapacity        = prometheus.NewDesc("localstorm_component_capacity", "Fraction of the last 10 minutes the bolt's busiest executor spent executing (1: saturated).", labelsComponent, nil)

	descComponentExecutors = prometheus.NewDesc("localstorm_component_executors", "Executors of the component.", labelsComponent, nil)
	descExecutorsAlive     = prometheus.NewDesc("localstorm_component_executors_alive", "Executors of the component whose heartbeats nimbus sees.", labelsComponent, nil)

	allDescs = []*prometheus.Desc{
		descSupervisors, descSlots, descTopologies, descExecutors, descWorkers,
		descTopologyInfo, descTopologyWorkers, descTopologyExecutors, descTopologyUptime,
		descEmitted, descTransferred, descAcked, descFailed, descExecuted,
		descCompleteLatency, descProcessLatency, descExecuteLatency, descCapacity,
		descComponentExecutors, descExecutorsAlive,
	}
)

// clusterCollector is a prometheus.Collector over a nimbus Service.
type clusterCollector struct {
	svc Service
}

func (c clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

func (c clusterCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), metricsScrapeTimeout)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	sum, err := c.svc.ClusterSummary(ctx)
	if err != nil {
		// The scrape fails (500): Prometheus records it as up == 0.
		ch <- prometheus.NewInvalidMetric(descSupervisors, err)
		return
	}
	gauge(descSupervisors, float64(sum.Supervisors))
	gauge(descSlots, float64(sum.SlotsUsed), "used")
	gauge(descSlots, float64(sum.SlotsFree), "free")
	gauge(descTopologies, float64(sum.Topologies))
	gauge(descExecutors, float64(sum.ExecutorsTotal))
	tops, err := c.svc.TopologySummary(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descTopologies, err)
		return
	}
	workers := 0
	for _, t := range tops.Topologies {
		all, err := c.svc.TopologyInfo(ctx, t.ID, api.WindowAllTime, false)
		if errors.Is(err, api.ErrNotFound) {
			continue // killed since the summary was read
		}
		if err != nil {
			ch <- prometheus.NewInvalidMetric(descTopologyInfo, err)
			return
		}
		recent, err := c.svc.TopologyInfo(ctx, t.ID, api.Window10m, false)
		if errors.Is(err, api.ErrNotFound) {
			continue
		}
		if err != nil {
			ch <- prometheus.NewInvalidMetric(descTopologyInfo, err)
			return
		}
		name := t.Name
		workers += all.WorkersTotal
		gauge(descTopologyInfo, 1, name, t.ID, all.Status)
		gauge(descTopologyWorkers, float64(all.WorkersTotal), name)
		gauge(descTopologyExecutors, float64(all.ExecutorsTotal), name)
		gauge(descTopologyUptime, float64(all.UptimeSeconds), name)
		// component emits what spouts and bolts share.
		component := func(id string, emitted, transferred, acked, failed int64, executors int, stats []api.ExecutorSummary) {
			for _, c := range []struct {
				d *prometheus.Desc
				v int64
			}{{descEmitted, emitted}, {descTransferred, transferred}, {descAcked, acked}, {descFailed, failed}} {
				counter(c.d, c.v, name, id)
			}
			alive := 0
			for _, e := range stats {
				if e.Alive {
					alive++
				}
			}
			gauge(descComponentExecutors, float64(executors), name, id)
			gauge(descExecutorsAlive, float64(alive), name, id)
		}
		for _, s := range all.Spouts {
			component(s.SpoutID, s.Emitted, s.Transferred, s.Acked, s.Failed, s.Executors, s.ExecutorStats)
		}
		for _, b := range all.Bolts {
			component(b.BoltID, b.Emitted, b.Transferred, b.Acked, b.Failed, b.Executors, b.ExecutorStats)
			counter(descExecuted, b.Executed, name, b.BoltID)
		}
		for _, s := range recent.Spouts {
			gauge(descCompleteLatency, millisToSeconds(s.CompleteLatency), name, s.SpoutID)
		}
		for _, b := range recent.Bolts {
			gauge(descProcessLatency, millisToSeconds(b.ProcessLatency), name, b.BoltID)
			gauge(descExecuteLatency, millisToSeconds(b.ExecuteLatency), name, b.BoltID)
			gauge(descCapacity, parseFigure(b.Capacity), name, b.BoltID)
		}
	}
	gauge(descWorkers, float64(workers))
}

// parseFigure reads one of Storm UI's three-decimal strings; what is not a
// number (no data yet) is 0.
func parseFigure(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return v
}

func millisToSeconds(ms string) float64 { return parseFigure(ms) / 1000 }

// metricsHandler serves svc's metrics and those of the process nimbus runs
// in (go_*, process_*), with content negotiation (text, OpenMetrics,
// protobuf) and compression as client_golang's promhttp does them.
func metricsHandler(svc Service, log *slog.Logger) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		clusterCollector{svc: svc},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.HTTPErrorOnError,
		Timeout:       metricsScrapeTimeout + 5*time.Second,
	})
}
