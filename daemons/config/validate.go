package config

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/hashicorp/go-multierror"
)

// A rule checks one key's value; it returns what was expected when the
// value does not fit, or "" when it does.
type rule func(v any) (expected string)

func number(v any) (float64, bool) {
	f, err := Conf{"": v}.Float("")
	return f, err == nil
}

func integer(v any) (int, bool) {
	n, err := Conf{"": v}.Int("")
	return n, err == nil
}

func positiveNumber(v any) string {
	if f, ok := number(v); ok && f > 0 && !math.IsInf(f, 0) {
		return ""
	}
	return "a positive number"
}

func intAtLeast(min int) rule {
	return func(v any) string {
		if n, ok := integer(v); ok && n >= min {
			return ""
		}
		return fmt.Sprintf("an integer ≥ %d", min)
	}
}

func nullable(r rule) rule {
	return func(v any) string {
		if v == nil {
			return ""
		}
		if exp := r(v); exp != "" {
			return exp + " or null"
		}
		return ""
	}
}

func port(v any) string {
	if n, ok := integer(v); ok && n >= 1 && n <= 65535 {
		return ""
	}
	return "a port number in 1..65535"
}

func portList(v any) string {
	const want = "a non-empty list of distinct port numbers in 1..65535"
	ports, err := Conf{"": v}.Ints("")
	if err != nil || len(ports) == 0 {
		return want
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p < 1 || p > 65535 || seen[p] {
			return want
		}
		seen[p] = true
	}
	return ""
}

func nonEmptyStrings(v any) string {
	ss, err := Conf{"": v}.Strings("")
	if err != nil || len(ss) == 0 {
		return "a non-empty list of strings"
	}
	for _, s := range ss {
		if s == "" {
			return "a non-empty list of non-empty strings"
		}
	}
	return ""
}

func nonEmptyString(v any) string {
	if s, ok := v.(string); ok && s != "" {
		return ""
	}
	return "a non-empty string"
}

func boolean(v any) string {
	if _, ok := v.(bool); ok {
		return ""
	}
	return "true or false"
}

func zkRoot(v any) string {
	if s, ok := v.(string); ok && len(s) > 0 && s[0] == '/' && (len(s) == 1 || s[len(s)-1] != '/') {
		return ""
	}
	return `an absolute ZooKeeper path such as "/storm"`
}

func fraction(v any) string {
	if f, ok := number(v); ok && f > 0 && f <= 1 {
		return ""
	}
	return "a number in (0, 1]"
}

func oneOf(choices ...string) rule {
	return func(v any) string {
		s, _ := v.(string)
		for _, c := range choices {
			if s == c {
				return ""
			}
		}
		return fmt.Sprintf("one of %q", choices)
	}
}

