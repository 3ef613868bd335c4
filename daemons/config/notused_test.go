package config

import (
	"slices"
	"strings"
	"testing"
)

func TestNotUsed(t *testing.T) {
	got := NotUsed(
		map[string]any{TopologyTransferBatchSize: 8, TopologyWorkers: 2},
		nil,
		map[string]any{TopologyTransferBatchSize: 16, StormZookeeperRetryTimes: 3},
	)
	if want := []string{StormZookeeperRetryTimes, TopologyTransferBatchSize}; !slices.Equal(got, want) {
		t.Errorf("NotUsed = %v, want %v (sorted, each once)", got, want)
	}
	if got := NotUsed(map[string]any{TopologyWorkers: 2, TopologyTasks: 4, TopologyMaxTaskParallelism: 2}); len(got) != 0 {
		t.Errorf("NotUsed of keys localstorm honours = %v", got)
	}
	if msg := NotUsedMessage(TopologyTransferBatchSize); !strings.HasPrefix(msg, "accepted, not used by localstorm: topology.transfer.batch.size (") {
		t.Errorf("NotUsedMessage = %q", msg)
	}
	// Every key reported is a Storm key localstorm knows: it has Storm's
	// default and a validation rule, so it is accepted.
	for k := range notUsed {
		if _, ok := Defaults()[k]; !ok {
			t.Errorf("not-used key %s has no default", k)
		}
		if _, ok := rules[k]; !ok {
			t.Errorf("not-used key %s has no validation rule", k)
		}
	}
}
