package localcluster_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/localstorm/localstorm/localcluster"
)

// The restarts swap the cluster's shared fields while others read them:
// under -race this fails if a restart writes them outside the lock. A clean
// restart reports nothing on Err.
func TestRestartsWhileObserved(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{Name: "restart-observed", Supervisors: 1, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = c.ZooKeeperServer().Addr()
			_ = c.APIURL()
			time.Sleep(time.Millisecond)
		}
	}()
	before := c.ZooKeeperServer()
	if err := c.RestartZooKeeper(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.RestartNimbus(ctx); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if c.ZooKeeperServer() == before {
		t.Error("ZooKeeperServer() still returns the server that was stopped")
	}
	if _, err := c.Client().ClusterSummary(ctx); err != nil {
		t.Errorf("nimbus does not answer after the restarts: %v", err)
	}
	select {
	case err := <-c.Err():
		t.Errorf("a clean restart reported %v", err)
	default:
	}
}
