// Package localstate is Storm's LocalState over its VersionedStore: a small
// key/value map kept on local disk that survives a crash at any instant.
// The supervisor keeps its id, local assignments and approved workers in
// one, and every worker writes its local heartbeat into one.
//
// Every write stores the whole map as a new version. A version is a file
// named by a millisecond timestamp (bumped past the newest existing version
// when the clock has not moved on). It is written to a temporary file,
// fsynced, renamed into place, and only then marked complete by an empty
// "<version>.version" token file, after which the directory is fsynced. The newest four complete versions are kept.
// A read takes the newest complete version that decodes, falling back past
// one that is corrupt or half-written, so a writer killed at any point
// leaves a readable store.
//
// One process writes a given directory (as in Storm); any number of
// processes may read it, and a LocalState is safe for concurrent use by
// goroutines.
package localstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// versionsKept is how many complete versions survive a cleanup
	// (Storm's LocalState keeps 4).
	versionsKept = 4
	tokenSuffix  = ".version"
	tmpSuffix    = ".tmp"
	// readAttempts bounds the retries of a read that lost a race with the
	// writer's cleanup (the files it listed were deleted before it opened them).
	readAttempts = 10
)

// LocalState is a versioned key/value store in one directory.
type LocalState struct {
	dir      string
	volatile bool // no fsyncs (OpenVolatile)

	mu   sync.Mutex // serialises writers in this process
	last int64      // newest version this process wrote or saw
}

// Open opens (creating if needed) the store in dir.
func Open(dir string) (*LocalState, error) {
	if dir == "" {
		return nil, errors.New("localstate: open: empty directory path")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("localstate: open %s: %w", dir, err)
	}
	return &LocalState{dir: dir}, nil
}

// OpenVolatile opens a store whose contents are worth nothing after a power
// loss, such as a worker's heartbeat, rewritten every second: its writes
// skip the fsyncs, as Storm's LocalState always does. A process killed at
// any instant still leaves a readable store (the rename is atomic); only a
// crash of the machine may lose the newest versions, which are stale by
// the time it is back.
func OpenVolatile(dir string) (*LocalState, error) {
	s, err := Open(dir)
	if err != nil {
		return nil, err
	}
	s.volatile = true
	return s, nil
}

// Dir returns the store's directory.
func (s *LocalState) Dir() string { return s.dir }

// Get decodes the value stored under key into v (as encoding/json does) and
// reports whether the key exists.
func (s *LocalState) Get(key string, v any) (found bool, err error) {
	snap, err := s.Snapshot()
	if err != nil {
		return false, err
	}
	raw, ok := snap[key]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("localstate %s: decode %q: %w", s.dir, key, err)
	}
	return true, nil
}

// Put stores v (JSON-encoded) under key, writing the whole map as a new version.
func (s *LocalState) Put(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("localstate %s: encode %q: %w", s.dir, key, err)
	}
	return s.update(func(m map[string]json.RawMessage) { m[key] = raw })
}

// Remove deletes key, writing the remaining map as a new version. Removing a
// missing key still writes a version, as Storm's LocalState does.
func (s *LocalState) Remove(key string) error {
	return s.update(func(m map[string]json.RawMessage) { delete(m, key) })
}

// Snapshot returns every key with its JSON value from the newest readable
// version; an empty store gives an empty map.
func (s *LocalState) Snapshot() (map[string]json.RawMessage, error) {
	var lastErr error
	for range readAttempts {
		snap, err := s.read()
		if err == nil {
			return snap, nil
		}
		lastErr = err
		if !errors.Is(err, errVanished) {
			break
		}
	}
	return nil, fmt.Errorf("localstate %s: read: %w", s.dir, lastErr)
}

// errVanished means every listed version was deleted while being read: the
// writer cleaned up under us, so list again.
var errVanished = errors.New("versions deleted while reading")

func (s *LocalState) read() (map[string]json.RawMessage, error) {
	versions, err := completeVersions(s.dir)
	if err != nil {
		return nil, err
	}
	if len(versions) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	var problems []string
	vanished := 0
	for i := len(versions) - 1; i >= 0; i-- {
		data, err := os.ReadFile(s.versionPath(versions[i]))
		if errors.Is(err, fs.ErrNotExist) {
			// Cleanup removes a token before its data, so a token still
			// present means the data never became durable (a power loss
			// between rename and directory sync): the version never
			// completed, and is skipped. A token gone too means the writer
			// cleaned up under this read, which then starts again.
			if _, terr := os.Stat(s.versionPath(versions[i]) + tokenSuffix); terr != nil {
				vanished++
			}
			continue
		}
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		snap, err := Decode(data)
		if err != nil {
			// A corrupt version (torn by a crash the token did not guard,
			// or damaged on disk): fall back to the one before it.
			problems = append(problems, fmt.Sprintf("version %d: %v", versions[i], err))
			continue
		}
		return snap, nil
	}
	if vanished > 0 && len(problems) == 0 {
		return nil, errVanished
	}
	if len(problems) == 0 {
		return map[string]json.RawMessage{}, nil // no version ever completed
	}
	return nil, fmt.Errorf("no readable version among %d: %s", len(versions), strings.Join(problems, "; "))
}

