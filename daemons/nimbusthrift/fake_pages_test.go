package nimbusthrift

import (
	"context"
	"fmt"
	"io"
	"maps"
	"strings"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
)

// The fake nimbus's pages, code files and log config (issue 21's methods).

// fakeCodeDir is the fake's code directory of wc-1-100.
const fakeCodeDir = "/nimbus/stormdist/" + fakeID

// fakeCode is the content of the fake's stormjar.jar: more than one chunk.
var fakeCode = strings.Repeat("0123456789abcdef", downloadChunkBytes/16+100)

func (f *fakeBackend) ComponentPage(ctx context.Context, id, component, window string, sys bool) (*api.ComponentPage, error) {
	if err := f.known(id); err != nil {
		return nil, err
	}
	executed := int64(40)
	acked, failed := int64(9), int64(1)
	switch component {
	case "words":
		return &api.ComponentPage{
			ID: "words", Name: "wc", ComponentType: api.ComponentTypeSpout, Executors: 2, Tasks: 2, TopologyID: id,
			TopologyStatus: f.status, Window: window, Debug: true, SamplingPct: 10,
			SpoutSummary: []api.ComponentStats{{Window: "600", Emitted: 50, Transferred: 50, Acked: 9, Failed: 1, CompleteLatency: "2.500"}},
			OutputStats:  []api.OutputStats{{Stream: "default", Emitted: 50, Transferred: 50, Acked: &acked, Failed: &failed, CompleteLatency: "2.500"}},
			ExecutorStats: []api.ExecutorStats{{ID: "[1-1]", Host: "localhost", Port: 6700, UptimeSeconds: 6, Emitted: 50, Transferred: 50,
				Acked: 9, Failed: 1, CompleteLatency: "2.500"}},
			ComponentErrors: []api.ErrorDetail{{Time: 20000, ErrorHost: "localhost", ErrorPort: 6700, Error: "boom"}},
		}, nil
	case "count":
		return &api.ComponentPage{
			ID: "count", Name: "wc", ComponentType: api.ComponentTypeBolt, Executors: 1, Tasks: 2, TopologyID: id, TopologyStatus: f.status,
			BoltStats:   []api.ComponentStats{{Window: ":all-time", Emitted: 40, Transferred: 40, Acked: 40, Executed: &executed, ExecuteLatency: "0.750", ProcessLatency: "1.000", Capacity: "0.125"}},
			InputStats:  []api.InputStats{{Component: "words", Stream: "default", Executed: 40, Acked: 40, ExecuteLatency: "0.750", ProcessLatency: "1.000"}},
			OutputStats: []api.OutputStats{{Stream: "default", Emitted: 40, Transferred: 40}},
			ExecutorStats: []api.ExecutorStats{{ID: "[3-4]", Host: "localhost", Port: 6700, Emitted: 40, Executed: &executed,
				ExecuteLatency: "0.750", ProcessLatency: "1.000", Capacity: "0.125"}},
			ComponentErrors: []api.ErrorDetail{},
		}, nil
	}
	return nil, fmt.Errorf("%w: topology %s has no component %q", api.ErrNotFound, id, component)
}

func (f *fakeBackend) SupervisorPage(ctx context.Context, id, host string, sys bool) (*api.SupervisorPage, error) {
	if id != "sup-1" && host != "localhost" {
		return nil, fmt.Errorf("%w: no supervisor with id %q", api.ErrNotFound, id)
	}
	sups, _ := f.SupervisorSummary(ctx)
	return &api.SupervisorPage{Supervisors: sups.Supervisors, Workers: []api.WorkerSummary{{
		SupervisorID: "sup-1", Host: "localhost", Port: 6700, TopologyID: fakeID, TopologyName: "wc",
		ExecutorsTotal: 3, ComponentNumTasks: map[string]int{"words": 1, "count": 2}, UptimeSeconds: 6,
	}}}, nil
}

func (f *fakeBackend) ExecutorStreamStats(ctx context.Context, id string) ([]api.ExecutorStreamStats, error) {
	if err := f.known(id); err != nil {
		return nil, err
	}
	return []api.ExecutorStreamStats{
		{ID: "[1-1]", Component: "words", Spout: true, Windows: map[string]api.StreamCounts{
			"600": {Emitted: map[string]int64{"default": 50}, Transferred: map[string]int64{"default": 50},
				Acked: map[string]int64{"default": 9}, Failed: map[string]int64{"default": 1}, CompleteLatencyMs: 2.5},
		}},
		{ID: "[3-4]", Component: "count", Windows: map[string]api.StreamCounts{
			":all-time": {Emitted: map[string]int64{"default": 40}, Transferred: map[string]int64{"default": 40},
				Acked: map[string]int64{"default": 40}, Executed: map[string]int64{"default": 40, "__tick": 3},
				ProcessLatencyMs: 1, ExecuteLatencyMs: 0.75},
		}},
	}, nil
}

func (f *fakeBackend) OpenCodePath(ctx context.Context, path string) (io.ReadCloser, error) {
	if path != fakeCodeDir+"/stormjar.jar" {
		return nil, fmt.Errorf("%w: File %s does not exist", api.ErrNotFound, path)
	}
	return io.NopCloser(strings.NewReader(fakeCode)), nil
}

func (f *fakeBackend) LogConfig(ctx context.Context, id string) (*cluster.LogConfig, error) {
	if err := f.known(id); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return &cluster.LogConfig{NamedLoggers: maps.Clone(f.logLevels)}, nil
}

func (f *fakeBackend) SetLogConfig(ctx context.Context, id string, levels map[string]cluster.LogLevel) error {
	if err := f.known(id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.logLevels == nil {
		f.logLevels = map[string]cluster.LogLevel{}
	}
	for name, l := range levels {
		if l.Action == cluster.LogLevelRemove {
			delete(f.logLevels, name)
			continue
		}
		if l.ResetTimeoutSecs > 0 {
			l.ResetTimeoutEpochMillis = 1000 * int64(l.ResetTimeoutSecs)
		}
		f.logLevels[name] = l
	}
	return nil
}
