package nimbusthrift

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"

	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
)

// wantNotAlive fails unless err is Storm's NotAliveException naming what.
func wantNotAlive(t *testing.T, call string, err error, what string) {
	t.Helper()
	var nae *storm.NotAliveException
	if !errors.As(err, &nae) || !strings.Contains(nae.Msg, what) {
		t.Errorf("%s: %v (%T), want NotAliveException naming %q", call, err, err, what)
	}
}

func TestTopologyPageInfo(t *testing.T) {
	_, s := serveFake(t, Options{})
	c := dial(t, s.Addr().String())
	ctx := context.Background()
	p, err := c.GetTopologyPageInfo(ctx, fakeID, "600", false)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != fakeID || p.GetName() != "wc" || p.GetStatus() != "ACTIVE" || p.GetStormVersion() != "test-1" {
		t.Errorf("page %+v", p)
	}
	if _, ok := p.IDToSpoutAggStats["words"]; !ok {
		t.Errorf("spouts %v, want words", p.IDToSpoutAggStats)
	}
	if b := p.IDToBoltAggStats["count"]; b == nil || b.GetType() != storm.ComponentType_BOLT || b.SpecificStats.Bolt == nil {
		t.Errorf("bolt count %+v", b)
	}
	_, err = c.GetTopologyPageInfo(ctx, "nope-1-1", "", false)
	wantNotAlive(t, "getTopologyPageInfo(nope-1-1)", err, "nope-1-1")
}

