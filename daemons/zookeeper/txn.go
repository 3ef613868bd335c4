package zookeeper

import (
	"fmt"
)

// txn is one transaction: the unit the server orders by zxid, applies to the
// data tree and appends to the transaction log. Every write request becomes
// exactly one txn (a failed one becomes an error txn, which still consumes its
// zxid), as PrepRequestProcessor turns requests into TxnHeader+Txn records.
// Applying a txn is deterministic: replaying the log rebuilds the same tree.
type txn struct {
	Zxid    int64
	Time    int64 // wall-clock milliseconds, as TxnHeader.time
	Session int64 // the session that issued it
	Type    int32 // opCreate, opDelete, opSetData, opSetACL, opCheck, opError, opMulti, opCreateSession, opCloseSession

	Path           string
	Data           []byte
	ACL            []ACL
	EphemeralOwner int64 // create: session id, containerOwner or a TTL owner
	Cversion       int32 // create: the parent's new internal cversion
	Version        int32 // setData/setACL/check: the node's new (or checked) version
	Timeout        int32 // createSession: negotiated timeout in ms
	Err            int32 // error: the KeeperException code
	Sub            []txn // multi: the sub-transactions, all of the same zxid
}

// Special ephemeralOwner values of EphemeralType.
const (
	containerOwner int64 = -1 << 63                             // CONTAINER_EPHEMERAL_OWNER = Long.MIN_VALUE
	extendedMask   int64 = -0x0100000000000000                  // 0xff00000000000000
	ttlMaxValue    int64 = ^(extendedMask | 0x00ffff0000000000) // EXTENDED_FEATURE_VALUE_MASK
)

// ttlOwner encodes a TTL in the ephemeralOwner field (EphemeralType.TTL).
func ttlOwner(ttl int64) int64 { return extendedMask | ttl }

func isTTLOwner(owner int64) bool {
	return owner&extendedMask == extendedMask && owner != containerOwner
}

// isEphemeralOwner reports a real session owner (EphemeralType.NORMAL).
func isEphemeralOwner(owner int64) bool {
	return owner != 0 && owner != containerOwner && !isTTLOwner(owner)
}

// encodeTxn appends the log encoding of t.
func encodeTxn(e *encoder, t *txn) {
	e.int64(t.Zxid)
	e.int64(t.Time)
	e.int64(t.Session)
	e.int32(t.Type)
	switch t.Type {
	case opCreate:
		e.string(t.Path)
		e.buffer(t.Data)
		e.acls(t.ACL)
		e.int64(t.EphemeralOwner)
		e.int32(t.Cversion)
	case opDelete:
		e.string(t.Path)
	case opSetData:
		e.string(t.Path)
		e.buffer(t.Data)
		e.int32(t.Version)
	case opSetACL:
		e.string(t.Path)
		e.acls(t.ACL)
		e.int32(t.Version)
	case opCheck:
		e.string(t.Path)
		e.int32(t.Version)
	case opError:
		e.int32(t.Err)
	case opCreateSession:
		e.int32(t.Timeout)
	case opCloseSession:
	case opMulti:
		e.int32(int32(len(t.Sub)))
		for i := range t.Sub {
			encodeTxn(e, &t.Sub[i])
		}
	}
}

// decodeTxn reads one txn as encodeTxn wrote it. depth bounds multi nesting.
func decodeTxn(d *decoder, depth int) txn {
	t := txn{Zxid: d.int64(), Time: d.int64(), Session: d.int64(), Type: d.int32()}
	switch t.Type {
	case opCreate:
		t.Path, t.Data, t.ACL, t.EphemeralOwner, t.Cversion = d.string(), d.buffer(), d.acls(), d.int64(), d.int32()
	case opDelete:
		t.Path = d.string()
	case opSetData:
		t.Path, t.Data, t.Version = d.string(), d.buffer(), d.int32()
	case opSetACL:
		t.Path, t.ACL, t.Version = d.string(), d.acls(), d.int32()
	case opCheck:
		t.Path, t.Version = d.string(), d.int32()
	case opError:
		t.Err = d.int32()
	case opCreateSession:
		t.Timeout = d.int32()
	case opCloseSession:
	case opMulti:
		if depth > 0 {
			d.fail(fmt.Errorf("txn %#x: nested multi", t.Zxid))
			return t
		}
		n := d.count(28)
		for i := 0; i < n && d.err == nil; i++ {
			t.Sub = append(t.Sub, decodeTxn(d, depth+1))
		}
	default:
		d.fail(fmt.Errorf("txn %#x: unknown type %d", t.Zxid, t.Type))
	}
	return t
}
