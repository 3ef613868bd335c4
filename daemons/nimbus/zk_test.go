package nimbus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/daemons/zookeeper"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/internal/zktest"
)

var zkRootSeq atomic.Int64

// startEmbeddedZK starts the embedded ZooKeeper, closed when tb ends.
func startEmbeddedZK(tb testing.TB) string { return startEmbeddedServer(tb).Addr() }

func startEmbeddedServer(tb testing.TB) *zookeeper.Server {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), 15*time.Second)
	defer cancel()
	zk, err := zookeeper.Start(ctx, zookeeper.Options{})
	if err != nil {
		tb.Fatalf("start the embedded ZooKeeper: %v", err)
	}
	tb.Cleanup(func() { _ = zk.Close() })
	return zk
}

func freshRoot() string { return fmt.Sprintf("/nimbus-test-%d/storm", zkRootSeq.Add(1)) }

// connectZK returns a StormClusterState (its own session) on root of the
// server at addr.
func connectZK(tb testing.TB, addr, root string) cluster.StormClusterState {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), 15*time.Second)
	defer cancel()
	state, err := cluster.ConnectStorm(ctx, cluster.Options{
		Servers: []string{addr}, Root: root,
		SessionTimeout: 6 * time.Second, Logger: testutil.Logger(tb, slog.LevelDebug),
	})
	if err != nil {
		tb.Fatalf("connect to ZooKeeper %s: %v", addr, err)
	}
	tb.Cleanup(func() { _ = state.Disconnect() })
	return state
}

func startOnZK(tb testing.TB, state cluster.StormClusterState, dir string) *Nimbus {
	tb.Helper()
	n, err := Start(tb.Context(), Options{
		Conf:     config.Conf{config.NimbusMonitorFreqSecs: 0.2, config.NimbusTaskLaunchSecs: 30},
		LocalDir: dir, State: state, Logger: testutil.Logger(tb, slog.LevelDebug),
	})
	if err != nil {
		tb.Fatalf("start nimbus: %v", err)
	}
	tb.Cleanup(func() { _ = n.Close(context.Background()) })
	return n
}

func submitOverAPI(tb testing.TB, c *api.Client, name string, conf map[string]any) string {
	tb.Helper()
	ctx := tb.Context()
	code := []byte("code of " + name)
	upload, err := c.Upload(ctx, bytes.NewReader(code), sum(code))
	if err != nil {
		tb.Fatal(err)
	}
	id, err := c.Submit(ctx, api.SubmitRequest{Name: name, UploadID: upload, SHA256: sum(code), Kind: api.KindBinary, Definition: wordCount(), Conf: conf})
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// TestOnZooKeeper runs nimbus's lifecycle over the real cluster state, on the
// embedded ZooKeeper and on a real ZooKeeper 3.8.
func TestOnZooKeeper(t *testing.T) {
	targets := []struct {
		name string
		addr func(t *testing.T) string
	}{
		{"embedded", func(t *testing.T) string { return startEmbeddedZK(t) }},
		{"real", func(t *testing.T) string { return zktest.StartReal(t, zktest.RealOptions{}).Addr }},
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			addr, root := tg.addr(t), freshRoot()
			state := connectZK(t, addr, root)
			dir := t.TempDir()
			n := startOnZK(t, state, dir)
			// Each supervisor has its own session, as in a cluster.
			supStates := map[string]cluster.StormClusterState{}
			for _, s := range []string{"sup-a", "sup-b"} {
				supStates[s] = connectZK(t, addr, root)
				if err := supStates[s].SupervisorHeartbeat(s, &cluster.SupervisorInfo{V: 1, TimeSecs: time.Now().Unix(), Hostname: "host-" + s, SlotPorts: []int{6700, 6701}}); err != nil {
					t.Fatal(err)
				}
			}
			c := api.NewClient(n.APIURL())
			ctx := t.Context()
			id := submitOverAPI(t, c, "wc", map[string]any{config.TopologyWorkers: 2})
			a, err := state.AssignmentInfo(id, nil)
			if err != nil || a == nil || len(slotsOf(a)) != 2 || len(a.Executors) != 7 {
				t.Fatalf("assignment in ZooKeeper right after submit: %+v %v", a, err)
			}
			cs, err := c.ClusterSummary(ctx)
			if err != nil || cs.SlotsTotal != 4 || cs.SlotsUsed != 2 || cs.Topologies != 1 {
				t.Errorf("cluster summary %+v %v", cs, err)
			}
			// A supervisor whose session ends loses its executors to the others.
			supC := connectZK(t, addr, root)
			if err := supC.SupervisorHeartbeat("sup-c", &cluster.SupervisorInfo{V: 1, TimeSecs: time.Now().Unix(), Hostname: "host-c", SlotPorts: []int{6700}}); err != nil {
				t.Fatal(err)
			}
			if err := supStates["sup-a"].Disconnect(); err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, 10*time.Second, "executors moved off sup-a", func() bool {
				a, _ := state.AssignmentInfo(id, nil)
				for s := range slotsOf(a) {
					if s.Node == "sup-a" {
						return false
					}
				}
				return a != nil && len(a.Executors) == 7 && len(slotsOf(a)) == 2
			})

			// Kill with a wait, restart nimbus meanwhile: the removal still happens.
			if err := c.Kill(ctx, id, 2); err != nil {
				t.Fatal(err)
			}
			if err := n.Close(ctx); err != nil {
				t.Fatal(err)
			}
			n = startOnZK(t, state, dir)
			if base, _ := state.StormBase(id, nil); base == nil || base.Status != cluster.StatusKilled {
				t.Fatalf("after restart: %+v, want KILLED", base)
			}
			testutil.Eventually(t, 10*time.Second, "removal after restart", func() bool {
				base, err := state.StormBase(id, nil)
				return err == nil && base == nil
			})
			testutil.Eventually(t, 10*time.Second, "heartbeats torn down", func() bool {
				ids, err := state.HeartbeatStorms()
				return err == nil && len(ids) == 0
			})
			c = api.NewClient(n.APIURL())
			if _, err := c.Topology(ctx, id); !errors.Is(err, api.ErrNotFound) {
				t.Errorf("topology after removal: %v, want not found", err)
			}
			select {
			case err := <-n.Err():
				t.Errorf("fatal nimbus error: %v", err)
			default:
			}
		})
	}
}

