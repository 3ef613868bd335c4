package nimbus

// Storm's `rebalance -t/--topology-conf` (RebalanceOptions'
// topology_conf_overrides): configuration keys given on rebalance are
// checked when the rebalance is asked for, kept in the storm base's pending
// action, and merged into the stored topology configuration at
// do-rebalance (Storm's updateBlobStore). stormconf.json is then written
// again under a new inode, its SHA-256 goes into the assignment, and the
// supervisors download it again and restart the topology's workers.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/config"
)

// refusedConfOverrides are the keys a rebalance may not change, with why.
// Storm's Nimbus.rebalance drops the first group silently; localstorm says
// so instead, and adds the keys that fix task ids and identity at submit.
var refusedConfOverrides = map[string]string{
	"topology.submitter.principal":           "nimbus sets who submitted the topology",
	"topology.submitter.user":                "nimbus sets who submitted the topology",
	config.StormZookeeperSuperACL:            "it is the cluster's ZooKeeper ACL, not the topology's",
	config.StormZookeeperTopologyAuthScheme:  "nimbus gives the topology its ZooKeeper identity at submit",
	config.StormZookeeperTopologyAuthPayload: "nimbus gives the topology its ZooKeeper identity at submit",
	config.StormLocalHostname:                "it is the host's name, not the topology's",
	"topology.classpath.beginning":           "Storm refuses it on rebalance",
	"storm.id":                               "it is the topology's id, set at submit",
	config.TopologyName:                      "a topology keeps its name: kill it and submit it again under the new one",
	config.TopologyAckerExecutors:            "the acker tasks are fixed at submit: change the ackers' parallelism with -e __acker=N",
	config.TopologyTasks:                     "task counts are fixed at submit: change parallelism with -e COMPONENT=N",
	config.TopologyMaxTaskParallelism:        "task counts are fixed at submit: change parallelism with -e COMPONENT=N",
}

// checkConfOverrides refuses overrides that name a key a rebalance may not
// change, and checks the configuration they would give the topology as
// submit checks a new one. Nothing is changed.
func (n *Nimbus) checkConfOverrides(id string, overrides map[string]any) error {
	if len(overrides) == 0 {
		return nil
	}
	var refused []string
	for _, k := range slices.Sorted(maps.Keys(overrides)) {
		if why, ok := refusedConfOverrides[k]; ok {
			refused = append(refused, fmt.Sprintf("%s (%s)", k, why))
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("%w: topology conf: a rebalance cannot change %s", api.ErrInvalid, strings.Join(refused, "; "))
	}
	if !validTopologyID(id) || !n.hasCode(id) {
		return fmt.Errorf("%w: no topology %q", api.ErrNotFound, id)
	}
	code, err := n.loadCode(id)
	if err != nil {
		return err
	}
	merged := code.Conf.Merge(overrides)
	if err := validateTopologyConf(merged); err != nil {
		return fmt.Errorf("%w: topology conf: invalid topology configuration: %w", api.ErrInvalid, err)
	}
	if err := checkConfWithDefinition(code.Definition, merged); err != nil {
		return fmt.Errorf("topology conf: %w", err)
	}
	return nil
}

// applyConfOverrides merges overrides into the stored configuration of id
// (do-rebalance): checked again (the nimbus conf may have changed across a
// restart), written to stormconf.json under a new inode (supervisors may
// hold hard links to the old one) and cached with its new checksum.
// Called under mu.
func (n *Nimbus) applyConfOverrides(id string, overrides map[string]any) error {
	if len(overrides) == 0 {
		return nil
	}
	if err := n.checkConfOverrides(id, overrides); err != nil {
		return err
	}
	code, err := n.loadCode(id)
	if err != nil {
		return err
	}
	conf := code.Conf.Merge(overrides)
	data, sum, err := encodeConf(conf)
	if err != nil {
		return err
	}
	path := filepath.Join(n.distDir, id, api.CodeFileConf)
	if err := writeFileAtomic(path, data); err != nil {
		return fmt.Errorf("write %s of %s: %w", api.CodeFileConf, id, err)
	}
	next := *code
	next.Conf = conf
	next.ConfSHA256 = sum
	n.infoMu.Lock()
	n.codes[id] = &next
	n.infoMu.Unlock()
	n.log.Info("topology conf changed", "id", id, "keys", slices.Sorted(maps.Keys(overrides)), "confSha256", sum)
	return nil
}

// encodeConf returns stormconf.json's bytes for conf and their SHA-256.
func encodeConf(conf config.Conf) ([]byte, string, error) {
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return nil, "", fmt.Errorf("encode %s: %w", api.CodeFileConf, err)
	}
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:]), nil
}

// confChecksum is the SHA-256 of stored conf bytes.
func confChecksum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// writeFileAtomic writes data to a new file beside path and renames it over
// path: readers see the old file or the new one, and hard links to the old
// one keep its content.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
