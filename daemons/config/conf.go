// Package config holds Storm's configuration: its key names and default values
// (conf/defaults.yaml), loading from storm.yaml and -c key=value overrides, a
// local-mode profile with fast loops, typed access and validation.
package config

import (
	"fmt"
	"math"
	"time"
)

// Storm key names read by localstorm.
const (
	NimbusMonitorFreqSecs         = "nimbus.monitor.freq.secs"
	NimbusTaskTimeoutSecs         = "nimbus.task.timeout.secs"
	NimbusSupervisorTimeoutSecs   = "nimbus.supervisor.timeout.secs"
	NimbusTaskLaunchSecs          = "nimbus.task.launch.secs"
	NimbusCleanupInboxFreqSecs    = "nimbus.cleanup.inbox.freq.secs"
	NimbusInboxJarExpirationSecs  = "nimbus.inbox.jar.expiration.secs"
	SupervisorHeartbeatFreqSecs   = "supervisor.heartbeat.frequency.secs"
	SupervisorMonitorFreqSecs     = "supervisor.monitor.frequency.secs"
	SupervisorWorkerStartTimeout  = "supervisor.worker.start.timeout.secs"
	SupervisorWorkerTimeoutSecs   = "supervisor.worker.timeout.secs"
	SupervisorWorkerShutdownSleep = "supervisor.worker.shutdown.sleep.secs"
	SupervisorSlotsPorts          = "supervisor.slots.ports"
	StormHealthCheckDir           = "storm.health.check.dir"
	StormHealthCheckTimeoutMs     = "storm.health.check.timeout.ms"
	WorkerHeartbeatFreqSecs       = "worker.heartbeat.frequency.secs"
	TaskHeartbeatFreqSecs         = "task.heartbeat.frequency.secs"
	TopologyMessageTimeoutSecs    = "topology.message.timeout.secs"
	TopologyMaxSpoutPending       = "topology.max.spout.pending"
	// Stateful bolts (Storm's checkpointing and state providers).
	TopologyStateCheckpointIntervalMs = "topology.state.checkpoint.interval.ms"
	TopologyStateProvider             = "topology.state.provider"
	TopologyStateProviderConfig       = "topology.state.provider.config"
	TopologyEnableMessageTimeouts     = "topology.enable.message.timeouts"
	TopologyWorkers                   = "topology.workers"
	TopologyAckerExecutors            = "topology.acker.executors"
	TopologyTickTupleFreqSecs         = "topology.tick.tuple.freq.secs"
	TopologySubprocessTimeoutSecs     = "topology.subprocess.timeout.secs"
	TopologyExecutorReceiveBufSize    = "topology.executor.receive.buffer.size"
	TopologyTransferBufferSize        = "topology.transfer.buffer.size"
	TopologyDebug                     = "topology.debug"
	TopologyName                      = "topology.name"
	TopologyStatsSampleRate           = "topology.stats.sample.rate"
	StormZookeeperServers             = "storm.zookeeper.servers"
	StormZookeeperPort                = "storm.zookeeper.port"
	StormZookeeperRoot                = "storm.zookeeper.root"
	StormZookeeperSessionTimeout      = "storm.zookeeper.session.timeout"
	StormZookeeperConnTimeout         = "storm.zookeeper.connection.timeout"
	StormLocalDir                     = "storm.local.dir"
	StormLocalHostname                = "storm.local.hostname"
	NimbusThriftPort                  = "nimbus.thrift.port"
	UIPort                            = "ui.port"
	DevZookeeperPath                  = "dev.zookeeper.path"

	// Keys added for validation and the profiles; same names as Storm's.
	StormClusterMode                = "storm.cluster.mode"
	StormZookeeperRetryTimes        = "storm.zookeeper.retry.times"
	StormZookeeperRetryInterval     = "storm.zookeeper.retry.interval"
	NimbusSeeds                     = "nimbus.seeds"
	LogviewerPort                   = "logviewer.port"
	ExecutorMetricsFreqSecs         = "executor.metrics.frequency.secs"
	TopologyTasks                   = "topology.tasks"
	TopologyMaxTaskParallelism      = "topology.max.task.parallelism"
	TopologyEventLoggerExecutors    = "topology.eventlogger.executors"
	TopologyProducerBatchSize       = "topology.producer.batch.size"
	TopologyTransferBatchSize       = "topology.transfer.batch.size"
	TopologyBatchFlushIntervalMs    = "topology.batch.flush.interval.millis"
	TopologyErrorThrottleSecs       = "topology.error.throttle.interval.secs"
	TopologyMaxErrorReportPerIntv   = "topology.max.error.report.per.interval"
	TopologySleepSpoutWaitTimeMs    = "topology.sleep.spout.wait.strategy.time.ms"
	TopologyShellBoltMaxPending     = "topology.shellbolt.max.pending"
	TopologyBuiltinMetricsBucketSec = "topology.builtin.metrics.bucket.size.secs"
	NimbusReassign                  = "nimbus.reassign"
	SupervisorEnable                = "supervisor.enable"

	// LocalstormNimbusWatchSupervisors switches localstorm's extension:
	// nimbus reassigns as soon as /supervisors changes (true, the default)
	// instead of at its next monitor round only, as Storm does (false).
	LocalstormNimbusWatchSupervisors = "localstorm.nimbus.watch.supervisors"
)

