package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/config"
)

var memSeq int

// memOptions names a fresh in-memory tree for one test.
func memOptions(t *testing.T) Options {
	memSeq++
	return Options{Store: MemoryStore, Servers: []string{fmt.Sprintf("mem-%s-%d", t.Name(), memSeq)}, Root: "/storm"}
}

func connectMem(t *testing.T, opts Options) ClusterState {
	t.Helper()
	s, err := Connect(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// The store plug (Storm's storm.cluster.state.store): ZooKeeper by default,
// the in-memory store by name, and a clear error for a store that is not
// there.
func TestStoreIsChosenByConf(t *testing.T) {
	opts, err := OptionsFromConf(config.Conf{StormClusterStateStore: MemoryStore})
	if err != nil || opts.Store != MemoryStore {
		t.Fatalf("OptionsFromConf: %+v, %v", opts, err)
	}
	opts.Servers = []string{"mem-" + t.Name()}
	st, err := ConnectStorm(context.Background(), opts)
	if err != nil {
		t.Fatalf("ConnectStorm over the memory store: %v", err)
	}
	t.Cleanup(func() { _ = st.Disconnect() })
	if err := st.ActivateStorm("wc-1-1", &StormBase{V: 1, Name: "wc", Status: StatusActive, NumWorkers: 1}); err != nil {
		t.Fatal(err)
	}
	if ids, err := st.ActiveStorms(); err != nil || !slices.Equal(ids, []string{"wc-1-1"}) {
		t.Fatalf("ActiveStorms over the memory store = %v, %v", ids, err)
	}
	_, err = Connect(context.Background(), Options{Store: "com.example.Nope", Servers: []string{"x"}})
	if err == nil || !strings.Contains(err.Error(), MemoryStore) || !strings.Contains(err.Error(), DefaultStore) {
		t.Fatalf("unknown store: %v, want an error listing the stores there are", err)
	}
}

// The in-memory store keeps ZooKeeper's watch semantics: the same cases as
// the ZooKeeper suite's, one-shot, in order.
func TestMemoryStoreWatches(t *testing.T) {
	for _, c := range watchCases() {
		t.Run(c.name, func(t *testing.T) {
			opts := memOptions(t)
			runWatchCase(t, c, connectMem(t, opts), connectMem(t, opts))
		})
	}
}

// Sessions, ephemerals and sequential nodes as ZooKeeper keeps them.
func TestMemoryStoreSessions(t *testing.T) {
	opts := memOptions(t)
	a, b := connectMem(t, opts), connectMem(t, opts)
	if err := a.SetEphemeralNode("/supervisors/s1", []byte("hb")); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	b.Register(rec.record)
	if kids, err := b.GetChildren("/supervisors", true); err != nil || !slices.Equal(kids, []string{"s1"}) {
		t.Fatalf("children = %v, %v", kids, err)
	}
	p1, err := b.CreateSequential("/seq/e", []byte("1"))
	if err == nil {
		t.Fatalf("CreateSequential without a parent = %q, want an error", p1)
	}
	if err := b.Mkdirs("/seq"); err != nil {
		t.Fatal(err)
	}
	p1, _ = b.CreateSequential("/seq/e", []byte("1"))
	p2, _ := b.CreateSequential("/seq/e", []byte("2"))
	if p1 != "/seq/e0000000000" || p2 != "/seq/e0000000001" {
		t.Errorf("sequential nodes %q, %q", p1, p2)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if ev := rec.next(t); ev != (Event{Type: EventChildren, Path: "/supervisors"}) {
		t.Fatalf("event after the session closed = %+v, want children of /supervisors", ev)
	}
	if data, err := b.GetData("/supervisors/s1", false); err != nil || data != nil {
		t.Errorf("the closed session's ephemeral node: %q, %v; want it gone", data, err)
	}
	if err := a.SetData("/x", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("SetData after Close: %v, want ErrClosed", err)
	}
	if err := b.DeleteNode("/seq"); err != nil {
		t.Fatal(err)
	}
	if v, err := b.GetVersion("/seq/e0000000000", false); err != nil || v != -1 {
		t.Errorf("a child after its parent's DeleteNode: version %d, %v; want gone", v, err)
	}
}

// A StormClusterState over the memory store calls back as over ZooKeeper.
func TestMemoryStoreUnderStormClusterState(t *testing.T) {
	opts := memOptions(t)
	nimbus, err := ConnectStorm(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nimbus.Disconnect() })
	sup, err := ConnectStorm(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sup.Disconnect() })
	c := newCounter()
	if _, err := sup.Assignments(c.callback()); err != nil {
		t.Fatal(err)
	}
	if err := nimbus.SetAssignment("wc-1-1", &Assignment{V: 1}); err != nil {
		t.Fatal(err)
	}
	c.wait(t, "assignment written")
	if err := sup.SupervisorHeartbeat("s1", &SupervisorInfo{V: 1, Hostname: "h", TimeSecs: time.Now().Unix()}); err != nil {
		t.Fatal(err)
	}
	if info, err := nimbus.SupervisorInfo("s1"); err != nil || info == nil || info.Hostname != "h" {
		t.Fatalf("SupervisorInfo = %+v, %v", info, err)
	}
}
