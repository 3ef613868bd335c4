package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/localstorm/localstorm/daemons/zookeeper"
	"github.com/localstorm/localstorm/internal/zkguard"
	"github.com/localstorm/localstorm/internal/zktest"
)

// A state's session holds the anchor watch (package zkguard) from the moment
// Connect returns, through reconnections, and again after it fired; the
// handover that sets it costs a connection, not a session.
func TestSessionHoldsTheAnchorWatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	srv, err := zookeeper.Start(ctx, zookeeper.Options{FourLetterWords: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	// The whole tree as root, so that the anchor is inside it.
	opts := target{name: "embedded", addr: srv.Addr()}.options(t)
	opts.Root = "/"
	s := connectState(t, opts)
	session := fmt.Sprintf("0x%x", s.SessionID())
	holdsAnchor := func() bool {
		out, err := zktest.FourLetter(srv.Addr(), "wchc", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		// wchc: a session id line, then its watched paths, tab-indented.
		for block := range strings.SplitSeq(out, "\n0x") {
			block = strings.TrimPrefix(block, "0x")
			if strings.HasPrefix("0x"+block, session+"\n") && strings.Contains(block, "\t"+zkguard.AnchorPath+"\n") {
				return true
			}
		}
		return false
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(waitFor)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s", what, waitFor)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// The setWatches that carries it to the server may still be on its way.
	waitUntil("the session holds the anchor watch", holdsAnchor)
	if n := len(srv.Sessions()); n != 1 {
		t.Fatalf("%d sessions on the server, want the state's one", n)
	}

	// A reconnection keeps it (go-zookeeper re-sends it with setWatches).
	srv.DropConnections()
	waitUntil("reconnected with the anchor watch", holdsAnchor)

	// Fired, it is set again, and no callback hears of it.
	rec := newRecorder()
	s.Register(rec.record)
	if _, err := rawConn(t, srv.Addr()).Set(zkguard.AnchorPath, []byte("x"), -1); err != nil {
		t.Fatal(err)
	}
	waitUntil("the anchor watch set again after it fired", holdsAnchor)
	if now := fmt.Sprintf("0x%x", s.SessionID()); now != session {
		t.Fatalf("session changed from %s to %s", session, now)
	}
	// Events are delivered in order: one that follows the anchor's shows
	// whether the anchor's reached the callback.
	raw := rawConn(t, srv.Addr())
	if _, err := raw.Create("/later", nil, 0, openACL); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetData("/later", true); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Set("/later", []byte("y"), -1); err != nil {
		t.Fatal(err)
	}
	if ev := rec.next(t); ev.Path != "/later" {
		t.Fatalf("callback heard %+v before the event on /later: the anchor's reached it", ev)
	}
}
