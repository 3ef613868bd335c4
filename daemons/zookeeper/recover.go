package zookeeper

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Recovery: the newest valid snapshot, then every transaction after it from
// the logs, in zxid order and without a gap.
//
// What may be repaired is what ZooKeeper repairs. ZooKeeper's log reader
// (FileTxnLog.FileTxnIterator, Util.readTxnBytes) takes a file that ends
// inside a record, a zero-length record (its preallocated, zero-filled tail)
// and a record without its end marker as the end of the log: a write that
// never completed. A whole record whose checksum fails is "CRC check
// failed", and the server does not start. Its snapshot reader
// (FileSnap.deserialize) skips a snapshot that fails and falls back to an
// older one, and refuses to start when none is valid.
//
// Here the only damage that is cut is the torn tail of the newest log, the
// one file a crash can leave half-written: the file ends inside a record, or
// it ends in zeros from a sector boundary inside the damaged record (the
// disk did not write the last blocks of the append), and no whole record
// follows the damage. Anything else, in any log, stops the start with an
// error that names the file and the offset, and no file is changed.

// maxRecordLen bounds a log record's length; a longer one is a corrupt
// length field, not a record.
const maxRecordLen = 1 << 30

// sectorSize is the unit in which a disk leaves a write unwritten: a torn
// append whose last blocks did not reach the disk reads as zeros from a
// multiple of it.
const sectorSize = 512

// maxResyncWork bounds the bytes checksummed while looking for a whole
// record after damage; past it, a record is assumed to follow (the damage
// is then corruption, never cut).
const maxResyncWork = 64 << 20

// CorruptionError is damage in a data dir file that is not a torn write:
// the server refuses to start and changes nothing.
type CorruptionError struct {
	File   string // base name of the file
	Offset int64  // byte offset of the damaged record; -1 for a whole file
	Reason string
}

func (e *CorruptionError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("%s is corrupt: %s", e.File, e.Reason)
	}
	return fmt.Sprintf("%s is corrupt at offset %d: %s", e.File, e.Offset, e.Reason)
}

// recoverTree loads the newest valid snapshot and replays the logs after it.
func recoverTree(s *Server, dir string) error {
	if err := loadSnapshot(s, dir); err != nil {
		return err
	}
	logs, err := dataFiles(dir, "log")
	if err != nil {
		return fmt.Errorf("list transaction logs: %w", err)
	}
	for i, z := range logs {
		// A log is named by its first zxid: one followed by a log that starts
		// at or before the first txn to replay holds nothing to replay.
		if i+1 < len(logs) && logs[i+1] <= s.tree.lastZxid+1 {
			continue
		}
		if err := replayLog(s, filepath.Join(dir, logName(z)), i == len(logs)-1); err != nil {
			return err
		}
	}
	return nil
}

// loadSnapshot puts the newest valid snapshot in s.tree, skipping corrupt
// ones as ZooKeeper does. Snapshots are written to a temporary file and
// renamed, so a corrupt one is never a torn write; when there are
// snapshots and none is valid, the logs alone cannot rebuild the tree (the
// older ones were purged), and the start fails.
func loadSnapshot(s *Server, dir string) error {
	snaps, err := dataFiles(dir, "snapshot")
	if err != nil {
		return fmt.Errorf("list snapshots: %w", err)
	}
	var problems []error
	for i := len(snaps) - 1; i >= 0; i-- {
		t, err := readSnapshot(dir, snaps[i])
		if err == nil {
			s.tree = t
			return nil
		}
		s.log.Warn("skipping a snapshot that cannot be read; trying an older one", "err", err)
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		var older strings.Builder
		for _, err := range problems[1:] {
			older.WriteString("; " + err.Error())
		}
		return fmt.Errorf("no valid snapshot in %s, refusing to start (restore a snapshot or remove the data dir): %w%s",
			dir, problems[0], older.String())
	}
	return nil
}

func readSnapshot(dir string, zxid int64) (*tree, error) {
	name := snapName(zxid)
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	t, err := decodeSnapshot(data)
	if err != nil {
		return nil, &CorruptionError{File: name, Offset: -1, Reason: err.Error()}
	}
	if t.lastZxid != zxid {
		return nil, &CorruptionError{File: name, Offset: -1, Reason: fmt.Sprintf("it holds zxid %#x, not the %#x of its name", t.lastZxid, zxid)}
	}
	return t, nil
}

