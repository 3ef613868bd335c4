package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/localstorm/localstorm/topology"
)

// The bridge is a small HTTP server in the test process through which the
// components testkit puts into a topology (mocked spouts, feeder spouts, the
// capturer) talk back to the test from the worker processes.

// bridgeKey is the topology config key holding the bridge's URL.
const bridgeKey = "localstorm.testkit.bridge"

type bridge struct {
	url string
	srv *http.Server
	l   net.Listener

	mu       sync.Mutex
	changed  chan struct{}                // closed and replaced on every change
	captured map[string][]capturedTuple   // topology → tuples
	mocks    map[string][]topology.Values // topology/component → tuples
	acked    map[string]map[int]bool      // topology/component → tuple index → acked
	failed   map[string]int               // topology/component → fail count
	feeders  map[string]*feederQueue      // feeder name → queue
	simNow   time.Duration                // simulated time since SimulatedEpoch
	simSeen  map[string]time.Duration     // workerKey → the simulated time it reached
}

type capturedTuple struct {
	Component string          `json:"component"`
	Stream    string          `json:"stream"`
	Values    json.RawMessage `json:"values"`
}

func newBridge() *bridge {
	b := &bridge{
		changed:  make(chan struct{}),
		captured: map[string][]capturedTuple{},
		mocks:    map[string][]topology.Values{},
		acked:    map[string]map[int]bool{},
		failed:   map[string]int{},
		feeders:  map[string]*feederQueue{},
		simSeen:  map[string]time.Duration{},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("testkit: bridge listen: %v", err))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /capture/{topology}", b.handleCapture)
	mux.HandleFunc("GET /mock/{topology}/{component}", b.handleMock)
	mux.HandleFunc("POST /mock/{topology}/{component}/{index}/{result}", b.handleMockResult)
	mux.HandleFunc("GET /feeder/{name}", b.handleFeederNext)
	mux.HandleFunc("POST /feeder/{name}/{id}/{result}", b.handleFeederResult)
	mux.HandleFunc("POST /feeder/{name}/open", b.handleFeederOpen)
	mux.HandleFunc("GET /time", b.handleTime)
	mux.HandleFunc("POST /time/seen", b.handleTimeSeen)
	b.l, b.url = l, "http://"+l.Addr().String()
	b.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.srv.Serve(l) }()
	return b
}

func (b *bridge) close() {
	if b != nil && b.srv != nil {
		_ = b.srv.Close()
	}
}

// notify wakes whoever waits for a change; call with b.mu held.
func (b *bridge) notify() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// longPoll calls ready with b.mu held until it returns true, waiting for
// the bridge's next change between calls, for at most d (0: no wait) or
// until the request ends. It tells whether ready returned true.
func (b *bridge) longPoll(r *http.Request, d time.Duration, ready func() bool) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		done, changed := ready(), b.changed
		b.mu.Unlock()
		if done {
			return true
		}
		if d <= 0 {
			return false
		}
		select {
		case <-changed:
		case <-r.Context().Done():
			return false
		case <-deadline.C:
			return false
		}
	}
}

// wait returns a channel closed at the next change.
func (b *bridge) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.changed
}

func (b *bridge) handleCapture(w http.ResponseWriter, r *http.Request) {
	var batch []capturedTuple
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<20)).Decode(&batch); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	topo := r.PathValue("topology")
	b.captured[topo] = append(b.captured[topo], batch...)
	b.notify()
	b.mu.Unlock()
}

func (b *bridge) setMocks(topo, component string, tuples []topology.Values) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mocks[topo+"/"+component] = tuples
	b.acked[topo+"/"+component] = map[int]bool{}
}

// handleMock gives a mocked spout task its share of the tuples: those whose
// index modulo tasks is its task index.
func (b *bridge) handleMock(w http.ResponseWriter, r *http.Request) {
	index, _ := strconv.Atoi(r.URL.Query().Get("index"))
	tasks, _ := strconv.Atoi(r.URL.Query().Get("tasks"))
	if tasks < 1 {
		tasks = 1
	}
	b.mu.Lock()
	all := b.mocks[r.PathValue("topology")+"/"+r.PathValue("component")]
	acked := b.acked[r.PathValue("topology")+"/"+r.PathValue("component")]
	type item struct {
		Index  int             `json:"index"`
		Values topology.Values `json:"values"`
	}
	var share []item
	for i, v := range all {
		if i%tasks == index && !acked[i] {
			share = append(share, item{i, v})
		}
	}
	b.mu.Unlock()
	_ = json.NewEncoder(w).Encode(share)
}

func (b *bridge) handleMockResult(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("topology") + "/" + r.PathValue("component")
	i, err := strconv.Atoi(r.PathValue("index"))
	if err != nil {
		http.Error(w, "bad index", http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.PathValue("result") == "ack" {
		if b.acked[key] == nil {
			b.acked[key] = map[int]bool{}
		}
		b.acked[key][i] = true
	} else {
		b.failed[key]++
	}
	b.notify()
}

// mockProgress tells how many tuples of each mocked spout of topo are acked.
func (b *bridge) mockProgress(topo string) (done bool, summary string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	done = true
	var parts []string
	for key, tuples := range b.mocks {
		comp, ok := strings.CutPrefix(key, topo+"/")
		if !ok {
			continue
		}
		n := len(b.acked[key])
		if n < len(tuples) {
			done = false
		}
		parts = append(parts, fmt.Sprintf("%s: %d of %d acked, %d failed and replayed", comp, n, len(tuples), b.failed[key]))
	}
	return done, strings.Join(parts, "; ")
}

// failedOf is how many times mocked tuples of spout failed (and were replayed).
func (b *bridge) failedOf(topo, spout string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failed[topo+"/"+spout]
}

func (b *bridge) capturedOf(topo string) []capturedTuple {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]capturedTuple(nil), b.captured[topo]...)
}

// postJSON is what components in the workers use to reach the bridge.
func postJSON(url string, v any) error {
	var body bytes.Buffer
	if v != nil {
		if err := json.NewEncoder(&body).Encode(v); err != nil {
			return err
		}
	}
	resp, err := bridgeClient.Post(url, "application/json", &body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("testkit bridge %s: %s", url, resp.Status)
	}
	return nil
}

func getJSON(url string, v any) error {
	return getJSONContext(context.Background(), url, v)
}

func getJSONContext(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := bridgeClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("testkit bridge %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

var bridgeClient = &http.Client{Timeout: 30 * time.Second}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
