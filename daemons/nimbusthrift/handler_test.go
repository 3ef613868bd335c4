package nimbusthrift

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"

	"github.com/localstorm/localstorm/api"

	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
)

func TestReads(t *testing.T) {
	_, s := serveFake(t, Options{})
	c := dial(t, s.Addr().String())
	ctx := context.Background()

	info, err := c.GetClusterInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Supervisors) != 1 || info.Supervisors[0].SupervisorID != "sup-1" || info.Supervisors[0].NumWorkers != 4 || info.Supervisors[0].NumUsedWorkers != 1 {
		t.Errorf("supervisors %+v", info.Supervisors)
	}
	if len(info.Topologies) != 1 || info.Topologies[0].ID != fakeID || info.Topologies[0].NumTasks != 5 || info.Topologies[0].NumExecutors != 4 || info.Topologies[0].Status != "ACTIVE" {
		t.Errorf("topologies %+v", info.Topologies)
	}
	if len(info.Nimbuses) != 1 || !info.Nimbuses[0].IsLeader || int(info.Nimbuses[0].Port) != s.Port() {
		t.Errorf("nimbuses %+v, want the leader at the Thrift port %d", info.Nimbuses, s.Port())
	}

	leader, err := c.GetLeader(ctx)
	if err != nil || leader.Host != "nimbus-host" || int(leader.Port) != s.Port() || leader.UptimeSecs != 12 {
		t.Errorf("getLeader %+v %v", leader, err)
	}

	conf, err := c.GetNimbusConf(ctx)
	var m map[string]any
	if err != nil || json.Unmarshal([]byte(conf), &m) != nil || m["storm.zookeeper.root"] != "/storm" {
		t.Errorf("getNimbusConf %q %v", conf, err)
	}
	tconf, err := c.GetTopologyConf(ctx, fakeID)
	if err != nil || !strings.Contains(tconf, `"topology.name":"wc"`) {
		t.Errorf("getTopologyConf %q %v", tconf, err)
	}

	sums, err := c.GetTopologySummaries(ctx)
	if err != nil || len(sums) != 1 || sums[0].Name != "wc" {
		t.Errorf("getTopologySummaries %+v %v", sums, err)
	}
	if sum, err := c.GetTopologySummaryByName(ctx, "wc"); err != nil || sum.ID != fakeID || sum.GetStormVersion() != "test-1" {
		t.Errorf("getTopologySummaryByName %+v %v", sum, err)
	}
	if sum, err := c.GetTopologySummary(ctx, fakeID); err != nil || sum.Name != "wc" {
		t.Errorf("getTopologySummary %+v %v", sum, err)
	}

	for name, want := range map[string]bool{"wc": false, "other": true, "": false, "a/b": false} {
		if ok, err := c.IsTopologyNameAllowed(ctx, name); err != nil || ok != want {
			t.Errorf("isTopologyNameAllowed(%q) = %v %v, want %v", name, ok, err, want)
		}
	}
}

func TestTopologyInfo(t *testing.T) {
	_, s := serveFake(t, Options{})
	c := dial(t, s.Addr().String())
	ctx := context.Background()
	info, err := c.GetTopologyInfo(ctx, fakeID)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "wc" || info.Status != "ACTIVE" || info.UptimeSecs != 7 || len(info.Executors) != 2 {
		t.Fatalf("info %+v", info)
	}
	e := info.Executors[1]
	if e.ComponentID != "count" || e.ExecutorInfo.TaskStart != 3 || e.ExecutorInfo.TaskEnd != 4 || e.Port != 6700 || e.Host != "localhost" {
		t.Errorf("executor %+v", e)
	}
	if len(info.Errors["count"]) != 2 || info.Errors["count"][0].Error != "newer" || info.Errors["count"][0].ErrorTimeSecs != 20 {
		t.Errorf("errors %+v", info.Errors)
	}
	if errs, ok := info.Errors["words"]; !ok || len(errs) != 0 {
		t.Errorf("a component without errors must have an empty list: %+v", info.Errors)
	}
	for choice, want := range map[storm.NumErrorsChoice]int{storm.NumErrorsChoice_ALL: 2, storm.NumErrorsChoice_ONE: 1, storm.NumErrorsChoice_NONE: 0} {
		info, err := c.GetTopologyInfoWithOpts(ctx, fakeID, &storm.GetInfoOptions{NumErrChoice: &choice})
		if err != nil || len(info.Errors["count"]) != want {
			t.Errorf("%v: %d errors (%v), want %d", choice, len(info.Errors["count"]), err, want)
		}
	}
	if byName, err := c.GetTopologyInfoByName(ctx, "wc"); err != nil || byName.ID != fakeID {
		t.Errorf("getTopologyInfoByName %+v %v", byName, err)
	}
	one := storm.NumErrorsChoice_ONE
	if byName, err := c.GetTopologyInfoByNameWithOpts(ctx, "wc", &storm.GetInfoOptions{NumErrChoice: &one}); err != nil || len(byName.Errors["count"]) != 1 {
		t.Errorf("getTopologyInfoByNameWithOpts %+v %v", byName, err)
	}
}