// TestSupervisorLossReassignsWithoutWaitingForTheMonitor: with an hour-long
// monitor period, the watch on /supervisors alone moves the executors, also
// after nimbus's own session expired and was replaced (the cluster state fires
// one-shot callbacks after a new session, and the reassignment re-arms the watch).
func TestSupervisorLossReassignsWithoutWaitingForTheMonitor(t *testing.T) {
	for _, expireNimbusSession := range []bool{false, true} {
		t.Run(fmt.Sprintf("session-expired=%v", expireNimbusSession), func(t *testing.T) {
			zk := startEmbeddedServer(t)
			addr, root := zk.Addr(), freshRoot()
			state := connectZK(t, addr, root)
			n, err := Start(t.Context(), Options{Conf: config.Conf{config.NimbusMonitorFreqSecs: 3600}, LocalDir: t.TempDir(), State: state, Logger: testutil.Logger(t, slog.LevelDebug)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = n.Close(context.Background()) })
			sup := func(id string) cluster.StormClusterState {
				s := connectZK(t, addr, root)
				if err := s.SupervisorHeartbeat(id, &cluster.SupervisorInfo{V: 1, TimeSecs: time.Now().Unix(), Hostname: id, SlotPorts: []int{6700}}); err != nil {
					t.Fatal(err)
				}
				return s
			}
			supA := sup("sup-a")
			id := submitOverAPI(t, api.NewClient(n.APIURL()), "wc", nil)
			a, _ := state.AssignmentInfo(id, nil)
			if s := onlySlot(t, a); s.Node != "sup-a" {
				t.Fatalf("assigned to %v", s)
			}
			if expireNimbusSession {
				withID, ok := state.(interface{ SessionID() int64 })
				if !ok {
					t.Fatal("the cluster state does not expose its session id")
				}
				old := withID.SessionID()
				if err := zk.ExpireSession(old); err != nil {
					t.Fatal(err)
				}
				testutil.Eventually(t, 10*time.Second, "a new nimbus session", func() bool {
					sid := withID.SessionID()
					return sid != 0 && sid != old
				})
			}
			sup("sup-b")
			if err := supA.Disconnect(); err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, 10*time.Second, "executors on sup-b", func() bool {
				a, _ := state.AssignmentInfo(id, nil)
				return a != nil && len(slotsOf(a)) == 1 && a.Executors[0].Slot.Node == "sup-b"
			})
		})
	}
}
