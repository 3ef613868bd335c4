package config

import (
	"fmt"
	"slices"
)

// notUsed are Storm keys that localstorm accepts (validates, keeps in a
// topology's configuration, shows in the API) but does not act on, each
// with why: the message a submission that sets one gets, once per key.
var notUsed = map[string]string{
	StormZookeeperRetryTimes:        "the ZooKeeper client retries and reconnects on its own until storm.zookeeper.session.timeout",
	StormZookeeperRetryInterval:     "the ZooKeeper client retries and reconnects on its own until storm.zookeeper.session.timeout",
	TopologyProducerBatchSize:       "workers batch tuples by localstorm.worker.batch.size",
	TopologyTransferBatchSize:       "workers batch tuples by localstorm.worker.batch.size",
	TopologyBatchFlushIntervalMs:    "workers flush a batch when their executor has nothing more to do",
	TopologyTransferBufferSize:      "workers have no separate transfer queue; topology.executor.receive.buffer.size bounds each executor's",
	TopologyBuiltinMetricsBucketSec: "there are no metrics consumers; statistics are in the API and /metrics",
	ExecutorMetricsFreqSecs:         "there are no metrics consumers; statistics are in the API and /metrics",
	TopologyEventLoggerExecutors:    "there is no event logger",
	TopologySleepSpoutWaitTimeMs:    "an idle spout waits on its executor's queue, not by a sleep strategy",
	LogviewerPort:                   "worker and daemon logs are served by nimbus's API (/api/v1/log), on ui.port",
	NimbusSeeds:                     "localstorm's commands find nimbus by --cluster (the cluster's record) or --api URL",
	StormClusterMode:                "a localstorm cluster is always local",
	DevZookeeperPath:                "`localstorm zookeeper` keeps its data in --data-dir",
}

// NotUsed returns, sorted and each once, the keys that any of confs sets
// and that localstorm accepts but does not use.
func NotUsed(confs ...map[string]any) []string {
	var keys []string
	for _, c := range confs {
		for k := range c {
			if _, ok := notUsed[k]; ok && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// NotUsedMessage is what localstorm says of a key NotUsed returned.
func NotUsedMessage(key string) string {
	return fmt.Sprintf("accepted, not used by localstorm: %s (%s)", key, notUsed[key])
}