func TestTopology(t *testing.T) {
	_, s := serveFake(t, Options{})
	c := dial(t, s.Addr().String())
	ctx := context.Background()
	user, err := c.GetUserTopology(ctx, fakeID)
	if err != nil {
		t.Fatal(err)
	}
	if len(user.Spouts) != 1 || len(user.Bolts) != 1 {
		t.Fatalf("user topology %+v", user)
	}
	spout := user.Spouts["words"]
	if spout.SpoutObject.JavaObject == nil || spout.SpoutObject.JavaObject.FullClassName != GoComponentClass || spout.Common.GetParallelismHint() != 2 {
		t.Errorf("spout %+v", spout)
	}
	bolt := user.Bolts["count"]
	if sh := bolt.BoltObject.Shell; sh == nil || sh.ExecutionCommand != "python3" || sh.Script != "count.py" {
		t.Errorf("bolt object %+v, want the shell command", bolt.BoltObject)
	}
	if len(bolt.Common.Inputs) != 1 {
		t.Fatalf("inputs %+v", bolt.Common.Inputs)
	}
	for gsid, g := range bolt.Common.Inputs {
		if gsid.ComponentId != "words" || gsid.StreamId != "default" || len(g.Fields) != 1 || g.Fields[0] != "word" {
			t.Errorf("input %+v %+v", gsid, g)
		}
	}
	if got := bolt.Common.Streams["default"].OutputFields; len(got) != 2 {
		t.Errorf("streams %+v", bolt.Common.Streams)
	}
	var jc map[string]any
	if err := json.Unmarshal([]byte(bolt.Common.GetJSONConf()), &jc); err != nil || jc["topology.tasks"] != 2.0 || jc["topology.debug"] != true {
		t.Errorf("json_conf %q %v", bolt.Common.GetJSONConf(), err)
	}
	full, err := c.GetTopology(ctx, fakeID)
	if err != nil {
		t.Fatal(err)
	}
	if acker := full.Bolts["__acker"]; acker == nil || acker.Common.GetParallelismHint() != 1 || len(acker.Common.Inputs) != 3 {
		t.Errorf("getTopology: acker %+v", acker)
	}
}

// Every call naming a topology that is not there gets Storm's
// NotAliveException, worded as Storm's nimbus words it.
func TestNotAlive(t *testing.T) {
	_, s := serveFake(t, Options{})
	c := dial(t, s.Addr().String())
	ctx := context.Background()
	byID := map[string]func() error{
		"getTopologyConf":    func() error { _, err := c.GetTopologyConf(ctx, "nope-1-1"); return err },
		"getTopology":        func() error { _, err := c.GetTopology(ctx, "nope-1-1"); return err },
		"getUserTopology":    func() error { _, err := c.GetUserTopology(ctx, "nope-1-1"); return err },
		"getTopologyInfo":    func() error { _, err := c.GetTopologyInfo(ctx, "nope-1-1"); return err },
		"getTopologySummary": func() error { _, err := c.GetTopologySummary(ctx, "nope-1-1"); return err },
	}
	for name, call := range byID {
		var nae *storm.NotAliveException
		if err := call(); !errors.As(err, &nae) || nae.Msg != "nope-1-1" {
			t.Errorf("%s: %v (%T), want NotAliveException(nope-1-1)", name, err, err)
		}
	}
	byName := map[string]func() error{
		"killTopology":             func() error { return c.KillTopology(ctx, "nope") },
		"killTopologyWithOpts":     func() error { return c.KillTopologyWithOpts(ctx, "nope", &storm.KillOptions{}) },
		"activate":                 func() error { return c.Activate(ctx, "nope") },
		"deactivate":               func() error { return c.Deactivate(ctx, "nope") },
		"rebalance":                func() error { return c.Rebalance(ctx, "nope", &storm.RebalanceOptions{}) },
		"getTopologyInfoByName":    func() error { _, err := c.GetTopologyInfoByName(ctx, "nope"); return err },
		"getTopologySummaryByName": func() error { _, err := c.GetTopologySummaryByName(ctx, "nope"); return err },
	}
	for name, call := range byName {
		var nae *storm.NotAliveException
		if err := call(); !errors.As(err, &nae) || nae.Msg != "nope is not alive" {
			t.Errorf("%s: %v (%T), want NotAliveException(nope is not alive)", name, err, err)
		}
	}
}

