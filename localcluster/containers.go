package localcluster

import (
	"context"
	"fmt"
	"sync"
)

// Container mode is linked in only by programs that ask for it: package
// zkcontainer registers itself here when imported,
//
//	import _ "github.com/localstorm/localstorm/localcluster/zkcontainer"
//
// as the localstorm command does. Every other program that links
// localcluster (each topology binary, whose workers are processes that
// start often) stays without the Docker client and its package
// initialisation, which costs ~12 ms and 1.6 MB at every process start.

// ContainerZooKeeper is container mode's running ZooKeeper.
type ContainerZooKeeper interface {
	Addr() string // the client address, on 127.0.0.1
	Close(ctx context.Context) error
}

// ContainerRuntime runs container mode's ZooKeeper.
type ContainerRuntime interface {
	// StartZooKeeper runs image labelled with the cluster's name and
	// returns once it serves; logf receives progress messages.
	StartZooKeeper(ctx context.Context, image, cluster string, logf func(format string, args ...any)) (ContainerZooKeeper, error)
	// ReapOrphans removes the containers labelled with cluster that a
	// crashed run left behind, and returns how many.
	ReapOrphans(ctx context.Context, cluster string) (int, error)
}

var containers struct {
	sync.Mutex
	runtime ContainerRuntime
}

// RegisterContainerRuntime makes container mode available to this program.
func RegisterContainerRuntime(r ContainerRuntime) {
	containers.Lock()
	defer containers.Unlock()
	containers.runtime = r
}

func containerRuntime() (ContainerRuntime, error) {
	containers.Lock()
	defer containers.Unlock()
	if containers.runtime == nil {
		return nil, fmt.Errorf("zookeeper: container mode is not linked into this program; " +
			`import _ "github.com/localstorm/localstorm/localcluster/zkcontainer" (the localstorm command does), ` +
			"or use the embedded ZooKeeper")
	}
	return containers.runtime, nil
}
