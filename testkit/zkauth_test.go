package testkit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/testkit"
)

// With ZooKeeper authentication on (Storm's storm.zookeeper.auth.* and
// superACL), a topology runs as on an open cluster: its workers
// authenticate as the topology, read their assignment and write their
// heartbeats and errors, nimbus and the supervisors read what the workers
// wrote, and a killed worker's replacement authenticates again; a session
// without the right identity cannot read the topology's assignment.
func TestZooKeeperAuthentication(t *testing.T) {
	c := testkit.Start(t, testkit.Options{Conf: map[string]any{
		"storm.zookeeper.auth.scheme":  "digest",
		"storm.zookeeper.auth.payload": "storm:secret",
		"storm.zookeeper.superACL":     "digest:" + zk.DigestACL(0, "storm", "secret")[0].ID,
	}})
	runWithFault(t, c, func(id string) {
		conn, _, err := zk.Connect([]string{c.LocalCluster().ZooKeeperAddr()}, 10*time.Second, zk.WithLogInfo(false))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		path := c.LocalCluster().ZooKeeperRoot() + cluster.AssignmentPath(id)
		if _, _, err := conn.Get(path); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("an unauthenticated read of %s: %v, want NoAuth", path, err)
		}
		killed := c.KillWorker(t, id)
		c.WaitFor(t, "killed worker relaunched", func() (bool, string) {
			for _, w := range c.Workers(id) {
				if w.Port == killed.Port && w.Pid != killed.Pid {
					return true, ""
				}
			}
			return false, "no new worker yet"
		}, id)
	})
}
