package cluster

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/daemons/config"
)

// digestID is ZooKeeper's DigestAuthenticationProvider.generateDigest.
func digestID(user, password string) string { return zk.DigestACL(0, user, password)[0].ID }

func TestAuthFromConfPrefersTheTopologys(t *testing.T) {
	daemon := config.Conf{config.StormZookeeperAuthScheme: "digest", config.StormZookeeperAuthPayload: "storm:secret"}
	if got := AuthFromConf(daemon); got != (Auth{"digest", "storm:secret"}) {
		t.Errorf("daemon conf: %+v", got)
	}
	worker := daemon.Clone().Merge(config.Conf{config.StormZookeeperTopologyAuthScheme: "digest", config.StormZookeeperTopologyAuthPayload: "1:2"})
	if got := AuthFromConf(worker); got != (Auth{"digest", "1:2"}) {
		t.Errorf("worker conf: %+v, want the topology's identity", got)
	}
	if got := AuthFromConf(config.Conf{}); got != (Auth{}) {
		t.Errorf("empty conf: %+v, want no auth", got)
	}
}

func TestStormACLs(t *testing.T) {
	server := config.Conf{
		config.StormZookeeperAuthScheme:  "digest",
		config.StormZookeeperAuthPayload: "storm:secret",
		config.StormZookeeperSuperACL:    "digest:" + digestID("storm", "secret"),
	}
	if DaemonACL(config.Conf{}) != nil {
		t.Error("DaemonACL without auth: want nil (open)")
	}
	if got := DaemonACL(server); !slices.Equal(got, zk.AuthACL(zk.PermAll)) {
		t.Errorf("DaemonACL = %v, want CREATOR_ALL_ACL", got)
	}
	topo := config.Conf{}
	if err := PrepareTopologyAuth(server, topo); err != nil {
		t.Fatal(err)
	}
	payload, _ := topo[config.StormZookeeperTopologyAuthPayload].(string)
	if !regexp.MustCompile(`^\d+:\d+$`).MatchString(payload) || topo[config.StormZookeeperTopologyAuthScheme] != "digest" ||
		topo[config.StormZookeeperSuperACL] != server[config.StormZookeeperSuperACL] {
		t.Fatalf("prepared topology conf %v: want a generated digest payload, scheme digest and the cluster's superACL", topo)
	}
	user, password, _ := strings.Cut(payload, ":")
	for perms, name := range map[int32]string{zk.PermRead: "read-only", zk.PermAll: "read-write"} {
		want := append(zk.AuthACL(zk.PermAll), ACL{Perms: perms, Scheme: "digest", ID: digestID(user, password)})
		if got := TopologyACL(topo, perms); !slices.Equal(got, want) {
			t.Errorf("%s topology ACL = %v, want %v", name, got, want)
		}
	}
	workerACL, err := WorkerACL(topo)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(zk.AuthACL(zk.PermAll), ACL{Perms: zk.PermAll, Scheme: "digest", ID: digestID("storm", "secret")}); !slices.Equal(workerACL, want) {
		t.Errorf("WorkerACL = %v, want %v", workerACL, want)
	}

	kept := config.Conf{config.StormZookeeperTopologyAuthPayload: "me:mine"}
	if err := PrepareTopologyAuth(server, kept); err != nil || kept[config.StormZookeeperTopologyAuthPayload] != "me:mine" {
		t.Errorf("a valid payload of the topology's own: %v, %v; want it kept", kept, err)
	}
	bad := config.Conf{config.StormZookeeperTopologyAuthPayload: "no colon"}
	if err := PrepareTopologyAuth(server, bad); err != nil || bad[config.StormZookeeperTopologyAuthPayload] == "no colon" {
		t.Errorf("an invalid payload: %v, %v; want a generated one", bad, err)
	}
	open := config.Conf{config.StormZookeeperTopologyAuthScheme: "digest", config.StormZookeeperTopologyAuthPayload: "a:b"}
	if err := PrepareTopologyAuth(config.Conf{}, open); err != nil || len(open) != 0 {
		t.Errorf("without server auth: %v, %v; want the topology's auth keys dropped (Storm's nimbus)", open, err)
	}
	noSuper := server.Clone()
	delete(noSuper, config.StormZookeeperSuperACL)
	if err := PrepareTopologyAuth(noSuper, config.Conf{}); err == nil || !strings.Contains(err.Error(), config.StormZookeeperSuperACL) {
		t.Errorf("without superACL: %v, want an error naming it", err)
	}
	malformed := server.Clone().Merge(config.Conf{config.StormZookeeperSuperACL: "nocolon"})
	if _, err := WorkerACL(malformed.Merge(config.Conf{config.StormZookeeperTopologyAuthScheme: "digest"})); err == nil || !strings.Contains(err.Error(), "scheme:acl") {
		t.Errorf("malformed superACL: %v, want Storm's form named", err)
	}
	if acl, err := WorkerACL(config.Conf{}); acl != nil || err != nil {
		t.Errorf("WorkerACL without topology auth = %v, %v; want nil", acl, err)
	}
}