// Conf is a Storm configuration: key → value as decoded from YAML or JSON
// (numbers may be int, int64 or float64).
type Conf map[string]any

// Clone returns a shallow copy of c.
func (c Conf) Clone() Conf {
	out := make(Conf, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// Merge returns a copy of c with every key of over set on top.
func (c Conf) Merge(over Conf) Conf {
	out := c.Clone()
	for k, v := range over {
		out[k] = v
	}
	return out
}

// TypeError says that key holds value where something else was expected.
type TypeError struct {
	Key      string
	Value    any
	Expected string
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("config %s: value %#v is not %s", e.Key, e.Value, e.Expected)
}

// Float returns key as a number.
func (c Conf) Float(key string) (float64, error) {
	switch v := c[key].(type) {
	case int:
		return float64(v), nil
	case int64:
		return float64(v), nil
	case int32:
		return float64(v), nil
	case uint64:
		return float64(v), nil
	case float64:
		return v, nil
	case float32:
		return float64(v), nil
	}
	return 0, &TypeError{key, c[key], "a number"}
}

// Int returns key as a whole number.
func (c Conf) Int(key string) (int, error) {
	f, err := c.Float(key)
	if err != nil {
		return 0, &TypeError{key, c[key], "an integer"}
	}
	if f != math.Trunc(f) {
		return 0, &TypeError{key, c[key], "an integer"}
	}
	return int(f), nil
}

// IsNil reports whether key is unset or null.
func (c Conf) IsNil(key string) bool { return c[key] == nil }

// Secs returns key, a number of seconds (fractions allowed), as a duration.
func (c Conf) Secs(key string) (time.Duration, error) {
	f, err := c.Float(key)
	if err != nil {
		return 0, &TypeError{key, c[key], "a number of seconds"}
	}
	if f < 0 {
		return 0, &TypeError{key, c[key], "a non-negative number of seconds"}
	}
	return time.Duration(f * float64(time.Second)), nil
}

// Millis returns key, a number of milliseconds, as a duration.
func (c Conf) Millis(key string) (time.Duration, error) {
	f, err := c.Float(key)
	if err != nil || f < 0 {
		return 0, &TypeError{key, c[key], "a non-negative number of milliseconds"}
	}
	return time.Duration(f * float64(time.Millisecond)), nil
}

// String returns key as a string.
func (c Conf) String(key string) (string, error) {
	if s, ok := c[key].(string); ok {
		return s, nil
	}
	return "", &TypeError{key, c[key], "a string"}
}

// Bool returns key as a boolean.
func (c Conf) Bool(key string) (bool, error) {
	if b, ok := c[key].(bool); ok {
		return b, nil
	}
	return false, &TypeError{key, c[key], "a boolean"}
}

// Strings returns key as a list of strings.
func (c Conf) Strings(key string) ([]string, error) {
	return list(c, key, "a list of strings", func(e any) (string, bool) {
		s, ok := e.(string)
		return s, ok
	})
}

// Ints returns key as a list of whole numbers.
func (c Conf) Ints(key string) ([]int, error) {
	return list(c, key, "a list of integers", integer)
}

// list returns key as a []T: either already one (set by a Go caller) or a
// list decoded from YAML or JSON whose every element elem accepts.
func list[T any](c Conf, key, expected string, elem func(any) (T, bool)) ([]T, error) {
	switch v := c[key].(type) {
	case []T:
		return v, nil
	case []any:
		out := make([]T, len(v))
		for i, e := range v {
			var ok bool
			if out[i], ok = elem(e); !ok {
				return nil, &TypeError{key, c[key], expected}
			}
		}
		return out, nil
	}
	return nil, &TypeError{key, c[key], expected}
}