// Decode parses one version file: a JSON object of key → JSON value. It is
// exported for the fuzz target and for tools that inspect a store.
func Decode(data []byte) (map[string]json.RawMessage, error) {
	var snap map[string]json.RawMessage
	if err := json.Unmarshal(data, &snap); err != nil {
		return nil, err
	}
	if snap == nil {
		// "null" is valid JSON but never written by Put.
		return nil, errors.New("version holds null, not an object")
	}
	return snap, nil
}

func (s *LocalState) update(change func(map[string]json.RawMessage)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, err := s.Snapshot()
	if err != nil {
		return err
	}
	change(snap)
	data, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("localstate %s: encode: %w", s.dir, err)
	}
	if err := s.writeVersion(data); err != nil {
		return fmt.Errorf("localstate %s: write: %w", s.dir, err)
	}
	return nil
}

func (s *LocalState) versionPath(v int64) string {
	return filepath.Join(s.dir, strconv.FormatInt(v, 10))
}

// nextVersion is the current time in milliseconds, bumped past every version
// on disk or written before so versions always increase.
func (s *LocalState) nextVersion() (int64, error) {
	all, err := allVersions(s.dir)
	if err != nil {
		return 0, err
	}
	v := time.Now().UnixMilli()
	newest := s.last
	if len(all) > 0 && all[len(all)-1] > newest {
		newest = all[len(all)-1]
	}
	if v <= newest {
		v = newest + 1
	}
	return v, nil
}

func (s *LocalState) writeVersion(data []byte) error {
	v, err := s.nextVersion()
	if err != nil {
		return err
	}
	final := s.versionPath(v)
	tmp := final + tmpSuffix
	if err := writeSynced(tmp, data, !s.volatile); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return err
	}
	// The token is empty, so only its directory entry matters, and one
	// directory fsync makes both the rename and the token durable. Should a
	// power loss persist the token without the rename, the read finds no
	// data file for that version and falls back to the previous one.
	if err := writeSynced(final+tokenSuffix, nil, false); err != nil {
		return err
	}
	if !s.volatile {
		if err := syncDir(s.dir); err != nil {
			return err
		}
	}
	s.last = v
	return s.cleanup()
}

// cleanup deletes every version older than the newest versionsKept complete
// ones, with its token, and leftovers of interrupted writes (temp files and
// untokened data files older than the newest complete version).
func (s *LocalState) cleanup() error {
	complete, err := completeVersions(s.dir)
	if err != nil {
		return err
	}
	if len(complete) == 0 {
		return nil
	}
	keep := map[int64]bool{}
	for _, v := range complete[max(0, len(complete)-versionsKept):] {
		keep[v] = true
	}
	newest := complete[len(complete)-1]
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	// Tokens go first so that a reader never picks a version whose data
	// file is already gone; the data files follow in a second pass.
	for _, tokens := range []bool{true, false} {
		for _, e := range entries {
			name := e.Name()
			if strings.HasSuffix(name, tokenSuffix) != tokens {
				continue
			}
			v, ok := parseVersion(strings.TrimSuffix(strings.TrimSuffix(name, tokenSuffix), tmpSuffix))
			if !ok || keep[v] || v > newest {
				continue
			}
			if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

func parseVersion(name string) (int64, bool) {
	if name == "" || strings.TrimLeft(name, "0123456789") != "" {
		return 0, false
	}
	v, err := strconv.ParseInt(name, 10, 64)
	return v, err == nil
}

// completeVersions lists the versions that have a token, oldest first.
func completeVersions(dir string) ([]int64, error) {
	return listVersions(dir, func(name string) (string, bool) {
		base, ok := strings.CutSuffix(name, tokenSuffix)
		return base, ok
	})
}

// allVersions lists every version with a data file, token or temp file.
func allVersions(dir string) ([]int64, error) {
	return listVersions(dir, func(name string) (string, bool) {
		name = strings.TrimSuffix(strings.TrimSuffix(name, tokenSuffix), tmpSuffix)
		return name, true
	})
}

func listVersions(dir string, match func(string) (string, bool)) ([]int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	var out []int64
	for _, e := range entries {
		base, ok := match(e.Name())
		if !ok {
			continue
		}
		if v, ok := parseVersion(base); ok && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// writeSynced creates path holding data, fsyncing the file when sync is set.
func writeSynced(path string, data []byte, sync bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if sync {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
