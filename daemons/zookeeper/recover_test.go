package zookeeper

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/internal/testutil"
)

// zeroedRecord is a record of n body bytes appended at offset size whose
// sectors from the first boundary inside it were never written (zeros).
func zeroedRecord(size int64, n int) []byte {
	rec := make([]byte, recordHeader+n)
	binary.BigEndian.PutUint32(rec, uint32(n))
	binary.BigEndian.PutUint32(rec[4:], 0xdeadbeef)
	boundary := (size + recordHeader + sectorSize) / sectorSize * sectorSize
	for i := recordHeader; int64(i)+size < boundary; i++ {
		rec[i] = 0x5a
	}
	return rec
}

// twoLogs writes /a/0../a/9 into one log and, after a restart, /b/0../b/9
// into a second, and returns the data dir and the two logs' paths.
func twoLogs(t *testing.T) (dir, older, newer string) {
	t.Helper()
	dir = t.TempDir()
	s := startServer(t, Options{DataDir: dir})
	create := func(s *Server, prefix string) {
		c := connect(t, s.Addr())
		defer c.Close()
		if _, err := c.Create(prefix, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			if _, err := c.Create(fmt.Sprintf("%s/%d", prefix, i), []byte(strings.Repeat("x", 40)), 0, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatal(err)
			}
		}
	}
	create(s, "/a")
	s = restart(t, s, Options{})
	create(s, "/b")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	logs, _ := dataFiles(dir, "log")
	if len(logs) != 2 {
		t.Fatalf("%d logs, want 2", len(logs))
	}
	return dir, filepath.Join(dir, logName(logs[0])), filepath.Join(dir, logName(logs[1]))
}

// recordOffsets lists where the records of a log start.
func recordOffsets(t *testing.T, path string) []int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for off := int64(0); off+recordHeader <= int64(len(data)); off += recordHeader + int64(binary.BigEndian.Uint32(data[off:])) {
		out = append(out, off)
	}
	return out
}

// dirContents reads every file of dir, by name.
func dirContents(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = data
	}
	return out
}

// startFails starts a server on dir, which must fail with a CorruptionError
// naming file at offset, and must leave every file of dir as it was.
func startFails(t *testing.T, dir, file string, offset int64) {
	t.Helper()
	before := dirContents(t, dir)
	s, err := Start(context.Background(), Options{DataDir: dir, Logger: testutil.Logger(t, slog.LevelDebug)})
	if err == nil {
		s.Close()
		t.Fatal("the server started on a corrupt data dir")
	}
	t.Logf("start: %v", err)
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.File != file || ce.Offset != offset {
		t.Fatalf("start error = %v, want a corruption of %s at offset %d", err, file, offset)
	}
	if want := fmt.Sprintf("%s is corrupt at offset %d", file, offset); offset >= 0 && !strings.Contains(err.Error(), want) {
		t.Errorf("start error %q does not say %q", err, want)
	}
	after := dirContents(t, dir)
	if len(after) != len(before) {
		t.Errorf("files before the failed start %d, after %d", len(before), len(after))
	}
	for name, data := range before {
		if !bytes.Equal(after[name], data) {
			t.Errorf("%s changed by a start that failed", name)
		}
	}
}

