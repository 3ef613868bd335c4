package zookeeper

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// logRecord is one transaction log record of x, as append writes it.
func logRecord(x *txn) []byte {
	e := encoder{buf: make([]byte, recordHeader)}
	encodeTxn(&e, x)
	binary.BigEndian.PutUint32(e.buf[0:], uint32(len(e.buf)-recordHeader))
	binary.BigEndian.PutUint32(e.buf[4:], crc32.Checksum(e.buf[recordHeader:], crcTable))
	return e.buf
}

// FuzzScanLog feeds arbitrary log files to the log reader. It must not
// panic; a torn tail it reports must leave, once cut, a log that reads
// whole with the same records; and no damage it calls torn may be followed
// by a whole record (cutting it would lose that record).
func FuzzScanLog(f *testing.F) {
	var valid []byte
	for i, x := range []txn{
		{Type: opCreateSession, Timeout: 4000},
		{Type: opCreate, Path: "/a", Data: []byte("data"), ACL: openACL, Cversion: 1},
		{Type: opSetData, Path: "/a", Data: bytes.Repeat([]byte{0}, 600), Version: 1},
		{Type: opMulti, Sub: []txn{{Type: opDelete, Path: "/a"}, {Type: opCheck, Path: "/", Version: 0}}},
		{Type: opError, Err: errNodeExists},
		{Type: opCloseSession},
	} {
		x.Zxid, x.Session = int64(i+1), 0x42
		valid = append(valid, logRecord(&x)...)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-5])
	f.Add(append(bytes.Clone(valid), make([]byte, 300)...))
	f.Add(append(bytes.Clone(valid), zeroedRecord(int64(len(valid)), 900)...))
	flipped := bytes.Clone(valid)
	flipped[20] ^= 1
	f.Add(flipped)
	f.Fuzz(func(t *testing.T, data []byte) {
		var zxids []int64
		dmg, err := scanLog(bytes.NewReader(data), int64(len(data)), func(_ int64, x *txn) error {
			zxids = append(zxids, x.Zxid)
			return nil
		})
		if err != nil {
			t.Fatalf("reading from memory failed: %v", err)
		}
		if dmg == nil {
			return
		}
		if dmg.offset < 0 || dmg.offset >= int64(len(data)) {
			t.Fatalf("damage at %d in a file of %d bytes", dmg.offset, len(data))
		}
		if !dmg.torn {
			return
		}
		if recordAfter(data[dmg.offset:]) {
			t.Fatalf("a torn tail at %d is followed by a whole record", dmg.offset)
		}
		cut := data[:dmg.offset]
		n := 0
		again, err := scanLog(bytes.NewReader(cut), int64(len(cut)), func(_ int64, x *txn) error {
			if n >= len(zxids) || x.Zxid != zxids[n] {
				t.Fatalf("record %d of the cut log differs", n)
			}
			n++
			return nil
		})
		if err != nil || again != nil || n != len(zxids) {
			t.Fatalf("the cut log reads %d of %d records, damage %+v, err %v", n, len(zxids), again, err)
		}
	})
}
