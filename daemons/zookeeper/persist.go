package zookeeper

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// The transaction log: files log.<first zxid, hex> in the data dir, each a
// sequence of records [length uint32][crc32c uint32][txn]. Appends happen
// under the server's write lock (so the log is in zxid order) into a memory
// buffer; one syncer goroutine writes the buffer out, fsyncs it (FsyncAlways)
// and then publishes the durable zxid, which releases the queued replies.
// Many writes share one fsync: that is the group commit.

var crcTable = crc32.MakeTable(crc32.Castagnoli)

const recordHeader = 8

type txnLog struct {
	dir    string
	policy FsyncPolicy
	log    *slogger

	mu        sync.Mutex
	pending   []byte
	pendZxid  int64
	snapshot  *snapshotJob // taken after the pending bytes are out
	wake      chan struct{}
	sinceSnap int
	snapCount int
	failed    error
	failedCh  chan struct{} // closed when failed is set
	onFail    func(error)   // told the failure once, outside mu

	durable   atomic.Int64
	changedMu sync.Mutex
	changed   chan struct{} // closed and replaced whenever durable advances

	open     func(path string) (logFile, error)
	file     logFile
	stop     chan struct{}
	finished chan struct{}
}

// logFile is what the transaction log is written to: an *os.File (openLogFile);
// tests give one that fails.
type logFile interface {
	io.Writer
	Sync() error
	Close() error
}

func openLogFile(path string) (logFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// slogger is the one logging method the log needs, so tests can see warnings.
type slogger struct{ warn func(msg string, args ...any) }

type snapshotJob struct {
	zxid int64
	data []byte
}

func logName(zxid int64) string  { return fmt.Sprintf("log.%x", zxid) }
func snapName(zxid int64) string { return fmt.Sprintf("snapshot.%x", zxid) }

// dataFiles lists files of the given prefix by their zxid suffix, ascending.
func dataFiles(dir, prefix string) ([]int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix+".") || strings.HasSuffix(name, ".tmp") {
			continue
		}
		z, err := strconv.ParseInt(strings.TrimPrefix(name, prefix+"."), 16, 64)
		if err == nil {
			out = append(out, z)
		}
	}
	slices.Sort(out)
	return out, nil
}

// openDataDir recovers the server's tree and sessions from dir (newest valid
// snapshot, then the logs) and opens a fresh log file for new txns.
func openDataDir(s *Server, opts Options) (*txnLog, error) {
	dir := opts.DataDir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if err := recoverTree(s, dir); err != nil {
		return nil, err
	}
	for _, ss := range sortedSessions(s.tree.sessions) {
		// A recovered session gets a whole timeout from now to reconnect,
		// as ZooKeeper's restarted session tracker gives it.
		s.sessions.add(ss.id, ss.timeout, s.started)
	}
	l := &txnLog{
		dir: dir, policy: opts.Fsync, log: &slogger{warn: s.log.Warn},
		wake: make(chan struct{}, 1), snapCount: opts.SnapCount,
		changed: make(chan struct{}), stop: make(chan struct{}), finished: make(chan struct{}),
		failedCh: make(chan struct{}), onFail: s.fatal, open: opts.openLogFile,
	}
	if l.open == nil {
		l.open = openLogFile
	}
	l.durable.Store(s.tree.lastZxid)
	f, err := l.createLog(s.tree.lastZxid + 1)
	if err != nil {
		return nil, err
	}
	l.file = f
	go l.syncLoop()
	return l, nil
}

func sortedSessions(m map[int64]int32) []session {
	out := make([]session, 0, len(m))
	for id, ms := range m {
		out = append(out, session{id: id, timeout: msDuration(ms)})
	}
	slices.SortFunc(out, func(a, b session) int { return cmp.Compare(a.id, b.id) })
	return out
}

func (l *txnLog) createLog(first int64) (logFile, error) {
	f, err := l.open(filepath.Join(l.dir, logName(first)))
	if err != nil {
		return nil, fmt.Errorf("create transaction log: %w", err)
	}
	if err := syncDir(l.dir); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open data dir for sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync data dir: %w", err)
	}
	return nil
}

// append queues one txn; called with the server's write lock held. It
// returns the log's failure, if it has failed: the txn will never be
// durable. When
// SnapCount txns have gone by, tree (serialized now, under that lock) is
// written as a snapshot once the log is out up to its zxid.
func (l *txnLog) append(x *txn) error {
	e := encoder{buf: make([]byte, recordHeader, 64+len(x.Data)+len(x.Path))}
	encodeTxn(&e, x)
	binary.BigEndian.PutUint32(e.buf[0:], uint32(len(e.buf)-recordHeader))
	binary.BigEndian.PutUint32(e.buf[4:], crc32.Checksum(e.buf[recordHeader:], crcTable))
	l.mu.Lock()
	err := l.failed
	l.pending = append(l.pending, e.buf...)
	l.pendZxid = x.Zxid
	l.sinceSnap++
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return err
}

// dueSnapshot reports whether a snapshot is due; the caller then serializes
// the tree and hands it to scheduleSnapshot.
func (l *txnLog) dueSnapshot() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sinceSnap >= l.snapCount && l.snapshot == nil
}

