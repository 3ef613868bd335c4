package state

import (
	"fmt"
	"maps"
	"sync"
)

// inMemory is Storm's InMemoryKeyValueState: the working map, a snapshot
// per prepared transaction and the committed snapshot. It lives as long as
// its task: a restarted worker starts empty, as in Storm.
type inMemory struct {
	mu        sync.Mutex
	current   map[string][]byte
	committed *snapshot
	prepared  *snapshot
}

type snapshot struct {
	txid int64
	data map[string][]byte
}

// NewInMemory returns an empty in-memory state.
func NewInMemory() KeyValueState { return &inMemory{current: map[string][]byte{}} }

func (s *inMemory) Get(key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.current[key]
	return v, ok, nil
}

func (s *inMemory) Put(key string, value []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current[key] = append([]byte(nil), value...)
}

func (s *inMemory) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.current, key)
}

func (s *inMemory) Range(fn func(string, []byte) bool) error {
	s.mu.Lock()
	snap := maps.Clone(s.current)
	s.mu.Unlock()
	for k, v := range snap {
		if !fn(k, v) {
			break
		}
	}
	return nil
}

func (s *inMemory) PrepareCommit(txid int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.prepared != nil && txid > s.prepared.txid {
		return fmt.Errorf("state: cannot prepare transaction %d while transaction %d is prepared and not committed", txid, s.prepared.txid)
	}
	s.prepared = &snapshot{txid: txid, data: maps.Clone(s.current)}
	return nil
}

func (s *inMemory) Commit(txid int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.prepared == nil && s.committed == nil {
		// A task restarted after PREPARE: its in-memory state died with
		// it, so the recovery's COMMIT has nothing to commit (Storm would
		// fail it again and again).
		return nil
	}
	if s.prepared == nil || s.prepared.txid != txid {
		return fmt.Errorf("state: commit of transaction %d, which is not the prepared one (%s)", txid, s.prepared)
	}
	s.committed, s.prepared = s.prepared, nil
	return nil
}

func (s *inMemory) CommitNow() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.committed = &snapshot{txid: -1, data: maps.Clone(s.current)}
	return nil
}

func (s *inMemory) Rollback() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prepared = nil
	if s.committed != nil {
		s.current = maps.Clone(s.committed.data)
	} else {
		s.current = map[string][]byte{}
	}
	return nil
}

func (s *inMemory) Close() error { return nil }

func (s *snapshot) String() string {
	if s == nil {
		return "none"
	}
	return fmt.Sprintf("transaction %d", s.txid)
}
