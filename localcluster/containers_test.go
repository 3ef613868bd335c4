package localcluster_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/zookeeper"
	"github.com/localstorm/localstorm/localcluster"
)

// This test binary imports localcluster but not zkcontainer: container mode
// must say how to get it.
func TestContainerModeNeedsItsPackage(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := localcluster.Start(ctx, localcluster.Options{
		Name:      "no-container-runtime",
		ZooKeeper: localcluster.ZooKeeperOptions{Mode: localcluster.ZooKeeperContainer},
	})
	if err == nil || !strings.Contains(err.Error(), `import _ "github.com/localstorm/localstorm/localcluster/zkcontainer"`) {
		t.Fatalf("container mode without zkcontainer: %v, want an error naming the import", err)
	}
}

// Topology binaries (topology/run) and test binaries using testkit start a
// process per worker: they must not link the Docker client, whose package
// initialisation lists every process on the machine.
func TestTopologyBinariesDoNotLinkDocker(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, pkg := range []string{"../topology/run", "../testkit"} {
		out, err := exec.Command(goTool, "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "github.com/testcontainers/") || strings.HasPrefix(dep, "github.com/moby/moby/client") {
				t.Errorf("%s links %s", pkg, dep)
			}
		}
	}
}

// fakeRuntime runs an embedded ZooKeeper where container mode would run a
// container, and records what it was asked.
type fakeRuntime struct {
	mu    sync.Mutex
	calls []string
}

type fakeContainer struct {
	rt  *fakeRuntime
	srv *zookeeper.Server
}

func (f *fakeRuntime) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeRuntime) StartZooKeeper(ctx context.Context, image, cluster string, logf func(string, ...any)) (localcluster.ContainerZooKeeper, error) {
	f.record(fmt.Sprintf("start %s %s", image, cluster))
	srv, err := zookeeper.Start(ctx, zookeeper.Options{})
	if err != nil {
		return nil, err
	}
	logf("serving on %s", srv.Addr())
	return fakeContainer{f, srv}, nil
}

func (f *fakeRuntime) ReapOrphans(_ context.Context, cluster string) (int, error) {
	f.record("reap " + cluster)
	return 0, nil
}

func (c fakeContainer) Addr() string { return c.srv.Addr() }

func (c fakeContainer) Close(context.Context) error {
	c.rt.record("close")
	return c.srv.Close()
}

func TestContainerModeRunsThroughTheRegisteredRuntime(t *testing.T) {
	rt := &fakeRuntime{}
	localcluster.RegisterContainerRuntime(rt)
	t.Cleanup(func() { localcluster.RegisterContainerRuntime(nil) })
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{
		Name:        "fake-container",
		Supervisors: 1,
		ZooKeeper:   localcluster.ZooKeeperOptions{Mode: localcluster.ZooKeeperContainer, Image: "zk:test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	rt.mu.Lock()
	started := strings.Join(rt.calls, "; ")
	rt.mu.Unlock()
	if started != "reap fake-container; start zk:test fake-container" {
		t.Errorf("runtime calls at start: %q", started)
	}
	if c.ZooKeeperAddr() == "" || !strings.HasPrefix(c.ZooKeeperAddr(), "127.0.0.1:") {
		t.Errorf("cluster's ZooKeeper address %q", c.ZooKeeperAddr())
	}
	if _, err := c.Client().ClusterSummary(ctx); err != nil {
		t.Errorf("cluster on the runtime's ZooKeeper does not answer: %v", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if rt.calls[len(rt.calls)-1] != "close" {
		t.Errorf("the container was not removed on Close: %q", rt.calls)
	}
}
