package cluster

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// StormClusterStateStore is Storm's key naming the ClusterState
// implementation (a StateStorageFactory class in Storm).
const StormClusterStateStore = "storm.cluster.state.store"

// DefaultStore is Storm's default store, ZooKeeper.
const DefaultStore = "org.apache.storm.cluster.ZKStateStorageFactory"

// StoreFactory opens a ClusterState (Storm's StateStorageFactory.mkStore).
type StoreFactory func(ctx context.Context, opts Options) (ClusterState, error)

var stores = struct {
	sync.Mutex
	m map[string]StoreFactory
}{m: map[string]StoreFactory{DefaultStore: connectZK}}

// RegisterStore makes a ClusterState implementation available under name
// for storm.cluster.state.store. It panics on an empty name, a nil factory
// or a name registered twice, which are programming errors.
func RegisterStore(name string, f StoreFactory) {
	stores.Lock()
	defer stores.Unlock()
	if name == "" || f == nil {
		panic("cluster: RegisterStore with an empty name or a nil factory")
	}
	if _, dup := stores.m[name]; dup {
		panic("cluster: store " + name + " registered twice")
	}
	stores.m[name] = f
}

// Connect opens the ClusterState that opts.Store names (ZooKeeper by
// default): for ZooKeeper it waits until the session is established or ctx
// is done, then creates the root.
func Connect(ctx context.Context, opts Options) (ClusterState, error) {
	name := opts.Store
	if name == "" {
		name = DefaultStore
	}
	stores.Lock()
	f := stores.m[name]
	known := slices.Sorted(maps.Keys(stores.m))
	stores.Unlock()
	if f == nil {
		return nil, fmt.Errorf("%s %q is not a store localstorm has: use one of %s", StormClusterStateStore, name, strings.Join(known, ", "))
	}
	return f(ctx, opts)
}

func connectZK(ctx context.Context, opts Options) (ClusterState, error) {
	s, err := connect(ctx, opts)
	if err != nil {
		return nil, err // not a typed nil *zkState inside the interface
	}
	return s, nil
}
