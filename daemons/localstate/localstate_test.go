package localstate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

func open(t testing.TB) *LocalState {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustPut(t testing.TB, s *LocalState, key string, v any) {
	t.Helper()
	if err := s.Put(key, v); err != nil {
		t.Fatal(err)
	}
}

// files lists the store directory, split into tokened versions and the rest.
func files(t *testing.T, dir string) (complete []int64, names []string) {
	t.Helper()
	complete, err := completeVersions(dir)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return complete, names
}

type assignment struct {
	TopologyID string  `json:"topology-id"`
	Executors  [][]int `json:"executors"`
}

func TestPutGetRemove(t *testing.T) {
	s := open(t)
	var id string
	if found, err := s.Get("supervisor-id", &id); err != nil || found {
		t.Fatalf("empty store: found=%v err=%v", found, err)
	}
	mustPut(t, s, "supervisor-id", "sup-1")
	want := map[int]assignment{6700: {"wc-1-1", [][]int{{1, 1}, {2, 3}}}}
	mustPut(t, s, "local-assignments", want)

	if found, err := s.Get("supervisor-id", &id); err != nil || !found || id != "sup-1" {
		t.Fatalf("Get supervisor-id = %q found=%v err=%v", id, found, err)
	}
	var got map[int]assignment
	if found, err := s.Get("local-assignments", &got); err != nil || !found || !reflect.DeepEqual(got, want) {
		t.Fatalf("Get local-assignments = %v found=%v err=%v", got, found, err)
	}
	// A second handle (another process, as the supervisor reading a
	// worker's heartbeat) sees the same state.
	other, err := Open(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if found, _ := other.Get("supervisor-id", &id); !found || id != "sup-1" {
		t.Fatalf("second handle: %q found=%v", id, found)
	}
	if err := s.Remove("supervisor-id"); err != nil {
		t.Fatal(err)
	}
	if found, err := s.Get("supervisor-id", &id); err != nil || found {
		t.Fatalf("after Remove: found=%v err=%v", found, err)
	}
	snap, err := s.Snapshot()
	if err != nil || len(snap) != 1 || snap["local-assignments"] == nil {
		t.Fatalf("Snapshot = %v, %v; want only local-assignments", snap, err)
	}
	var wrongType int
	if _, err := s.Get("local-assignments", &wrongType); err == nil || !strings.Contains(err.Error(), "local-assignments") {
		t.Fatalf("decoding into the wrong type: err = %v, want one naming the key", err)
	}
	if err := s.Put("bad", func() {}); err == nil {
		t.Fatal("Put of an unencodable value succeeded")
	}
}

func TestKeepsNewestFourVersions(t *testing.T) {
	s := open(t)
	for i := range 10 {
		mustPut(t, s, "n", i)
	}
	complete, names := files(t, s.Dir())
	if len(complete) != versionsKept {
		t.Fatalf("%d complete versions kept, want %d: %v", len(complete), versionsKept, names)
	}
	if len(names) != 2*versionsKept {
		t.Fatalf("files %v: want exactly a data file and a token per kept version", names)
	}
	for i := 1; i < len(complete); i++ {
		if complete[i] <= complete[i-1] {
			t.Fatalf("versions not increasing: %v", complete)
		}
	}
	var n int
	if _, err := s.Get("n", &n); err != nil || n != 9 {
		t.Fatalf("n = %d, %v; want 9", n, err)
	}
}

func TestVersionsIncreaseEvenWhenTheClockDoesNot(t *testing.T) {
	s := open(t)
	// A version far in the future, as left by a clock that stepped back.
	future := int64(1) << 60
	if err := os.WriteFile(filepath.Join(s.Dir(), fmt.Sprint(future)), []byte(`{"n":0}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), fmt.Sprint(future)+tokenSuffix), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "n", 1)
	complete, _ := files(t, s.Dir())
	if complete[len(complete)-1] != future+1 {
		t.Fatalf("newest version %d, want %d (bumped past the newest)", complete[len(complete)-1], future+1)
	}
	var n int
	if _, err := s.Get("n", &n); err != nil || n != 1 {
		t.Fatalf("n = %d, %v", n, err)
	}
}

// TestReadFallsBack damages the newest version in the ways a crash or a
// disk can and checks the read takes the one before.
func TestReadFallsBack(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string, newest int64)
	}{
		{"truncated data", func(t *testing.T, dir string, v int64) {
			p := filepath.Join(dir, fmt.Sprint(v))
			data, _ := os.ReadFile(p)
			if err := os.WriteFile(p, data[:len(data)/2], 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"empty data", func(t *testing.T, dir string, v int64) {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprint(v)), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"garbage data", func(t *testing.T, dir string, v int64) {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprint(v)), []byte("\x00\xffnot json"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"null data", func(t *testing.T, dir string, v int64) {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprint(v)), []byte("null"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"missing token (crash before marking complete)", func(t *testing.T, dir string, v int64) {
			if err := os.Remove(filepath.Join(dir, fmt.Sprint(v)+tokenSuffix)); err != nil {
				t.Fatal(err)
			}
		}},
		{"data file gone, token left", func(t *testing.T, dir string, v int64) {
			if err := os.Remove(filepath.Join(dir, fmt.Sprint(v))); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			mustPut(t, s, "n", 1)
			mustPut(t, s, "n", 2)
			complete, _ := files(t, s.Dir())
			tc.damage(t, s.Dir(), complete[len(complete)-1])
			var n int
			if found, err := s.Get("n", &n); err != nil || !found || n != 1 {
				t.Fatalf("n = %d found=%v err=%v; want the previous version's 1", n, found, err)
			}
			// The next write builds on the readable state and cleans up.
			mustPut(t, s, "m", 3)
			if _, err := s.Get("n", &n); err != nil || n != 1 {
				t.Fatalf("after a new write n = %d, %v", n, err)
			}
		})
	}
}

func TestTokenWithoutDataIsAnIncompleteVersion(t *testing.T) {
	s := open(t)
	// As a power loss between the rename and the directory sync of the
	// first write could leave it: a token whose data file never landed.
	if err := os.WriteFile(filepath.Join(s.Dir(), "1000"+tokenSuffix), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot()
	if err != nil || len(snap) != 0 {
		t.Fatalf("Snapshot = %v, %v; want an empty store", snap, err)
	}
	mustPut(t, s, "n", 1)
	var n int
	if found, err := s.Get("n", &n); err != nil || !found || n != 1 {
		t.Fatalf("n = %d found=%v err=%v", n, found, err)
	}
}

func TestEveryVersionCorruptIsAnError(t *testing.T) {
	s := open(t)
	mustPut(t, s, "n", 1)
	complete, _ := files(t, s.Dir())
	if err := os.WriteFile(filepath.Join(s.Dir(), fmt.Sprint(complete[0])), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	var n int
	_, err := s.Get("n", &n)
	if err == nil || !strings.Contains(err.Error(), "no readable version") {
		t.Fatalf("err = %v, want no readable version", err)
	}
	if err := s.Put("n", 2); err == nil {
		t.Fatal("Put over an unreadable store succeeded; it would silently drop every other key")
	}
}

func TestLeftoversOfInterruptedWritesAreCleaned(t *testing.T) {
	s := open(t)
	mustPut(t, s, "n", 1)
	complete, _ := files(t, s.Dir())
	stale := complete[0] - 1
	for _, name := range []string{fmt.Sprint(stale), fmt.Sprint(stale) + tmpSuffix, "not-a-version"} {
		if err := os.WriteFile(filepath.Join(s.Dir(), name), []byte("{"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(t, s, "n", 2)
	_, names := files(t, s.Dir())
	for _, n := range names {
		if strings.HasPrefix(n, fmt.Sprint(stale)) {
			t.Fatalf("leftover %s not cleaned: %v", n, names)
		}
	}
	if !strings.Contains(strings.Join(names, " "), "not-a-version") {
		t.Fatalf("a foreign file was deleted: %v", names)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(""); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(f, "sub")); err == nil || !strings.Contains(err.Error(), f) {
		t.Fatalf("Open under a file: err = %v, want one naming the path", err)
	}
}

func TestConcurrentPutsAndReads(t *testing.T) {
	s := open(t)
	const writers, each = 4, 15
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := s.Put(fmt.Sprintf("w%d", w), i); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	// A reader with its own handle, as another process would be, racing the
	// writers' cleanups.
	reader, err := Open(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() {
		for range 100 {
			if _, err := reader.Snapshot(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for w := range writers {
		var n int
		if err := json.Unmarshal(snap[fmt.Sprintf("w%d", w)], &n); err != nil || n != each-1 {
			t.Fatalf("w%d = %s (%v): a concurrent Put was lost", w, snap[fmt.Sprintf("w%d", w)], err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{}`, `null`, `{"a":`, `[]`, `{"a":{"b":[1,2]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		snap, err := Decode(data)
		if err != nil {
			return
		}
		if snap == nil {
			t.Fatal("Decode returned a nil map without an error")
		}
		for k, v := range snap {
			if !json.Valid(v) {
				t.Fatalf("key %q holds invalid JSON %q", k, v)
			}
		}
	})
}
