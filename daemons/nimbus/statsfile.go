package nimbus

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/localstorm/localstorm/daemons/cluster"
)

// Storm resets an executor's counters with its worker, and its UI's
// all-time figures with nimbus. localstorm's totals must not go backwards
// (a cluster whose acked count shrinks looks like one that lost tuples): the
// history already carries a restarted worker's counts over; this file
// carries them over a restart of nimbus, or of the whole cluster on the same
// data dir. Nimbus saves what it last saw of every executor at each
// monitor round and when it stops, and starts from it.

// statsSaveEvery bounds how often the monitor saves (it may run every 100 ms).
const statsSaveEvery = 2 * time.Second

// statsFileName is the file under nimbus's local dir.
const statsFileName = "stats.json"

// savedExecutor is what a restarted nimbus needs to go on counting.
type savedExecutor struct {
	Start, End int
	// Offset is the counts of the executor's earlier incarnations; LastRaw
	// and LastUp the newest heartbeat's counts and uptime.
	Offset, LastRaw totals
	LastUp          int64
	StartedAt       time.Time
}

type savedStats struct {
	V          int                        `json:"v"`
	Topologies map[string][]savedExecutor `json:"topologies"`
}

func (s *statsStore) save() savedStats {
	out := savedStats{V: 1, Topologies: map[string][]savedExecutor{}}
	for id, hs := range s.topologies {
		for e, h := range hs {
			out.Topologies[id] = append(out.Topologies[id], savedExecutor{
				Start: e.Start, End: e.End, Offset: h.offset, LastRaw: h.lastRaw, LastUp: h.lastUp, StartedAt: h.startedAt,
			})
		}
	}
	return out
}

// restore starts the histories from saved, at now: each executor's next
// heartbeat either continues its incarnation (a worker that outlived nimbus)
// or starts a new one, whose counts add to the saved ones.
func (s *statsStore) restore(saved savedStats, now time.Time) {
	for id, es := range saved.Topologies {
		hs := map[cluster.ExecutorInfo]*executorHistory{}
		for _, e := range es {
			hs[cluster.ExecutorInfo{Start: e.Start, End: e.End}] = &executorHistory{
				samples: []sample{{at: now, t: e.Offset.add(e.LastRaw)}},
				offset:  e.Offset, lastRaw: e.LastRaw, lastUp: e.LastUp, startedAt: e.StartedAt,
			}
		}
		s.topologies[id] = hs
	}
}

// statsPath is {local}/nimbus/stats.json.
func (n *Nimbus) statsPath() string { return filepath.Join(filepath.Dir(n.inboxDir), statsFileName) }

// saveStats writes the totals nimbus last saw, atomically.
func (n *Nimbus) saveStats() error {
	n.infoMu.Lock()
	saved := n.stats.save()
	n.infoMu.Unlock()
	data, err := json.Marshal(saved)
	if err != nil {
		return err
	}
	path := n.statsPath()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("save statistics: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save statistics: %w", err)
	}
	return nil
}

// loadStats starts the statistics from the saved file, if there is one; an
// unreadable file is reported and set aside, and counting starts afresh.
func (n *Nimbus) loadStats() {
	path := n.statsPath()
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var saved savedStats
	if err := json.Unmarshal(data, &saved); err != nil || saved.V != 1 {
		n.log.Warn("statistics of the previous run unreadable; totals start from zero", "file", path, "err", err)
		_ = os.Rename(path, path+".unreadable")
		return
	}
	n.infoMu.Lock()
	n.stats.restore(saved, n.clock.Now())
	n.infoMu.Unlock()
}
