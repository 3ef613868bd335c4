package browsertest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/examples/wordcount"
	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// startWordcount starts a test cluster with opts and runs the word count on
// it, active with all its executors up.
func startWordcount(t *testing.T, opts testkit.Options) (*testkit.Cluster, string) {
	t.Helper()
	c := testkit.Start(t, opts)
	// A bounded pending count keeps the flat-out spout modest on a loaded machine.
	id := c.Submit(t, "wordcount", wordcount.Builder(), map[string]any{"topology.max.spout.pending": 20})
	c.WaitTopologyActive(t, id)
	return c, id
}

// known counts the points of a series that are known and above min.
func known(p api.Points, min float32) int {
	k := 0
	for _, v := range p {
		if !math.IsNaN(float64(v)) && v > min {
			k++
		}
	}
	return k
}

// throughputChart is JavaScript that is true when the topology page's
// throughput chart draws the acked rate with points.
const throughputChart = `[...document.querySelectorAll('figure.chart')].some(f =>
	f.querySelector('figcaption').textContent.startsWith('Throughput') &&
	[...f.querySelectorAll('path.line')].some(p => +p.dataset.points > 1 && (p.getAttribute('d').match(/L/g) || []).length > 0))`

// TestLiveUI runs the word count and checks, through the API and then in
// Chromium, the live history, its charts, the rate on the graph's edges, a
// component page and the ZooKeeper explorer reading the assignment.
func TestLiveUI(t *testing.T) {
	c, id := startWordcount(t, testkit.Options{Supervisors: 1, Slots: 2})
	client := c.Client()
	ctx := context.Background()

	t.Run("history API", func(t *testing.T) {
		var h *api.History
		testutil.Eventually(t, time.Minute, "two samples with acks", func() (bool, string) {
			var err error
			if h, err = client.History(ctx, id, "", 0); err != nil {
				return false, err.Error()
			}
			return known(h.Topology["acked"], 0) >= 2, fmt.Sprintf("%d samples, acked %v", len(h.Times), h.Topology["acked"])
		})
		if len(h.Components) < 3 || known(h.Components["split"]["emitted"], 0) == 0 || known(h.Components["split"]["capacity"], -1) == 0 {
			t.Errorf("components %v: want split's emitted rate and capacity", h.Components)
		}
		if known(h.Topology["completeLatencyMs"], 0) == 0 {
			t.Errorf("complete latency %v: want some", h.Topology["completeLatencyMs"])
		}
		rss := 0
		for _, w := range h.Workers {
			rss += known(w["rssBytes"], 1<<20)
		}
		if len(h.Workers) == 0 || rss == 0 {
			t.Errorf("workers %v: want each worker's RSS", h.Workers)
		}
		edge := false
		for _, s := range h.Streams {
			edge = edge || (s.From == "sentences" && s.Stream == "default" && s.PerSec > 0)
		}
		if !edge {
			t.Errorf("streams %+v: want the rate of sentences → split", h.Streams)
		}
		ch, err := client.History(ctx, id, "count", 3)
		if err != nil || len(ch.Times) > 3 || len(ch.Components) != 1 || ch.Components["count"] == nil || len(ch.Topology) != 0 {
			t.Errorf("history of count, 3 s: %v, %+v", err, ch)
		}
		if _, err := client.History(ctx, id, "nosuch", 0); !api.IsNotFound(err) {
			t.Errorf("history of a missing component: %v, want not found", err)
		}
		resp, err := http.Get(client.BaseURL() + api.HistoryPath(id, "") + "?secs=-1")
		if err != nil || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("secs=-1: %v %v, want 400", resp.Status, err)
		}
		resp.Body.Close()
	})

	t.Run("zk API", func(t *testing.T) {
		z, err := client.ZNode(ctx, "/assignments/"+id)
		if err != nil || z.Kind != "assignment" || !strings.Contains(string(z.Record), `"executors"`) || z.Stat.Version < 0 {
			t.Fatalf("znode /assignments/%s: %v %+v", id, err, z)
		}
		root, err := client.ZNode(ctx, "/")
		if err != nil || !containsAll(root.Children, "assignments", "storms", "supervisors", "workerbeats") {
			t.Fatalf("znode /: %v %+v", err, root)
		}
		if _, err := client.ZNode(ctx, "assignments"); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("a relative path: %v, want invalid", err)
		}
		resp, err := http.Post(client.BaseURL()+api.PathZK+"?path=/", "application/json", nil)
		if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /api/v1/zk: %v %v, want 405 (read-only)", resp.Status, err)
		}
		resp.Body.Close()
	})

	t.Run("browser", func(t *testing.T) {
		b := Start(t)
		b.Open(client.BaseURL() + "/")
		b.WaitText("main", "wordcount")
		b.Click(fmt.Sprintf(`a[href="#/topology/%s"]`, id))
		b.WaitJS("a throughput chart with data points", throughputChart)
		b.WaitJS("a rate on the edge sentences → split", `[...document.querySelectorAll('.graph .edge text.rate')].some(t => /^[\d.]+[kM]?\/s$/.test(t.textContent))`)
		b.WaitJS("worker memory charted", `[...document.querySelectorAll('figure.chart')].some(f =>
			f.querySelector('figcaption').textContent.startsWith('Worker memory') && [...f.querySelectorAll('path.line')].some(p => +p.dataset.points > 1))`)

		// An action through its confirmation dialog.
		b.ClickText(".actions button", "Deactivate")
		b.Confirm()
		b.WaitText(".cards .badge", "INACTIVE")
		b.ClickText(".actions button", "Activate")
		b.Confirm()
		b.WaitText(".cards .badge", "ACTIVE")

		b.Click(fmt.Sprintf(`a[href="#/topology/%s/component/split"]`, id))
		b.WaitText("h1", "split")
		b.WaitJS("the component's capacity chart with data points", `[...document.querySelectorAll('figure.chart')].some(f =>
			f.querySelector('figcaption').textContent === 'Capacity' && +f.querySelector('path.line').dataset.points > 1)`)
		b.WaitText("main", "Output stats")

		b.Click("#zk-link")
		b.Click(`a[href="#/zk/assignments"]`)
		b.Click(fmt.Sprintf(`a[href="#/zk/assignments/%s"]`, id))
		b.WaitText("main", "assignment (decoded)")
		b.WaitJS("the znode's path in the breadcrumb", `[...document.querySelectorAll('#crumbs li')].map(l => l.textContent).join('/') === 'Cluster/ZooKeeper/assignments/`+id+`'`)
		b.WaitJS("the assignment's executors in a table", `[...document.querySelectorAll('main table tbody tr')].filter(r => /^\[\d+-\d+\]$/.test(r.cells[0].textContent) && /^\d+$/.test(r.cells[2].textContent)).length >= 5`)
	})
}

func containsAll(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}