func TestComponentPageInfo(t *testing.T) {
	_, s := serveFake(t, Options{})
	c := dial(t, s.Addr().String())
	ctx := context.Background()
	sp, err := c.GetComponentPageInfo(ctx, fakeID, "words", "600", false)
	if err != nil {
		t.Fatal(err)
	}
	if sp.ComponentType != storm.ComponentType_SPOUT || sp.GetNumExecutors() != 2 || sp.GetTopologyName() != "wc" || !sp.DebugOptions.GetEnable() {
		t.Errorf("spout page %+v", sp)
	}
	w := sp.WindowToStats["600"]
	if w == nil || w.CommonStats.GetAcked() != 9 || w.SpecificStats.Spout.GetCompleteLatencyMs() != 2.5 {
		t.Errorf("spout window 600 %+v", w)
	}
	if o := sp.SidToOutputStats["default"]; o == nil || o.CommonStats.GetEmitted() != 50 || o.CommonStats.GetFailed() != 1 {
		t.Errorf("spout output default %+v", o)
	}
	if len(sp.ExecStats) != 1 || sp.ExecStats[0].ExecSummary.ExecutorInfo.TaskStart != 1 || sp.ExecStats[0].ExecSummary.Port != 6700 {
		t.Errorf("spout executors %+v", sp.ExecStats)
	}
	if len(sp.Errors) != 1 || sp.Errors[0].Error != "boom" || sp.Errors[0].ErrorTimeSecs != 20 {
		t.Errorf("spout errors %+v", sp.Errors)
	}

	b, err := c.GetComponentPageInfo(ctx, fakeID, "count", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if b.ComponentType != storm.ComponentType_BOLT {
		t.Errorf("bolt type %v", b.ComponentType)
	}
	if a := b.WindowToStats[":all-time"]; a == nil || a.SpecificStats.Bolt.GetExecuted() != 40 || a.SpecificStats.Bolt.GetCapacity() != 0.125 || a.SpecificStats.Bolt.GetProcessLatencyMs() != 1 {
		t.Errorf("bolt all-time %+v", a)
	}
	var in *storm.ComponentAggregateStats
	for g, a := range b.GsidToInputStats {
		if g.ComponentId == "words" && g.StreamId == "default" {
			in = a
		}
	}
	if in == nil || in.SpecificStats.Bolt.GetExecuted() != 40 || in.SpecificStats.Bolt.GetExecuteLatencyMs() != 0.75 {
		t.Errorf("bolt inputs %v", b.GsidToInputStats)
	}

	_, err = c.GetComponentPageInfo(ctx, "nope-1-1", "words", "", false)
	wantNotAlive(t, "getComponentPageInfo(nope-1-1)", err, "nope-1-1")
	_, err = c.GetComponentPageInfo(ctx, fakeID, "nothere", "", false)
	wantNotAlive(t, "getComponentPageInfo(nothere)", err, fakeID)
}

func TestSupervisorPageInfo(t *testing.T) {
	_, s := serveFake(t, Options{})
	c := dial(t, s.Addr().String())
	ctx := context.Background()
	for _, q := range [][2]string{{"sup-1", ""}, {"", "localhost"}} {
		p, err := c.GetSupervisorPageInfo(ctx, q[0], q[1], false)
		if err != nil {
			t.Fatalf("%v: %v", q, err)
		}
		if len(p.SupervisorSummaries) != 1 || p.SupervisorSummaries[0].SupervisorID != "sup-1" || p.SupervisorSummaries[0].NumWorkers != 4 {
			t.Errorf("%v: supervisors %+v", q, p.SupervisorSummaries)
		}
		if len(p.WorkerSummaries) != 1 || p.WorkerSummaries[0].GetPort() != 6700 || p.WorkerSummaries[0].ComponentToNumTasks["count"] != 2 {
			t.Errorf("%v: workers %+v", q, p.WorkerSummaries)
		}
	}
	_, err := c.GetSupervisorPageInfo(ctx, "sup-9", "", false)
	wantNotAlive(t, "getSupervisorPageInfo(sup-9)", err, "sup-9")
}

func TestTopologyInfoExecutorStats(t *testing.T) {
	_, s := serveFake(t, Options{})
	c := dial(t, s.Addr().String())
	info, err := c.GetTopologyInfo(context.Background(), fakeID)
	if err != nil {
		t.Fatal(err)
	}
	stats := map[string]*storm.ExecutorStats{}
	for _, e := range info.Executors {
		stats[e.ComponentID] = e.Stats
	}
	sp := stats["words"]
	if sp == nil || sp.Rate != 1 || sp.Emitted["600"]["default"] != 50 || sp.Specific.Spout == nil || sp.Specific.Spout.Acked["600"]["default"] != 9 ||
		sp.Specific.Spout.CompleteMsAvg["600"]["default"] != 2.5 {
		t.Fatalf("spout executor stats %+v", sp)
	}
	b := stats["count"]
	if b == nil || b.Specific.Bolt == nil || b.Transferred[":all-time"]["default"] != 40 {
		t.Fatalf("bolt executor stats %+v", b)
	}
	executed := b.Specific.Bolt.Executed[":all-time"]
	if len(executed) != 1 {
		t.Fatalf("bolt executed %v: want only words/default (a stream from no declared input is left out)", executed)
	}
	for g, n := range executed {
		if g.ComponentId != "words" || g.StreamId != "default" || n != 40 {
			t.Errorf("bolt executed %v=%d, want words/default=40", g, n)
		}
		if avg := b.Specific.Bolt.ExecuteMsAvg[":all-time"]; len(avg) != 1 {
			t.Errorf("execute_ms_avg %v", avg)
		}
	}
}

func TestFileDownload(t *testing.T) {
	_, s := serveFake(t, Options{})
	c := dial(t, s.Addr().String())
	ctx := context.Background()
	id, err := c.BeginFileDownload(ctx, fakeCodeDir+"/stormjar.jar")
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	chunks := 0
	for {
		b, err := c.DownloadChunk(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			break
		}
		chunks++
		got.Write(b)
	}
	if got.String() != fakeCode || chunks < 2 {
		t.Fatalf("downloaded %d bytes in %d chunks, want the %d bytes of the code in more than one", got.Len(), chunks, len(fakeCode))
	}
	// The session ended with its file; the connection still works.
	_, err = c.DownloadChunk(ctx, id)
	var tae thrift.TApplicationException
	if !errors.As(err, &tae) || !strings.Contains(err.Error(), "Could not find input stream for id "+id) {
		t.Errorf("downloadChunk after the end: %v", err)
	}
	if _, err := c.BeginFileDownload(ctx, "/nimbus/stormdist/nope-1-1/stormjar.jar"); err == nil || !strings.Contains(err.Error(), "nope-1-1") {
		t.Errorf("beginFileDownload of an unknown topology: %v", err)
	}
	if _, err := c.GetLeader(ctx); err != nil {
		t.Errorf("the connection broke after the errors: %v", err)
	}
}

func TestLogConfig(t *testing.T) {
	_, s := serveFake(t, Options{})
	c := dial(t, s.Addr().String())
	ctx := context.Background()
	debug, warn, timeout := "DEBUG", "WARN", int32(30)
	err := c.SetLogConfig(ctx, fakeID, &storm.LogConfig{NamedLoggerLevel: map[string]*storm.LogLevel{
		"ROOT":  {Action: storm.LogLevelAction_UPDATE, TargetLogLevel: &debug, ResetLogLevelTimeoutSecs: &timeout},
		"count": {Action: storm.LogLevelAction_UPDATE, TargetLogLevel: &warn},
	}})
	if err != nil {
		t.Fatal(err)
	}
	lc, err := c.GetLogConfig(ctx, fakeID)
	if err != nil {
		t.Fatal(err)
	}
	root := lc.NamedLoggerLevel["ROOT"]
	if root == nil || root.Action != storm.LogLevelAction_UPDATE || root.GetTargetLogLevel() != "DEBUG" || root.GetResetLogLevelTimeoutSecs() != 30 || root.GetResetLogLevelTimeoutEpoch() != 30000 {
		t.Errorf("ROOT %+v", root)
	}
	if cl := lc.NamedLoggerLevel["count"]; cl == nil || cl.GetTargetLogLevel() != "WARN" || cl.IsSetResetLogLevelTimeoutEpoch() {
		t.Errorf("count %+v", cl)
	}
	if err := c.SetLogConfig(ctx, fakeID, &storm.LogConfig{NamedLoggerLevel: map[string]*storm.LogLevel{"count": {Action: storm.LogLevelAction_REMOVE}}}); err != nil {
		t.Fatal(err)
	}
	if lc, err = c.GetLogConfig(ctx, fakeID); err != nil || lc.NamedLoggerLevel["count"] != nil || lc.NamedLoggerLevel["ROOT"] == nil {
		t.Errorf("after REMOVE count: %+v %v", lc, err)
	}
	for name, call := range map[string]func() error{
		"getLogConfig": func() error { _, err := c.GetLogConfig(ctx, "nope-1-1"); return err },
		"setLogConfig": func() error { return c.SetLogConfig(ctx, "nope-1-1", &storm.LogConfig{}) },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "nope-1-1") {
			t.Errorf("%s of an unknown id: %v", name, err)
		}
	}
}
