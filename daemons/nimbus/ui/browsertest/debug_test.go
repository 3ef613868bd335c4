package browsertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/localstorm/localstorm/internal/testutil"
	"github.com/localstorm/localstorm/testkit"
)

// TestDebugButtons presses Storm UI's Debug (with a sampling percentage
// typed into its dialog) and Stop Debug on the topology page and on a
// component page, and sees each change the debug state the API reports.
func TestDebugButtons(t *testing.T) {
	c, id := startWordcount(t, testkit.Options{Supervisors: 1, Slots: 1})
	client := c.Client()
	ctx := context.Background()
	// debugged waits until the API reports the topology's and split's debug
	// state (and split's sampling percentage when on).
	debugged := func(topo, split bool, pct float64) {
		t.Helper()
		testutil.Eventually(t, 30*time.Second, fmt.Sprintf("debug of the topology %v, of split %v (%v%%)", topo, split, pct), func() (bool, string) {
			info, err := client.Topology(ctx, id)
			if err != nil {
				return false, err.Error()
			}
			page, err := client.ComponentPage(ctx, id, "split", "600", false)
			if err != nil {
				return false, err.Error()
			}
			return info.Debug == topo && page.Debug == split && (!split || page.SamplingPct == pct),
				fmt.Sprintf("topology %v, split %v (%v%%)", info.Debug, page.Debug, page.SamplingPct)
		})
	}
	debugged(false, false, 0)
	b := Start(t)

	b.Open(client.BaseURL() + "/#/topology/" + id)
	b.WaitText("p.debug", "Debug: off")
	b.Click(`p.debug button[data-debug-action="enable"]`)
	b.WaitText("dialog#confirm[open] #confirm-title", "Debug wordcount")
	b.Eval(`document.querySelector('dialog#confirm[open] input[name="spct"]').value = '25'`)
	b.Confirm()
	b.WaitText("p.debug", "Debug: on")
	debugged(true, true, 25) // split follows the topology's options

	b.Click(`a[href="#/topology/` + id + `/component/split"]`)
	b.WaitText("h1", "split")
	b.WaitText("p.debug", "Debug: on, sampling 25%")
	b.Click(`p.debug button[data-debug-action="disable"]`)
	b.WaitText("dialog#confirm[open] #confirm-title", "Stop debugging split")
	b.Confirm()
	b.WaitText("p.debug", "Debug: off")
	debugged(true, false, 0)

	b.Click(`#crumbs a[href="#/topology/` + id + `"]`)
	b.WaitText("p.debug", "Debug: on")
	b.Click(`p.debug button[data-debug-action="disable"]`)
	b.Confirm()
	b.WaitText("p.debug", "Debug: off")
	debugged(false, false, 0)
}
