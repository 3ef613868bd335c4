package zookeeper

import (
	"slices"
	"sync"
	"time"
)

// Sessions as SessionTrackerImpl keeps them: ids from the clock and server id,
// passwords derived from the id (so that they survive a restart without being
// stored), expiry in tick-sized buckets (ExpiryQueue).

// superSecret is ZooKeeperServer.superSecret, the seed of session passwords.
const superSecret int64 = 0xB3415C00

// sessionPassword is ZooKeeperServer.generatePasswd: 16 bytes of
// java.util.Random seeded with id ^ superSecret.
func sessionPassword(id int64) []byte {
	const mult, mask = 0x5DEECE66D, (1 << 48) - 1
	seed := (id ^ superSecret ^ mult) & mask
	out := make([]byte, 16)
	for i := 0; i < len(out); {
		seed = (seed*mult + 0xB) & mask
		rnd := int32(seed >> 16) // next(32)
		for n := min(len(out)-i, 4); n > 0; n-- {
			out[i] = byte(rnd)
			rnd >>= 8
			i++
		}
	}
	return out
}

// initialSessionID is SessionTrackerImpl.initializeNextSessionId for server id 1.
func initialSessionID(now time.Time) int64 {
	id := int64(uint64(now.UnixMilli()<<24) >> 8)
	id |= 1 << 56
	if id == containerOwner {
		id++
	}
	return id
}

// session is the runtime state of one live session.
type session struct {
	id       int64
	timeout  time.Duration
	expireAt time.Time // a bucket boundary
	conn     *conn     // nil while disconnected
	closing  bool      // close or expiry is under way: no more touches
}

// sessionTracker tracks live sessions and finds the expired ones.
type sessionTracker struct {
	mu       sync.Mutex
	sessions map[int64]*session
	nextID   int64
	tick     time.Duration
	origin   time.Time // bucket boundaries are multiples of tick since origin
}

func newSessionTracker(tick time.Duration, now time.Time) *sessionTracker {
	return &sessionTracker{sessions: make(map[int64]*session), nextID: initialSessionID(now), tick: tick, origin: now}
}

// bucket rounds a deadline up to the next tick boundary (ExpiryQueue.roundToNextInterval).
func (st *sessionTracker) bucket(t time.Time) time.Time {
	since := t.Sub(st.origin)
	return st.origin.Add((since/st.tick + 1) * st.tick)
}

func (st *sessionTracker) newID() int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	id := st.nextID
	st.nextID++
	return id
}

// add starts tracking a session (new, or recovered from disk).
func (st *sessionTracker) add(id int64, timeout time.Duration, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sessions[id] = &session{id: id, timeout: timeout, expireAt: st.bucket(now.Add(timeout))}
}

// touch pushes the expiry of a live session; false if it is gone or closing.
func (st *sessionTracker) touch(id int64, now time.Time) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.sessions[id]
	if s == nil || s.closing {
		return false
	}
	s.expireAt = st.bucket(now.Add(s.timeout))
	return true
}

// attach binds a session to a new connection with a (re)negotiated timeout
// and returns the connection it had before, which the caller closes.
func (st *sessionTracker) attach(id int64, c *conn, timeout time.Duration, now time.Time) (old *conn, ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.sessions[id]
	if s == nil || s.closing {
		return nil, false
	}
	old = s.conn
	s.conn, s.timeout = c, timeout
	s.expireAt = st.bucket(now.Add(timeout))
	return old, true
}

// detach forgets c as the connection of its session (the session lives on).
func (st *sessionTracker) detach(id int64, c *conn) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s := st.sessions[id]; s != nil && s.conn == c {
		s.conn = nil
	}
}

// beginClose marks a session closing and returns its connection; false if
// it is unknown or already closing (so only one close txn is ever issued).
func (st *sessionTracker) beginClose(id int64) (*conn, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.sessions[id]
	if s == nil || s.closing {
		return nil, false
	}
	s.closing = true
	return s.conn, true
}

func (st *sessionTracker) remove(id int64) {
	st.mu.Lock()
	delete(st.sessions, id)
	st.mu.Unlock()
}

// expired returns the sessions whose bucket has passed, oldest id first.
func (st *sessionTracker) expired(now time.Time) []int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []int64
	for id, s := range st.sessions {
		if !s.closing && !now.Before(s.expireAt) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// nextBoundary is when the expirer should look next.
func (st *sessionTracker) nextBoundary(now time.Time) time.Time {
	return st.bucket(now)
}

func (st *sessionTracker) snapshot() []session {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]session, 0, len(st.sessions))
	for _, s := range st.sessions {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b session) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	return out
}
