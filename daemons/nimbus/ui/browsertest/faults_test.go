package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/timeline"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/testkit"
)

// eventsAfterKill is JavaScript for the events on the page's timeline that
// came after the newest kill-worker fault, oldest first, as {kind, what}
// (the list shows the newest first).
const eventsAfterKill = `(() => {
	const items = [...document.querySelectorAll('#events li')].map(li =>
		({kind: li.querySelector('.kind').textContent, what: li.querySelector('.what').textContent}));
	const f = items.findIndex(e => e.kind === 'fault-injected' && e.what.includes('kill-worker'));
	return f < 0 ? [] : items.slice(0, f).reverse();
})()`

// readyPid matches the pid in a worker-ready event's details.
var readyPid = regexp.MustCompile(`ready on port (\d+) \(pid (\d+)\)`)

// workerPid is the pid of topology id's running worker on port (0: none),
// as its supervisor knows it.
func workerPid(c *testkit.Cluster, id string, port int) int {
	for _, sup := range c.LocalCluster().Supervisors() {
		if sup == nil {
			continue
		}
		for _, w := range sup.Workers() {
			if w.TopologyID == id && w.Port == port && w.State == "running" {
				return w.Pid
			}
		}
	}
	return 0
}

// firstWorker waits for topology id's running worker with the lowest port
// and returns its port and pid.
func firstWorker(t *testing.T, c *testkit.Cluster, id string) (port, pid int) {
	t.Helper()
	testutil.Eventually(t, time.Minute, "a running worker with its pid", func() (bool, string) {
		port, pid = 0, 0
		for _, sup := range c.LocalCluster().Supervisors() {
			for _, w := range sup.Workers() {
				if w.TopologyID == id && w.State == "running" && w.Pid > 0 && (port == 0 || w.Port < port) {
					port, pid = w.Port, w.Pid
				}
			}
		}
		return pid > 0, "no running worker yet"
	})
	return port, pid
}

// TestKillWorkerFromUI is the workshop in Chromium: on the page of a running
// word count (with a chart that has data points), "Kill worker" and its
// confirmation kill a worker; the topology's timeline shows the fault, the
// worker's exit and its relaunch, and the worker on that port is a new
// process (by the API's events and by its supervisor). First, a page of
// another origin tries to press the same button by fetch, and cannot.
func TestKillWorkerFromUI(t *testing.T) {
	c, id := startWordcount(t, testkit.Options{Supervisors: 1, Slots: 2, ServeFaults: true})
	client := c.Client()
	ctx := context.Background()
	b := Start(t)
	port, pid := firstWorker(t, c, id)
	start, err := client.Events(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("another origin cannot", func(t *testing.T) {
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<!doctype html><title>elsewhere</title><body>another origin</body>")
		}))
		defer other.Close()
		b.Open(other.URL + "/")
		url := client.BaseURL() + api.PathFaults + api.FaultKillWorker
		body := fmt.Sprintf(`{"topology":%q}`, id)
		// As the UI sends it (JSON: needs a preflight, never granted), and
		// as a "simple" request (text/plain, no-cors: sent, but refused by
		// the guard's Origin and content-type rules).
		b.Eval(fmt.Sprintf(`(() => {
			const send = (mode, type) => fetch(%q, {method: 'POST', mode, headers: {'Content-Type': type}, body: %q})
				.then(r => r.type + ' ' + r.status, e => 'error ' + e.name);
			window.results = null;
			Promise.all([send('cors', 'application/json'), send('no-cors', 'text/plain')]).then(r => { window.results = r; });
			return '';
		})()`, url, body))
		b.WaitJS("both fetches settled", `window.results !== null`)
		got := b.Eval(`window.results`)
		// The JSON POST fails in the browser (no preflight granted); the
		// simple one was sent (an opaque response), and did nothing.
		if got != `["error TypeError","opaque 0"]` {
			t.Errorf("fetches from another origin: %s, want the JSON one refused and the simple one sent opaque", got)
		}
		r, err := client.Events(ctx, "", start.Last)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range r.Events {
			if e.Kind == timeline.FaultInjected {
				t.Errorf("a page of another origin injected a fault: %+v", e)
			}
		}
		if now := workerPid(c, id, port); now != pid {
			t.Errorf("worker on port %d: pid %d, was %d: killed by a page of another origin", port, now, pid)
		}
	})

	t.Run("kill worker", func(t *testing.T) {
		port, pid := firstWorker(t, c, id) // the one the button kills
		killedPort, killed, shown := killWorkerFromUI(t, b, client, id)
		if killedPort != port || killed != pid {
			t.Errorf("the button killed the worker on port %d (pid %d); want the lowest port's, %d (pid %d)", killedPort, killed, port, pid)
		}
		testutil.Eventually(t, time.Minute, "the supervisor running the new worker", func() (bool, string) {
			now := workerPid(c, id, port)
			return now == shown, fmt.Sprintf("pid %d on port %d, want %d", now, port, shown)
		})
	})
}