// replayLog applies the log's txns that are newer than the tree. Damage in
// it stops the start, unless this is the newest log and the damage is its
// torn tail, which is cut back to the last whole record.
func replayLog(s *Server, path string, newest bool) error {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open transaction log: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat transaction log %s: %w", name, err)
	}
	dmg, err := scanLog(f, st.Size(), func(off int64, x *txn) error {
		switch {
		case x.Zxid <= s.tree.lastZxid: // already in the snapshot
		case x.Zxid != s.tree.lastZxid+1:
			return &CorruptionError{File: name, Offset: off, Reason: fmt.Sprintf(
				"zxid %#x follows %#x: the transactions between are missing: refusing to start", x.Zxid, s.tree.lastZxid)}
		default:
			s.tree.apply(x, nil)
		}
		return nil
	})
	if err != nil {
		var ce *CorruptionError
		if errors.As(err, &ce) {
			return err
		}
		return fmt.Errorf("read transaction log %s: %w", name, err)
	}
	if dmg == nil {
		return nil
	}
	if !newest || !dmg.torn {
		why := dmg.reason
		if dmg.torn {
			why += ", and a newer log follows it"
		}
		return &CorruptionError{File: name, Offset: dmg.offset, Reason: why + ": refusing to start"}
	}
	s.log.Warn("transaction log has a torn tail (an append a crash interrupted); cutting it back to the last whole record",
		"file", name, "offset", dmg.offset, "cut", st.Size()-dmg.offset, "reason", dmg.reason)
	return truncateLog(path, dmg.offset)
}

func truncateLog(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open torn transaction log: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("truncate torn transaction log %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync truncated transaction log %s: %w", path, err)
	}
	return nil
}

// logDamage is where a log stops being readable, and whether that is a
// torn write.
type logDamage struct {
	offset int64
	reason string
	torn   bool // the file ends in an append that did not complete
}

// scanLog reads one log's records in order, giving each to apply, until the
// end or the first damage, which it describes; an error of apply or of the
// reader is returned as it is.
func scanLog(r io.ReaderAt, size int64, apply func(off int64, x *txn) error) (*logDamage, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 1<<16)
	var hdr [recordHeader]byte
	var body []byte
	for off := int64(0); off < size; {
		if size-off < recordHeader {
			return judgeDamage(r, size, off, "partial record header", true)
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return nil, err
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		switch {
		case n == 0:
			return judgeDamage(r, size, off, "empty record", false)
		case n > maxRecordLen:
			return judgeDamage(r, size, off, fmt.Sprintf("record length %d out of range", n), false)
		case n > size-off-recordHeader:
			return judgeDamage(r, size, off, "record runs past the end of the file", true)
		}
		body = append(body[:0], make([]byte, n)...)
		if _, err := io.ReadFull(br, body); err != nil {
			return nil, err
		}
		x, why := decodeRecord(binary.BigEndian.Uint32(hdr[4:]), body)
		if why != "" {
			return judgeDamage(r, size, off, why, false)
		}
		if err := apply(off, &x); err != nil {
			return nil, err
		}
		off += recordHeader + n
	}
	return nil, nil
}

// decodeRecord checks a record's checksum and decodes its txn; the reason
// it is not a record otherwise.
func decodeRecord(sum uint32, body []byte) (txn, string) {
	if crc32.Checksum(body, crcTable) != sum {
		return txn{}, "CRC check failed"
	}
	d := decoder{buf: body}
	x := decodeTxn(&d, 0)
	switch {
	case d.err != nil:
		return txn{}, "undecodable record: " + d.err.Error()
	case d.pos != len(body):
		return txn{}, fmt.Sprintf("record has %d bytes after its txn", len(body)-d.pos)
	}
	return x, ""
}

// judgeDamage describes damage at off: it is a torn write when no whole
// record follows it and the file ends inside the damaged record (incomplete)
// or in zeros from a sector boundary after off.
func judgeDamage(r io.ReaderAt, size, off int64, reason string, incomplete bool) (*logDamage, error) {
	tail := make([]byte, size-off)
	if _, err := r.ReadAt(tail, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	torn := (incomplete || zeroFilledTail(tail, off, size)) && !recordAfter(tail)
	return &logDamage{offset: off, reason: reason, torn: torn}, nil
}

// zeroFilledTail tells whether tail, the file's bytes from off to its end
// size, is all zeros or ends in zeros that start at a sector boundary inside
// it: the blocks of an append that never reached the disk.
func zeroFilledTail(tail []byte, off, size int64) bool {
	last := bytes.LastIndexFunc(tail, func(r rune) bool { return r != 0 })
	if last < 0 {
		return true
	}
	end := off + int64(last) + 1 // the first byte of the final zero run
	boundary := (end + sectorSize - 1) / sectorSize * sectorSize
	return boundary < size
}

// recordAfter tells whether a whole, valid record starts anywhere in tail
// after its first byte, where a corrupt record is followed by good ones.
func recordAfter(tail []byte) bool {
	work := 0
	for i := 1; i+recordHeader <= len(tail); i++ {
		n := int(binary.BigEndian.Uint32(tail[i:]))
		if n == 0 || n > len(tail)-i-recordHeader {
			continue
		}
		if work += n; work > maxResyncWork {
			return true
		}
		if _, why := decodeRecord(binary.BigEndian.Uint32(tail[i+4:]), tail[i+recordHeader:i+recordHeader+n]); why == "" {
			return true
		}
	}
	return false
}
