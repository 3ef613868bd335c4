package localcluster_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/timeline"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/localcluster"
	"github.com/localstorm/localstorm/localcluster/submit"
)

// startWordcount starts a cluster with opts and runs word count on it as name.
func startWordcount(t *testing.T, opts localcluster.Options, name string) (*localcluster.Cluster, string) {
	t.Helper()
	bin := wordcountBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts.DataDir = t.TempDir()
	c, err := localcluster.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	id, err := submit.Binary(ctx, c.Client(), bin, submit.Options{Name: name, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	return c, id
}

// workerPids maps the slot ports of topology id's running workers to their pids.
func workerPids(c *localcluster.Cluster, id string) map[int]int {
	out := map[int]int{}
	for _, sup := range c.Supervisors() {
		if sup == nil {
			continue
		}
		for _, w := range sup.Workers() {
			if w.TopologyID == id && w.State == "running" {
				out[w.Port] = w.Pid
			}
		}
	}
	return out
}

func aliveSupervisors(ctx context.Context, c *api.Client) int {
	s, err := c.ClusterSummary(ctx)
	if err != nil {
		return -1
	}
	return s.Supervisors
}

// TestFaultsOverTheAPI does every fault through nimbus's API, as
// `localstorm fault` does against `up`, and sees each one happen.
func TestFaultsOverTheAPI(t *testing.T) {
	c, id := startWordcount(t, localcluster.Options{Name: "faults-api", Supervisors: 2, Slots: 2, ServeFaults: true}, "wc")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cl := c.Client()
	fault := func(name string, req api.FaultRequest) *api.FaultReply {
		t.Helper()
		r, err := cl.Fault(ctx, name, req)
		if err != nil {
			t.Fatal(err)
		}
		if r.Fault != name || r.Message == "" {
			t.Fatalf("fault %s: reply %+v", name, r)
		}
		t.Logf("%s: %s", name, r.Message)
		return r
	}

	t.Run("kill-worker", func(t *testing.T) {
		before := workerPids(c, id)
		r := fault(api.FaultKillWorker, api.FaultRequest{Topology: "wc"})
		if before[r.Port] != r.Pid || r.Pid == 0 {
			t.Fatalf("killed pid %d on port %d; the workers were %v", r.Pid, r.Port, before)
		}
		testutil.Eventually(t, time.Minute, "the killed worker relaunched", func() (bool, string) {
			now := workerPids(c, id)
			return now[r.Port] != 0 && now[r.Port] != r.Pid, fmt.Sprint(now)
		})
	})
	t.Run("pause-and-resume-worker", func(t *testing.T) {
		var port, pid int
		testutil.Eventually(t, time.Minute, "a running worker", func() bool {
			for p, q := range workerPids(c, id) {
				if port == 0 || p > port {
					port, pid = p, q
				}
			}
			return port != 0
		})
		r := fault(api.FaultPauseWorker, api.FaultRequest{Topology: id, Port: port})
		if r.Pid != pid || r.Port != port {
			t.Fatalf("paused %d on %d, want %d on %d", r.Pid, r.Port, pid, port)
		}
		r = fault(api.FaultResumeWorker, api.FaultRequest{Topology: "wc", Port: port})
		if r.Pid != pid {
			t.Fatalf("resumed %d, want %d", r.Pid, pid)
		}
	})
	t.Run("worker-errors", func(t *testing.T) {
		for _, tc := range []struct {
			req  api.FaultRequest
			kind error
		}{
			{api.FaultRequest{}, api.ErrInvalid},
			{api.FaultRequest{Topology: "nosuch"}, api.ErrNotFound},
			{api.FaultRequest{Topology: "wc", Port: 1}, api.ErrNotFound},
		} {
			if _, err := cl.Fault(ctx, api.FaultKillWorker, tc.req); !errors.Is(err, tc.kind) {
				t.Errorf("kill-worker %+v: %v, want %v", tc.req, err, tc.kind)
			}
		}
		if _, err := cl.Fault(ctx, "break-everything", api.FaultRequest{}); !api.IsNotFound(err) {
			t.Errorf("an unknown fault: %v, want 404", err)
		}
	})
	t.Run("stop-and-start-supervisor", func(t *testing.T) {
		fault(api.FaultStopSupervisor, api.FaultRequest{Supervisor: 1})
		if c.Supervisors()[1] != nil {
			t.Fatal("supervisor 1 still runs")
		}
		testutil.Eventually(t, time.Minute, "nimbus sees 1 supervisor", func() bool { return aliveSupervisors(ctx, cl) == 1 })
		if _, err := cl.Fault(ctx, api.FaultStopSupervisor, api.FaultRequest{Supervisor: 1}); !errors.Is(err, api.ErrConflict) {
			t.Errorf("stopping a stopped supervisor: %v, want 409", err)
		}
		if _, err := cl.Fault(ctx, api.FaultStartSupervisor, api.FaultRequest{Supervisor: 7}); !api.IsNotFound(err) {
			t.Errorf("starting supervisor 7 of 2: %v, want 404", err)
		}
		fault(api.FaultStartSupervisor, api.FaultRequest{Supervisor: 1})
		testutil.Eventually(t, time.Minute, "nimbus sees 2 supervisors", func() bool { return aliveSupervisors(ctx, cl) == 2 })
	})
	t.Run("expire-session", func(t *testing.T) {
		fault(api.FaultExpireSession, api.FaultRequest{Daemon: "supervisor-1"})
		if c.Supervisors()[1] != nil {
			t.Fatal("supervisor 1 still counted as running after its session expired")
		}
		fault(api.FaultStartSupervisor, api.FaultRequest{Supervisor: 1})
		fault(api.FaultExpireSession, api.FaultRequest{Daemon: "nimbus"})
		if _, err := cl.Fault(ctx, api.FaultExpireSession, api.FaultRequest{Daemon: "zookeeper"}); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("expire-session zookeeper: %v, want 400", err)
		}
		testutil.Eventually(t, time.Minute, "nimbus answers and sees 2 supervisors", func() bool { return aliveSupervisors(ctx, cl) == 2 })
	})
	t.Run("restart-zookeeper", func(t *testing.T) {
		before := c.ZooKeeperServer()
		fault(api.FaultRestartZooKeeper, api.FaultRequest{})
		if c.ZooKeeperServer() == before {
			t.Fatal("the ZooKeeper server is the same")
		}
		testutil.Eventually(t, time.Minute, "nimbus sees 2 supervisors", func() bool { return aliveSupervisors(ctx, cl) == 2 })
	})
	t.Run("restart-nimbus", func(t *testing.T) {
		before := c.Nimbus()
		fault(api.FaultRestartNimbus, api.FaultRequest{})
		testutil.Eventually(t, time.Minute, "a new nimbus answering", func() bool {
			return c.Nimbus() != nil && c.Nimbus() != before && aliveSupervisors(ctx, cl) == 2
		})
	})
	t.Run("acks-go-on", func(t *testing.T) {
		var first int64 = -1
		testutil.Eventually(t, 2*time.Minute, "word count acking after the faults", func() (bool, string) {
			info, err := cl.Topology(ctx, id)
			if err != nil || len(info.Spouts) == 0 {
				return false, fmt.Sprint(err)
			}
			acked := info.Spouts[0].Acked
			if first < 0 {
				first = acked
			}
			return acked > first, fmt.Sprintf("acked %d, first seen %d", acked, first)
		})
	})
	select {
	case err := <-c.Err():
		t.Errorf("the cluster reported %v", err)
	default:
	}
}

// TestFaultsGuarded: a page of another origin cannot inject a fault, a POST
// must be JSON, and a cluster that did not ask for faults serves none.
func TestFaultsGuarded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, serve := range []bool{true, false} {
		c, err := localcluster.Start(ctx, localcluster.Options{Name: fmt.Sprintf("faults-guard-%v", serve), Supervisors: 1, Slots: 1, DataDir: t.TempDir(), ServeFaults: serve})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close(context.Background()) })
		postFault := func(fault string, header http.Header) int {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.APIURL()+api.PathFaults+fault, strings.NewReader(`{"supervisor":0}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header = header
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		post := func(header http.Header) int { return postFault(api.FaultStopSupervisor, header) }
		json := http.Header{"Content-Type": {api.ContentTypeJSON}}
		crossOrigin := http.Header{"Content-Type": {api.ContentTypeJSON}, "Origin": {"http://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}
		for _, fault := range api.Faults {
			if got := postFault(fault, crossOrigin); got != http.StatusForbidden {
				t.Errorf("serve=%v: a cross-origin %s: %d, want 403", serve, fault, got)
			}
		}
		if r, err := c.Client().Events(ctx, "", 0); err != nil || slices.ContainsFunc(r.Events, func(e api.Event) bool { return e.Kind == timeline.FaultInjected }) {
			t.Errorf("serve=%v: refused faults on the timeline (err %v)", serve, err)
		}
		if serve {
			// The UI's own request: a browser's same-origin POST of JSON.
			sameOrigin := http.Header{"Content-Type": {api.ContentTypeJSON}, "Origin": {c.APIURL()}, "Sec-Fetch-Site": {"same-origin"}}
			if got := postFault(api.FaultAddSupervisor, sameOrigin); got != http.StatusOK || len(c.Supervisors()) != 2 {
				t.Errorf("the UI's add-supervisor: %d and %d supervisors, want 200 and 2", got, len(c.Supervisors()))
			}
		}
		if got := post(http.Header{"Content-Type": {"text/plain"}}); serve && got != http.StatusUnsupportedMediaType {
			t.Errorf("a text/plain fault: %d, want 415", got)
		}
		if !serve {
			if got := post(json); got != http.StatusNotFound {
				t.Errorf("a cluster without ServeFaults: %d, want 404", got)
			}
		}
		if c.Supervisors()[0] == nil {
			t.Fatalf("serve=%v: a refused fault stopped supervisor 0", serve)
		}
	}
}