// killWorkerFromUI walks the workshop on the page at client's address: open
// the cluster page, then topology id's page (named wordcount), wait for a
// throughput chart with points, press "Kill worker", confirm, and wait for
// the worker's exit, relaunch and ready on the topology's timeline, after
// the fault. The API's events must tell the same story. It returns the port
// and pid of the worker killed (from the fault's reply in the notice) and the
// pid of the one ready after it (from the timeline), which must differ.
func killWorkerFromUI(t *testing.T, b *Browser, client *api.Client, id string) (port, killed, relaunched int) {
	t.Helper()
	ctx := context.Background()
	start, err := client.Events(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	b.Open(client.BaseURL() + "/")
	b.WaitText("main", "wordcount")
	b.Click(fmt.Sprintf(`a[href="#/topology/%s"]`, id))
	b.WaitJS("a throughput chart with data points", throughputChart)
	b.WaitText("#timeline-title", "Timeline of this topology")

	b.Click(`#faults button[data-fault="kill-worker"]`)
	b.WaitText("dialog#confirm[open] #confirm-text", "Kill a worker of wordcount")
	b.Confirm()
	b.WaitJS("the fault's reply in the notice", `/^Kill worker: worker of .* on port \d+ \(pid \d+\) killed/.test(document.getElementById('notice').textContent)`)
	notice := b.Eval(`document.getElementById('notice').textContent`)
	m := regexp.MustCompile(`on port (\d+) \(pid (\d+)\) killed`).FindStringSubmatch(notice)
	if m == nil {
		t.Fatalf("notice %q: want the port and pid of the worker killed", notice)
	}
	port, _ = strconv.Atoi(m[1])
	killed, _ = strconv.Atoi(m[2])

	b.WaitJS("the worker's exit on the timeline, after the fault", fmt.Sprintf(
		`%s.some(e => e.kind === 'worker-exited' && e.what.includes('on port %d'))`, eventsAfterKill, port))
	b.WaitJS("the worker relaunched and ready on the timeline, after its exit", fmt.Sprintf(`(evs => {
		const x = evs.findIndex(e => e.kind === 'worker-exited' && e.what.includes('on port %[2]d'));
		const after = evs.slice(x + 1);
		return x >= 0 && after.some(e => e.kind === 'worker-relaunched' && e.what.includes('on port %[2]d')) &&
			after.some(e => e.kind === 'worker-ready' && e.what.includes('ready on port %[2]d'));
	})(%[1]s)`, eventsAfterKill, port))
	ready := b.Eval(fmt.Sprintf(`%s.filter(e => e.kind === 'worker-ready').map(e => e.what).join('\n')`, eventsAfterKill))
	if m = readyPid.FindStringSubmatch(ready); m == nil {
		t.Fatalf("worker-ready on the timeline: %q, want its pid", ready)
	}
	relaunched, _ = strconv.Atoi(m[2])
	if relaunched == killed || m[1] != strconv.Itoa(port) {
		t.Errorf("the timeline shows the worker ready on port %s with pid %d; want a new process on port %d (the killed one was %d)", m[1], relaunched, port, killed)
	}

	// The API tells the same story.
	r, err := client.Events(ctx, id, start.Last)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	apiPid := 0
	for _, e := range r.Events {
		kinds = append(kinds, string(e.Kind))
		if m := readyPid.FindStringSubmatch(e.Details); e.Kind == timeline.WorkerReady && m != nil && e.Port == port {
			apiPid, _ = strconv.Atoi(m[2])
		}
	}
	if got := strings.Join(kinds, " "); !regexp.MustCompile(`fault-injected.* worker-exited.* worker-relaunched.* worker-ready`).MatchString(got) {
		t.Errorf("events of %s from the API: %s; want the fault, then the exit, the relaunch and ready", id, got)
	}
	if apiPid != relaunched {
		t.Errorf("the API's worker-ready says pid %d, the timeline %d", apiPid, relaunched)
	}
	return port, killed, relaunched
}