// rewrite changes a file in place with edit.
func rewrite(t *testing.T, path string, edit func([]byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, edit(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Damage that is not a torn tail of the newest log stops the start, names
// the file and offset, and touches nothing: ZooKeeper's "CRC check failed".
func TestCorruptLogRefusesToStart(t *testing.T) {
	for _, tc := range []struct {
		name   string
		newest bool
		// edit damages the log whose records start at offs; it returns the
		// offset of the damaged record.
		edit func(data []byte, offs []int64) ([]byte, int64)
	}{
		{"a byte flipped in the middle of the older log", false, func(data []byte, offs []int64) ([]byte, int64) {
			off := offs[len(offs)/2]
			data[off+recordHeader+5] ^= 0x10
			return data, off
		}},
		{"a byte flipped in the middle of the newest log", true, func(data []byte, offs []int64) ([]byte, int64) {
			off := offs[len(offs)/2]
			data[off+recordHeader+5] ^= 0x01
			return data, off
		}},
		{"a length in the middle of the newest log running past its end", true, func(data []byte, offs []int64) ([]byte, int64) {
			off := offs[len(offs)/2]
			binary.BigEndian.PutUint32(data[off:], uint32(len(data)))
			return data, off
		}},
		{"a zero-filled record in the middle of the newest log", true, func(data []byte, offs []int64) ([]byte, int64) {
			off := offs[len(offs)/2]
			clear(data[off:offs[len(offs)/2+1]])
			return data, off
		}},
		{"a torn tail of the older log", false, func(data []byte, offs []int64) ([]byte, int64) {
			return data[:len(data)-3], offs[len(offs)-1]
		}},
		{"a whole record with a wrong checksum at the end of the newest log", true, func(data []byte, offs []int64) ([]byte, int64) {
			return append(data, 0, 0, 0, 1, 0, 0, 0, 0, 7), int64(len(data))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, older, newer := twoLogs(t)
			path := older
			if tc.newest {
				path = newer
			}
			offs := recordOffsets(t, path)
			var off int64
			rewrite(t, path, func(data []byte) []byte {
				data, off = tc.edit(data, offs)
				return data
			})
			startFails(t, dir, filepath.Base(path), off)
		})
	}
}

// A missing log leaves a gap in the zxids: the start fails at the first
// record after the gap instead of replaying over it.
func TestLogGapRefusesToStart(t *testing.T) {
	dir, older, newer := twoLogs(t)
	if err := os.Remove(older); err != nil {
		t.Fatal(err)
	}
	startFails(t, dir, filepath.Base(newer), 0)
}

// A corrupt newest snapshot is skipped for the older one, as ZooKeeper's
// FileSnap does, and the logs bring the tree up to date; with no valid
// snapshot at all the start fails and touches nothing.
func TestCorruptSnapshotFallsBackToAnOlderOne(t *testing.T) {
	dir := t.TempDir()
	opts := Options{DataDir: dir, SnapCount: 10}
	s := startServer(t, opts)
	c := connect(t, s.Addr())
	for i := range 45 {
		if _, err := c.Create(fmt.Sprintf("/s%02d", i), []byte{byte(i)}, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	zxid := s.lastZxid()
	snaps, _ := dataFiles(dir, "snapshot")
	if len(snaps) != 2 {
		t.Fatalf("%d snapshots, want 2", len(snaps))
	}
	newest := filepath.Join(dir, snapName(snaps[1]))
	rewrite(t, newest, func(data []byte) []byte {
		data[len(data)/2] ^= 0x04
		return data
	})

	var logBuf testutil.Buffer
	s2 := startServer(t, Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if !strings.Contains(logBuf.String(), snapName(snaps[1])) {
		t.Errorf("no warning naming the skipped snapshot:\n%s", logBuf.String())
	}
	if got := s2.lastZxid(); got != zxid {
		t.Fatalf("zxid after recovery = %#x, want %#x", got, zxid)
	}
	c2 := connect(t, s2.Addr())
	if kids, _, err := c2.Children("/"); err != nil || len(kids) != 46 {
		t.Fatalf("children after recovery = %d, %v", len(kids), err)
	}
	if d, _, err := c2.Get("/s44"); err != nil || !bytes.Equal(d, []byte{44}) {
		t.Fatalf("/s44 = %v, %v", d, err)
	}
	c2.Close()
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}

	snaps, _ = dataFiles(dir, "snapshot")
	for _, z := range snaps {
		rewrite(t, filepath.Join(dir, snapName(z)), func(data []byte) []byte {
			data[len(data)/3] ^= 0x08
			return data
		})
	}
	startFails(t, dir, snapName(snaps[1]), -1)
}