// rules holds the check of every key localstorm reads. Keys not listed are
// accepted as they are: Storm lets users and topologies carry their own.
var rules = map[string]rule{
	StormLocalDir:                nonEmptyString,
	StormClusterMode:             oneOf("distributed", "local"),
	StormZookeeperServers:        nonEmptyStrings,
	StormZookeeperPort:           port,
	StormZookeeperRoot:           zkRoot,
	StormZookeeperSessionTimeout: intAtLeast(1),
	StormZookeeperConnTimeout:    intAtLeast(1),
	StormZookeeperRetryTimes:     intAtLeast(0),
	StormZookeeperRetryInterval:  intAtLeast(0),
	StormLocalHostname:           nullable(nonEmptyString),
	StormHealthCheckDir:          nonEmptyString,
	StormHealthCheckTimeoutMs:    intAtLeast(1),
	DevZookeeperPath:             nonEmptyString,

	NimbusSeeds:                  nonEmptyStrings,
	NimbusThriftPort:             port,
	NimbusTaskTimeoutSecs:        positiveNumber,
	NimbusSupervisorTimeoutSecs:  positiveNumber,
	NimbusMonitorFreqSecs:        positiveNumber,
	NimbusCleanupInboxFreqSecs:   positiveNumber,
	NimbusInboxJarExpirationSecs: positiveNumber,
	NimbusTaskLaunchSecs:         positiveNumber,
	NimbusReassign:               boolean,
	UIPort:                       port,
	LogviewerPort:                port,

	SupervisorSlotsPorts:          portList,
	SupervisorWorkerStartTimeout:  positiveNumber,
	SupervisorWorkerTimeoutSecs:   positiveNumber,
	SupervisorWorkerShutdownSleep: positiveNumber,
	SupervisorMonitorFreqSecs:     positiveNumber,
	SupervisorHeartbeatFreqSecs:   positiveNumber,
	SupervisorEnable:              boolean,

	LocalstormNimbusWatchSupervisors: boolean,

	WorkerHeartbeatFreqSecs: positiveNumber,
	TaskHeartbeatFreqSecs:   positiveNumber,
	ExecutorMetricsFreqSecs: positiveNumber,

	TopologyEnableMessageTimeouts:   boolean,
	TopologyDebug:                   boolean,
	TopologyWorkers:                 intAtLeast(1),
	TopologyAckerExecutors:          nullable(intAtLeast(0)),
	TopologyEventLoggerExecutors:    nullable(intAtLeast(0)),
	TopologyTasks:                   nullable(intAtLeast(1)),
	TopologyMessageTimeoutSecs:      positiveNumber,
	TopologyMaxTaskParallelism:      nullable(intAtLeast(1)),
	TopologyMaxSpoutPending:         nullable(intAtLeast(1)),
	TopologyStatsSampleRate:         fraction,
	TopologyBuiltinMetricsBucketSec: positiveNumber,
	TopologyExecutorReceiveBufSize:  intAtLeast(1),
	TopologyTransferBufferSize:      intAtLeast(1),
	TopologyProducerBatchSize:       intAtLeast(1),
	TopologyTransferBatchSize:       intAtLeast(1),
	TopologyBatchFlushIntervalMs:    intAtLeast(0),
	TopologyTickTupleFreqSecs:       nullable(positiveNumber),
	TopologySubprocessTimeoutSecs:   nullable(positiveNumber),
	TopologyShellBoltMaxPending:     intAtLeast(1),
	TopologyErrorThrottleSecs:       positiveNumber,
	TopologyMaxErrorReportPerIntv:   intAtLeast(1),
	TopologySleepSpoutWaitTimeMs:    intAtLeast(0),
	TopologyName:                    nullable(nonEmptyString),
}

// beats pairs a heartbeat frequency with the timeout that watches it: a
// timeout not longer than its heartbeat would declare every daemon dead.
var beats = []struct{ heartbeat, timeout string }{
	{TaskHeartbeatFreqSecs, NimbusTaskTimeoutSecs},
	{SupervisorHeartbeatFreqSecs, NimbusSupervisorTimeoutSecs},
	{WorkerHeartbeatFreqSecs, SupervisorWorkerTimeoutSecs},
}

// Validate checks the type and range of every known key present in c (a
// key that is absent is not an error: callers validate a merged
// configuration) and that every timeout exceeds the heartbeat it watches.
// The error lists every problem, each a *TypeError naming the key, the
// value and what was expected.
func Validate(c Conf) error {
	r := NewReader(c)
	r.Validate()
	return r.Err()
}

// validate returns the problems Validate reports.
func validate(c Conf) *multierror.Error {
	var result *multierror.Error
	keys := slices.Sorted(maps.Keys(rules))
	for _, k := range keys {
		v, present := c[k]
		if !present {
			continue
		}
		if exp := rules[k](v); exp != "" {
			result = multierror.Append(result, &TypeError{Key: k, Value: v, Expected: exp})
		}
	}
	for _, b := range beats {
		hb, err1 := c.Float(b.heartbeat)
		to, err2 := c.Float(b.timeout)
		if err1 != nil || err2 != nil || hb <= 0 {
			continue // absent or already reported above
		}
		if to <= hb {
			result = multierror.Append(result, &TypeError{Key: b.timeout, Value: c[b.timeout],
				Expected: fmt.Sprintf("a number of seconds greater than %s (%v)", b.heartbeat, c[b.heartbeat])})
		}
	}
	return result
}
