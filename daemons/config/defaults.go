package config

// Defaults returns Storm's conf/defaults.yaml values (Storm 2.x) for every key
// localstorm reads, typed as a YAML decoder produces them: int, float64,
// string, bool, []any, or nil for keys Storm defaults to null. Each call
// returns a fresh map the caller may change.
func Defaults() Conf {
	return Conf{
		StormLocalDir:                "storm-local",
		StormClusterMode:             "distributed",
		StormZookeeperServers:        []any{"localhost"},
		StormZookeeperPort:           2181,
		StormZookeeperRoot:           "/storm",
		StormZookeeperSessionTimeout: 20000,
		StormZookeeperConnTimeout:    15000,
		StormZookeeperRetryTimes:     5,
		StormZookeeperRetryInterval:  1000,
		StormLocalHostname:           nil,
		StormHealthCheckDir:          "healthchecks",
		StormHealthCheckTimeoutMs:    5000,
		DevZookeeperPath:             "/tmp/dev-storm-zookeeper",

		NimbusSeeds:                  []any{"localhost"},
		NimbusThriftPort:             6627,
		NimbusTaskTimeoutSecs:        30,
		NimbusSupervisorTimeoutSecs:  60,
		NimbusMonitorFreqSecs:        10,
		NimbusCleanupInboxFreqSecs:   600,
		NimbusInboxJarExpirationSecs: 3600,
		NimbusTaskLaunchSecs:         120,
		NimbusReassign:               true,
		UIPort:                       8080,
		LogviewerPort:                8000,

		SupervisorSlotsPorts:          []any{6700, 6701, 6702, 6703},
		SupervisorWorkerStartTimeout:  120,
		SupervisorWorkerTimeoutSecs:   30,
		SupervisorWorkerShutdownSleep: 3,
		SupervisorMonitorFreqSecs:     3,
		SupervisorHeartbeatFreqSecs:   5,
		SupervisorEnable:              true,

		LocalstormNimbusWatchSupervisors: true,

		WorkerHeartbeatFreqSecs: 1,
		TaskHeartbeatFreqSecs:   3,
		ExecutorMetricsFreqSecs: 60,

		TopologyEnableMessageTimeouts:   true,
		TopologyDebug:                   false,
		TopologyWorkers:                 1,
		TopologyAckerExecutors:          nil, // one acker per worker
		TopologyEventLoggerExecutors:    0,   // Storm 2.x: no event loggers unless asked
		TopologyTasks:                   nil,
		TopologyMessageTimeoutSecs:      30,
		TopologyMaxTaskParallelism:      nil,
		TopologyMaxSpoutPending:         nil,
		TopologyStatsSampleRate:         0.05,
		TopologyBuiltinMetricsBucketSec: 60,
		TopologyExecutorReceiveBufSize:  32768,
		TopologyTransferBufferSize:      1000,
		TopologyProducerBatchSize:       1,
		TopologyTransferBatchSize:       1,
		TopologyBatchFlushIntervalMs:    1,
		TopologyTickTupleFreqSecs:       nil,
		TopologySubprocessTimeoutSecs:   nil, // falls back to supervisor.worker.timeout.secs
		TopologyShellBoltMaxPending:     100,
		TopologyErrorThrottleSecs:       10,
		TopologyMaxErrorReportPerIntv:   5,
		TopologySleepSpoutWaitTimeMs:    1,
		TopologyName:                    nil,

		TopologyStateCheckpointIntervalMs: 1000,
		TopologyStateProvider:             "org.apache.storm.state.InMemoryKeyValueStateProvider",
		TopologyStateProviderConfig:       nil,
	}
}

// LocalProfile returns the overrides Storm's LocalCluster applies on top of
// the defaults when time is not simulated: the nimbus and supervisor monitor
// loops run every second instead of every 10 and 3 (STORM-3321: the slow
// timers made local tests flaky), and the cluster mode is "local".
func LocalProfile() Conf {
	return Conf{
		StormClusterMode:          "local",
		NimbusMonitorFreqSecs:     1,
		SupervisorMonitorFreqSecs: 1,
	}
}

// TestProfile returns LocalProfile plus the overrides testkit uses so that a
// whole cluster reacts within a second or two.
//
// The values keep Storm's ratios between a heartbeat and the timeout that
// watches it, scaled down:
//   - every heartbeat and monitor loop runs every 0.1 s, so a state change
//     is seen by the next loop within ~0.2 s;
//   - the timeouts that declare a worker, task or supervisor dead are 2 s,
//     20 heartbeats: loose enough that a 2-core CI machine under -race and
//     a GC pause do not kill healthy workers, tight enough that a test of a
//     dead worker finishes in seconds;
//   - worker launch timeouts are 10 s, as a worker process (possibly a JVM
//     or a multilang subprocess) needs real time to start;
//   - the ZooKeeper session timeout is 2 s so that a killed daemon's
//     ephemeral nodes vanish quickly; ZooKeeper raises it to its minimum of
//     2×tickTime when its tickTime is larger;
//   - tuples time out after 5 s, longer than any test's processing but short
//     enough for replay tests.
func TestProfile() Conf {
	return LocalProfile().Merge(Conf{
		WorkerHeartbeatFreqSecs:       0.1,
		TaskHeartbeatFreqSecs:         0.1,
		SupervisorHeartbeatFreqSecs:   0.1,
		SupervisorMonitorFreqSecs:     0.1,
		NimbusMonitorFreqSecs:         0.1,
		NimbusTaskTimeoutSecs:         2,
		NimbusSupervisorTimeoutSecs:   2,
		SupervisorWorkerTimeoutSecs:   2,
		NimbusTaskLaunchSecs:          10,
		SupervisorWorkerStartTimeout:  10,
		SupervisorWorkerShutdownSleep: 0.5,
		StormZookeeperSessionTimeout:  2000,
		StormZookeeperRetryInterval:   100,
		TopologyMessageTimeoutSecs:    5,
		NimbusCleanupInboxFreqSecs:    1,
	})
}
