package localstate

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writerEnv makes the test binary act as a child writer process.
const writerEnv = "LOCALSTATE_TEST_WRITER_DIR"

// volatileEnv makes the child writer open its store with OpenVolatile.
const volatileEnv = "LOCALSTATE_TEST_VOLATILE"

func TestMain(m *testing.M) {
	if dir := os.Getenv(writerEnv); dir != "" {
		runWriter(dir)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// record is written by the child. Its payload is derived from Seq, so a
// reader can tell a whole value from a torn or mixed one.
type record struct {
	Seq     int    `json:"seq"`
	Payload string `json:"payload"`
}

func payloadFor(seq int) string {
	// ~64 KiB so that a write takes long enough to be killed in the middle.
	return strings.Repeat(fmt.Sprintf("%08d|", seq), 64<<10/9)
}

// runWriter continues the sequence found in dir and writes new versions
// until killed, saying "ready" once it has written one.
func runWriter(dir string) {
	open := Open
	if os.Getenv(volatileEnv) == "1" {
		open = OpenVolatile
	}
	s, err := open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var last record
	if _, err := s.Get("record", &last); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for seq := last.Seq + 1; ; seq++ {
		if err := s.Put("record", record{Seq: seq, Payload: payloadFor(seq)}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := s.Put("seq", seq); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if seq == last.Seq+1 {
			fmt.Println("ready")
		}
	}
}

// TestKilledWriterLeavesAWholeValue runs a writer process and SIGKILLs it,
// many times over the same directory: mostly the moment a version's temp
// file appears (inside a write), sometimes at a random moment. After each
// kill the store must read a whole value, never older than the last one read.
// It goes on until at least minMidWrite kills landed inside a write (seen by
// the leftovers they leave) and minKills were made, within a time bound. A
// volatile store (no fsyncs) must survive the same.
func TestKilledWriterLeavesAWholeValue(t *testing.T) {
	t.Run("durable", func(t *testing.T) { killWriterRepeatedly(t, false) })
	t.Run("volatile", func(t *testing.T) { killWriterRepeatedly(t, true) })
}

func killWriterRepeatedly(t *testing.T, volatile bool) {
	const minKills, minMidWrite = 60, 50
	dir := t.TempDir()
	deadline := time.Now().Add(3 * time.Minute) // generous: CI machines are shared
	lastSeq, interrupted, kills := 0, 0, 0
	for ; kills < minKills || interrupted < minMidWrite; kills++ {
		i := kills
		if time.Now().After(deadline) {
			t.Fatalf("within the time bound only %d kills, %d of them inside a write", i, interrupted)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), writerEnv+"="+dir, fmt.Sprintf("%s=%d", volatileEnv, map[bool]int{false: 0, true: 1}[volatile]))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan error, 1)
		go func() {
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err == nil && line != "ready\n" {
				err = fmt.Errorf("unexpected line %q", line)
			}
			ready <- err
		}()
		select {
		case err := <-ready:
			if err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("kill %d: writer did not start: %v; stderr: %s", i, err, stderr.String())
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("kill %d: writer not ready within 20s; stderr: %s", i, stderr.String())
		}
		if i%4 == 3 {
			// Let it write for a random while: 0–20 ms is a few writes.
			time.Sleep(time.Duration(rand.IntN(20_000)) * time.Microsecond)
		} else {
			waitForTempFile(t, dir)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("kill %d: writer ended by itself (%v); stderr: %s", i, err, stderr.String())
		}

		if leftovers(t, dir) {
			interrupted++
		}
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		var rec record
		found, err := s.Get("record", &rec)
		if err != nil || !found {
			t.Fatalf("kill %d: read after the kill: found=%v err=%v", i, found, err)
		}
		if rec.Payload != payloadFor(rec.Seq) {
			t.Fatalf("kill %d: record %d has a torn payload (%d bytes)", i, rec.Seq, len(rec.Payload))
		}
		if rec.Seq < lastSeq {
			t.Fatalf("kill %d: read record %d, older than %d read before", i, rec.Seq, lastSeq)
		}
		var seq int
		if found, err := s.Get("seq", &seq); err != nil || (found && seq != rec.Seq && seq != rec.Seq-1) {
			t.Fatalf("kill %d: seq %d does not belong with record %d (%v)", i, seq, rec.Seq, err)
		}
		lastSeq = rec.Seq
	}
	complete, err := completeVersions(dir)
	if err != nil || len(complete) > versionsKept+1 {
		t.Fatalf("after %d kills, %d complete versions (%v); cleanup should keep %d", kills, len(complete), err, versionsKept)
	}
	t.Logf("%d kills survived, %d of them inside a write; last record %d", kills, interrupted, lastSeq)
}

// waitForTempFile polls until a write's temp file exists in dir (the writer
// is between creating and renaming it), or a second passes.
func waitForTempFile(t *testing.T, dir string) {
	t.Helper()
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), tmpSuffix) {
				return
			}
		}
	}
}

// leftovers reports whether dir holds traces of an interrupted write: a
// temporary file, or a data file newer than the newest complete version.
func leftovers(t *testing.T, dir string) bool {
	t.Helper()
	complete, names := files(t, dir)
	for _, name := range names {
		if strings.HasSuffix(name, tmpSuffix) {
			return true
		}
	}
	all, err := allVersions(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(complete) == 0 || all[len(all)-1] > complete[len(complete)-1]
}