func (l *txnLog) scheduleSnapshot(zxid int64, data []byte) {
	l.mu.Lock()
	l.snapshot = &snapshotJob{zxid: zxid, data: data}
	l.sinceSnap = 0
	l.mu.Unlock()
}

func (l *txnLog) syncLoop() {
	defer close(l.finished)
	for {
		select {
		case <-l.wake:
		case <-l.stop:
			l.flush()
			return
		}
		l.flush()
	}
}

// flush writes out what is pending, fsyncs per policy, publishes the durable
// zxid, and takes a scheduled snapshot.
func (l *txnLog) flush() {
	l.mu.Lock()
	buf, zxid, snap, failed := l.pending, l.pendZxid, l.snapshot, l.failed
	l.pending, l.snapshot = nil, nil
	l.mu.Unlock()
	if failed != nil {
		// Nothing after a lost write may reach the log: replay would skip
		// the hole and apply the txns after it.
		return
	}
	if len(buf) > 0 {
		if err := l.write(buf); err != nil {
			l.fail(err)
			return
		}
		l.publish(zxid)
	}
	if snap != nil {
		// The log's tail must be on disk before a newer log starts (under
		// FsyncNever too), or a crash could leave a gap between the two,
		// which recovery refuses.
		if l.policy != FsyncAlways {
			if err := l.file.Sync(); err != nil {
				l.fail(fmt.Errorf("fsync transaction log: %w", err))
				return
			}
		}
		if err := l.takeSnapshot(snap); err != nil {
			l.log.warn("snapshot failed; the log keeps growing until the next one", "err", err)
		}
	}
}

func (l *txnLog) write(buf []byte) error {
	if _, err := l.file.Write(buf); err != nil {
		return fmt.Errorf("write transaction log: %w", err)
	}
	if l.policy == FsyncAlways {
		if err := l.file.Sync(); err != nil {
			return fmt.Errorf("fsync transaction log: %w", err)
		}
	}
	return nil
}

// fail makes the log's first failure final: what is not durable now never
// will be, and its waiters give up.
func (l *txnLog) fail(err error) {
	l.mu.Lock()
	first := l.failed == nil
	if first {
		l.failed = err
		close(l.failedCh)
	}
	l.mu.Unlock()
	if first {
		l.onFail(err)
	}
}

func (l *txnLog) publish(zxid int64) {
	l.durable.Store(zxid)
	l.changedMu.Lock()
	close(l.changed)
	l.changed = make(chan struct{})
	l.changedMu.Unlock()
}

// waitDurable blocks until zxid is durable; false if cancel closes or the
// log fails first.
func (l *txnLog) waitDurable(zxid int64, cancel <-chan struct{}) bool {
	for {
		if l.durable.Load() >= zxid {
			return true
		}
		l.changedMu.Lock()
		ch := l.changed
		l.changedMu.Unlock()
		if l.durable.Load() >= zxid {
			return true
		}
		select {
		case <-ch:
		case <-cancel:
			return false
		case <-l.failedCh:
			return l.durable.Load() >= zxid
		}
	}
}

// takeSnapshot writes the snapshot atomically, starts a new log file after
// it and removes the files the snapshot before it made obsolete.
func (l *txnLog) takeSnapshot(job *snapshotJob) error {
	path := filepath.Join(l.dir, snapName(job.zxid))
	if err := writeFileSync(path, job.data); err != nil {
		return err
	}
	// Name the new log by the first zxid it will hold: everything up to the
	// durable zxid went into the old one.
	f, err := l.createLog(l.durable.Load() + 1)
	if err != nil {
		return err
	}
	old := l.file
	l.file = f
	if err := old.Close(); err != nil {
		return fmt.Errorf("close old transaction log: %w", err)
	}
	return l.purge(job.zxid)
}

// purge keeps the newest two snapshots and the logs still needed after the
// older of them.
func (l *txnLog) purge(newest int64) error {
	snaps, err := dataFiles(l.dir, "snapshot")
	if err != nil {
		return err
	}
	if len(snaps) < 3 {
		return nil
	}
	keepFrom := snaps[len(snaps)-2]
	for _, z := range snaps[:len(snaps)-2] {
		_ = os.Remove(filepath.Join(l.dir, snapName(z)))
	}
	logs, err := dataFiles(l.dir, "log")
	if err != nil {
		return err
	}
	// Log names are the first zxid they hold: the newest log starting at or
	// before keepFrom+1 and every later one are still needed.
	var needed int64 = -1
	for _, z := range logs {
		if z <= keepFrom+1 {
			needed = z
		}
	}
	for _, z := range logs {
		if z < needed {
			_ = os.Remove(filepath.Join(l.dir, logName(z)))
		}
	}
	return nil
}

func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", filepath.Base(path), err)
	}
	return syncDir(filepath.Dir(path))
}

// close flushes what is pending and closes the file.
func (l *txnLog) close() error {
	close(l.stop)
	<-l.finished
	l.mu.Lock()
	failed := l.failed
	l.mu.Unlock()
	err := l.file.Close()
	if failed != nil {
		return failed
	}
	if err != nil {
		return fmt.Errorf("close transaction log: %w", err)
	}
	return nil
}