// testAuthAndACLs: with ZooKeeper authentication on, nimbus's, a worker's
// and a stranger's sessions see what Storm's ACLs give them: the topology's
// nodes carry the topology ACLs, the worker reads its assignment and writes
// its heartbeats and errors, nimbus reads and removes what the worker wrote,
// a session without the right identity is refused, and a renewed session
// authenticates again.
func testAuthAndACLs(t *testing.T, tg target) {
	daemonConf := config.Conf{
		config.StormZookeeperAuthScheme:  "digest",
		config.StormZookeeperAuthPayload: "storm:secret",
		config.StormZookeeperSuperACL:    "digest:" + digestID("storm", "secret"),
	}
	topoConf := daemonConf.Clone()
	if err := PrepareTopologyAuth(daemonConf, topoConf); err != nil {
		t.Fatal(err)
	}
	base := tg.options(t)
	nimbusOpts := base
	nimbusOpts.Auth, nimbusOpts.ACL = AuthFromConf(daemonConf), DaemonACL(daemonConf)
	nimbusZK := connectState(t, nimbusOpts)
	nimbus, err := NewStormClusterState(nimbusZK, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const id = "secure-1-1"
	rw, ro := TopologyACL(topoConf, PermAll), TopologyACL(topoConf, PermRead)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(nimbus.SetupHeartbeats(id, rw...))
	must(nimbus.SetupErrors(id, rw...))
	must(nimbus.ActivateStorm(id, &StormBase{V: 1, Name: "secure", Status: StatusActive, NumWorkers: 1}, ro...))
	assignment := &Assignment{V: 1, NodeHost: map[string]string{"sup-1": "h"}, Executors: []ExecutorAssignment{{Executor: ExecutorInfo{Start: 1, End: 1}, Slot: NodePort{Node: "sup-1", Port: 6700}}}}
	must(nimbus.SetAssignment(id, assignment, ro...))
	must(nimbus.SupervisorHeartbeat("sup-1", &SupervisorInfo{V: 1, Hostname: "h"}))

	// getACL needs READ or ADMIN (ZooKeeper 3.5 on): ask as the daemons.
	raw := rawConn(t, tg.addr)
	must(raw.AddAuth("digest", []byte("storm:secret")))
	for path, want := range map[string][]ACL{
		base.Root + AssignmentPath(id):      ro,
		base.Root + StormPath(id):           ro,
		base.Root + WorkerbeatRoot(id):      rw,
		base.Root + ErrorsTopologyRoot(id):  rw,
		base.Root + SupervisorPath("sup-1"): {{Perms: zk.PermAll, Scheme: "digest", ID: digestID("storm", "secret")}},
	} {
		got, _, err := raw.GetACL(path)
		if err != nil {
			t.Fatalf("getACL %s: %v", path, err)
		}
		if want[0].Scheme == "auth" { // the server stores the creator's identity
			want = append([]ACL{{Perms: zk.PermAll, Scheme: "digest", ID: digestID("storm", "secret")}}, want[1:]...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ACL of %s = %v, want %v", path, got, want)
		}
	}
	if _, _, err := rawConn(t, tg.addr).Get(base.Root + AssignmentPath(id)); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("an unauthenticated read of the assignment: %v, want NoAuth", err)
	}

	workerACL, err := WorkerACL(topoConf)
	must(err)
	workerOpts := base
	workerOpts.Auth, workerOpts.ACL = AuthFromConf(topoConf), workerACL
	worker, err := NewStormClusterState(connectState(t, workerOpts), nil, nil)
	must(err)
	if a, err := worker.AssignmentInfo(id, nil); err != nil || a == nil {
		t.Fatalf("the worker reads its assignment: %v, %v", a, err)
	}
	if b, err := worker.StormBase(id, nil); err != nil || b == nil {
		t.Fatalf("the worker reads its storm base: %v, %v", b, err)
	}
	must(worker.SetWorkerHeartbeat(id, "sup-1", 6700, &WorkerHeartbeat{V: 1, TopologyID: id, TimeSecs: 1}))
	must(worker.ReportError(id, "split", "h", 6700, errors.New("boom")))
	if _, err := worker.SupervisorInfo("sup-1"); !errors.Is(err, ErrNoAuth) {
		t.Errorf("the worker reads a supervisor's record: %v, want NoAuth (the daemons' node)", err)
	}
	if ok, err := worker.SupervisorExists("sup-1"); err != nil || !ok {
		t.Errorf("the worker looks for its supervisor: %v, %v; want it found (a node's stat needs no right)", ok, err)
	}
	if ok, err := worker.SupervisorExists("sup-2"); err != nil || ok {
		t.Errorf("a supervisor that never was: %v, %v; want absent", ok, err)
	}
	if hb, err := nimbus.WorkerHeartbeat(id, "sup-1", 6700); err != nil || hb == nil {
		t.Fatalf("nimbus reads the worker's heartbeat (superACL): %v, %v", hb, err)
	}
	if errs, err := nimbus.Errors(id, "split"); err != nil || len(errs) != 1 {
		t.Fatalf("nimbus reads the worker's errors: %v, %v", errs, err)
	}

	// A renewed session (after an expiry) authenticates again.
	nimbusZK.mu.RLock()
	gen := nimbusZK.gen
	nimbusZK.mu.RUnlock()
	old := nimbusZK.SessionID()
	nimbusZK.events.push(connEvent{gen: gen, ev: expiredEvent})
	waitNewSession(t, nimbusZK, old)
	if a, err := nimbus.AssignmentInfo(id, nil); err != nil || a == nil {
		t.Fatalf("nimbus reads the assignment after its session was renewed: %v, %v", a, err)
	}
	must(nimbus.TeardownHeartbeats(id))
	must(nimbus.TeardownTopologyErrors(id))
	must(nimbus.RemoveStorm(id))
}

func waitNewSession(t *testing.T, s *zkState, old int64) {
	t.Helper()
	for range 200 {
		if id := s.SessionID(); id != 0 && id != old {
			return
		}
		<-time.After(25 * time.Millisecond)
	}
	t.Fatalf("no new session after the expiry (still %#x)", old)
}