func TestActions(t *testing.T) {
	f, s := serveFake(t, Options{})
	c := dial(t, s.Addr().String())
	ctx := context.Background()
	wait := int32(3)
	workers := int32(2)
	steps := []struct {
		call func() error
		want string
	}{
		{func() error { return c.Deactivate(ctx, "wc") }, "deactivate " + fakeID},
		{func() error { return c.Activate(ctx, "wc") }, "activate " + fakeID},
		{func() error {
			return c.Rebalance(ctx, "wc", &storm.RebalanceOptions{WaitSecs: &wait, NumWorkers: &workers, NumExecutors: map[string]int32{"count": 3}})
		}, "rebalance " + fakeID + " 3 2 map[count:3]"},
		{func() error { return c.Rebalance(ctx, "wc", nil) }, "rebalance " + fakeID + " -1 0 map[]"},
		// Storm's `rebalance -t`: topology_conf_overrides reaches nimbus as keys.
		{func() error {
			return c.Rebalance(ctx, "wc", &storm.RebalanceOptions{TopologyConfOverrides: thrift.StringPtr(`{"topology.max.spout.pending": 7, "wc.mode": "fast"}`)})
		}, "rebalance " + fakeID + " -1 0 map[] conf map[topology.max.spout.pending:7 wc.mode:fast]"},
		{func() error {
			return c.Rebalance(ctx, "wc", &storm.RebalanceOptions{TopologyConfOverrides: thrift.StringPtr("")})
		}, "rebalance " + fakeID + " -1 0 map[]"},
		{func() error { return c.KillTopology(ctx, "wc") }, "kill " + fakeID + " -1"},
		{func() error { return c.KillTopologyWithOpts(ctx, "wc", &storm.KillOptions{WaitSecs: &wait}) }, "kill " + fakeID + " 3"},
	}
	for _, st := range steps {
		if err := st.call(); err != nil {
			t.Fatalf("%s: %v", st.want, err)
		}
		if got := f.lastAction(); got != st.want {
			t.Errorf("nimbus was asked %q, want %q", got, st.want)
		}
	}
	// Storm's rebalance checks, in Storm's words.
	var ite *storm.InvalidTopologyException
	err := c.Rebalance(ctx, "wc", &storm.RebalanceOptions{NumExecutors: map[string]int32{"nosuch": 1}})
	if !errors.As(err, &ite) || ite.Msg != "Invalid component nosuch for topology wc, valid values are count,words" {
		t.Errorf("unknown component: %v", err)
	}
	err = c.Rebalance(ctx, "wc", &storm.RebalanceOptions{NumExecutors: map[string]int32{"count": 0}})
	if !errors.As(err, &ite) || ite.Msg != "Number of executors must be greater than 0" {
		t.Errorf("zero executors: %v", err)
	}
	for _, bad := range []string{"topology.debug=true", "[1]", "null"} {
		err = c.Rebalance(ctx, "wc", &storm.RebalanceOptions{TopologyConfOverrides: thrift.StringPtr(bad)})
		if !errors.As(err, &ite) || !strings.Contains(ite.Msg, "topology_conf_overrides must be a JSON object") {
			t.Errorf("topology_conf_overrides %q: %v", bad, err)
		}
	}
	// nimbus's refusal of a key (api.ErrInvalid) is an InvalidTopologyException.
	f.rebalanceErr = fmt.Errorf("rebalance: %w: topology conf: a rebalance cannot change topology.name", api.ErrInvalid)
	err = c.Rebalance(ctx, "wc", &storm.RebalanceOptions{TopologyConfOverrides: thrift.StringPtr(`{"topology.name": "x"}`)})
	if !errors.As(err, &ite) || !strings.Contains(ite.Msg, "cannot change topology.name") {
		t.Errorf("refused key: %v", err)
	}
	f.rebalanceErr = nil
	// A transition the topology's state refuses is an application error,
	// as Storm's "No transition for event", and the connection goes on.
	f.status = "KILLED"
	var tae thrift.TApplicationException
	if err := c.Activate(ctx, "wc"); !errors.As(err, &tae) || tae.TypeId() != thrift.INTERNAL_ERROR || !strings.Contains(err.Error(), "KILLED") {
		t.Errorf("activate a killed topology: %v", err)
	}
	if _, err := c.GetClusterInfo(ctx); err != nil {
		t.Errorf("after an application error: %v", err)
	}
}

func TestUpload(t *testing.T) {
	spool := t.TempDir()
	_, s := serveFake(t, Options{SpoolDir: spool, MaxUploadBytes: 10})
	c := dial(t, s.Addr().String())
	ctx := context.Background()
	loc, err := c.BeginFileUpload(ctx)
	if err != nil || !isUploadLocation(loc) {
		t.Fatalf("beginFileUpload %q %v", loc, err)
	}
	for _, chunk := range []string{"hello ", "jar"} {
		if err := c.UploadChunk(ctx, loc, []byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.FinishFileUpload(ctx, loc); err != nil {
		t.Fatal(err)
	}
	if err := c.UploadChunk(ctx, loc, []byte("more")); err == nil {
		t.Error("a chunk after finishFileUpload was taken")
	}
	u, err := s.handler.takeUpload(loc)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(u.f.Name())
	want := sha256.Sum256([]byte("hello jar"))
	if string(got) != "hello jar" || u.size != 9 || u.sha256Hex() != hex.EncodeToString(want[:]) {
		t.Errorf("uploaded %q (%d bytes)", got, u.size)
	}
	u.remove()

	// Over the bound: refused and dropped.
	loc, _ = c.BeginFileUpload(ctx)
	if err := c.UploadChunk(ctx, loc, []byte("0123456789A")); err == nil || !strings.Contains(err.Error(), "nimbus.max.upload.bytes") {
		t.Errorf("oversized upload: %v", err)
	}
	if err := c.FinishFileUpload(ctx, loc); err == nil {
		t.Error("a dropped upload could be finished")
	}
	if err := c.UploadChunk(ctx, "/no/such/stormjar-x.jar", []byte("x")); err == nil {
		t.Error("a chunk for an unknown location was taken")
	}
	loc, _ = c.BeginFileUpload(ctx)
	_ = c.UploadChunk(ctx, loc, []byte("x"))
	// Close drops what is in progress.
	s.Close()
	if left, _ := os.ReadDir(spool); len(left) != 0 {
		t.Errorf("uploads left in the spool dir after Close: %v", left)
	}
}

// writeCall writes one framed binary request for method with no arguments.
func writeCall(t *testing.T, conn net.Conn, method string, seq int32) {
	t.Helper()
	var body []byte
	body = binary.BigEndian.AppendUint32(body, uint32(thrift.VERSION_1)|uint32(thrift.CALL))
	body = binary.BigEndian.AppendUint32(body, uint32(len(method)))
	body = append(body, method...)
	body = binary.BigEndian.AppendUint32(body, uint32(seq))
	body = append(body, byte(thrift.STOP)) // empty args struct
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	if _, err := conn.Write(append(frame, body...)); err != nil {
		t.Fatal(err)
	}
}

// readReply reads one framed reply and returns its message type and name.
func readReply(t *testing.T, conn net.Conn) (thrift.TMessageType, string, []byte) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var size [4]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(conn, body); err != nil {
		t.Fatal(err)
	}
	nameLen := binary.BigEndian.Uint32(body[4:8])
	return thrift.TMessageType(body[3]), string(body[8 : 8+nameLen]), body
}

// An unknown method gets TApplicationException UNKNOWN_METHOD, and the same
// connection answers the next call.
func TestUnknownMethod(t *testing.T) {
	_, s := serveFake(t, Options{})
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	writeCall(t, conn, "getOwnerResourceSummaries", 1)
	typ, name, body := readReply(t, conn)
	if typ != thrift.EXCEPTION || name != "getOwnerResourceSummaries" {
		t.Fatalf("reply %v %q", typ, name)
	}
	proto := thrift.NewTBinaryProtocolConf(thrift.NewTMemoryBufferLen(len(body)), nil)
	proto.Transport().Write(body)
	proto.ReadMessageBegin(context.Background())
	exc := thrift.NewTApplicationException(0, "")
	if err := exc.Read(context.Background(), proto); err != nil {
		t.Fatal(err)
	}
	if exc.TypeId() != thrift.UNKNOWN_METHOD {
		t.Errorf("exception type %d (%v), want UNKNOWN_METHOD", exc.TypeId(), exc)
	}
	writeCall(t, conn, "getLeader", 2)
	if typ, name, _ := readReply(t, conn); typ != thrift.REPLY || name != "getLeader" {
		t.Errorf("after the unknown method: %v %q", typ, name)
	}
}

// A frame over the bound closes its connection only: the server goes on.
func TestFrameTooLarge(t *testing.T) {
	_, s := serveFake(t, Options{MaxFrameSize: 1024})
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	frame := binary.BigEndian.AppendUint32(nil, 1<<30)
	conn.Write(append(frame, make([]byte, 64)...))
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Error("the connection that sent a 1 GiB frame is still open")
	}
	c := dial(t, s.Addr().String())
	if _, err := c.GetClusterInfo(context.Background()); err != nil {
		t.Errorf("the server after an oversized frame: %v", err)
	}
	// A large but allowed upload chunk still fits a bigger bound.
	big := strings.Repeat("x", 2000)
	if _, err := c.GetTopologySummaryByName(context.Background(), big); err == nil {
		t.Error("a 2000-byte request went through a 1024-byte bound")
	}
}
