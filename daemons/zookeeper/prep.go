package zookeeper

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"slices"
	"strings"
)

// This file is PrepRequestProcessor: it turns a write request into a txn,
// checking in ZooKeeper's order (paths, ACLs, existence, versions) against the
// current tree. A failed check is a *keeperError carrying the code; the caller
// turns it into an error txn, which still consumes a zxid.

// keeperError is a KeeperException: a code a client sees.
type keeperError int32

func (e keeperError) Error() string { return fmt.Sprintf("zookeeper error code %d", int32(e)) }

// authID is an authenticated identity of a connection (ServerCnxn.authInfo).
type authID struct {
	Scheme string
	ID     string
}

// prepContext is what prep needs besides the request: who asks.
type prepContext struct {
	session       int64
	auth          []authID
	extendedTypes bool
}

// Create flags (CreateMode).
const (
	modePersistent           = 0
	modeEphemeral            = 1
	modePersistentSequential = 2
	modeEphemeralSequential  = 3
	modeContainer            = 4
	modePersistentTTL        = 5
	modePersistentSeqTTL     = 6
)

// prep turns one write request into its txn (without zxid and time, which the
// caller stamps). op is the request's opcode.
func (t *tree) prep(c *prepContext, op int32, req any) (txn, error) {
	switch op {
	case opCreate, opCreate2, opCreateContainer, opCreateTTL:
		return t.prepCreate(c, op, req.(*createRequest))
	case opDelete:
		return t.prepDelete(c, req.(*deleteRequest))
	case opSetData:
		r := req.(*setDataRequest)
		n, err := t.nodeForWrite(c, r.Path, permWrite)
		if err != nil {
			return txn{}, err
		}
		v, err := checkVersion(n.version, r.Version)
		if err != nil {
			return txn{}, err
		}
		return txn{Type: opSetData, Path: r.Path, Data: r.Data, Version: v}, nil
	case opSetACL:
		r := req.(*setACLRequest)
		if !validatePath(r.Path) {
			return txn{}, keeperError(errBadArguments)
		}
		acl, err := fixupACL(c.auth, r.ACL)
		if err != nil {
			return txn{}, err
		}
		n := t.lookup(r.Path)
		if n == nil {
			return txn{}, keeperError(errNoNode)
		}
		if !checkACL(t.aclOf(n), permAdmin, c.auth) {
			return txn{}, keeperError(errNoAuth)
		}
		v, err := checkVersion(n.aversion, r.Version)
		if err != nil {
			return txn{}, err
		}
		return txn{Type: opSetACL, Path: r.Path, ACL: acl, Version: v}, nil
	case opCheck:
		r := req.(*checkVersionRequest)
		n, err := t.nodeForWrite(c, r.Path, permRead)
		if err != nil {
			return txn{}, err
		}
		if r.Version != -1 && r.Version != n.version {
			return txn{}, keeperError(errBadVersion)
		}
		return txn{Type: opCheck, Path: r.Path, Version: n.version}, nil
	case opReconfig:
		// Standalone servers have no reconfig (PrepRequestProcessor throws
		// Unimplemented once it finds no leader).
		return txn{}, keeperError(errReconfigDisabled)
	}
	return txn{}, keeperError(errUnimplemented)
}

// nodeForWrite validates the path, finds the node and checks perm on it.
func (t *tree) nodeForWrite(c *prepContext, path string, perm int32) (*node, error) {
	if !validatePath(path) {
		return nil, keeperError(errBadArguments)
	}
	n := t.lookup(path)
	if n == nil {
		return nil, keeperError(errNoNode)
	}
	if !checkACL(t.aclOf(n), perm, c.auth) {
		return nil, keeperError(errNoAuth)
	}
	return n, nil
}

// checkVersion is checkAndIncVersion: -1 matches any version.
func checkVersion(current, expected int32) (int32, error) {
	if expected != -1 && expected != current {
		return 0, keeperError(errBadVersion)
	}
	return current + 1, nil
}

func (t *tree) prepCreate(c *prepContext, op int32, r *createRequest) (txn, error) {
	flags := r.Flags
	ttl := int64(-1)
	if op == opCreateTTL {
		ttl = r.TTL
	}
	if flags < modePersistent || flags > modePersistentSeqTTL {
		return txn{}, keeperError(errBadArguments)
	}
	isTTL := flags == modePersistentTTL || flags == modePersistentSeqTTL
	isSequential := flags == modePersistentSequential || flags == modeEphemeralSequential || flags == modePersistentSeqTTL
	// validateCreateRequest.
	if isTTL && !c.extendedTypes {
		return txn{}, keeperError(errUnimplemented)
	}
	if isTTL {
		if ttl <= 0 || ttl > ttlMaxValue {
			return txn{}, keeperError(errBadArguments)
		}
	} else if ttl >= 0 {
		return txn{}, keeperError(errBadArguments)
	}
	// validatePathForCreate: only the slash and NUL checks before the suffix.
	path := r.Path
	slash := strings.LastIndexByte(path, '/')
	if slash == -1 || strings.IndexByte(path, 0) != -1 {
		return txn{}, keeperError(errBadArguments)
	}
	parentPath := path[:slash]
	acl, err := fixupACL(c.auth, r.ACL)
	if err != nil {
		return txn{}, err
	}
	parent := t.lookup(parentPath)
	if parent == nil {
		return txn{}, keeperError(errNoNode)
	}
	if !checkACL(t.aclOf(parent), permCreate, c.auth) {
		return txn{}, keeperError(errNoAuth)
	}
	if isSequential {
		path += fmt.Sprintf("%010d", t.state(parent).cversion)
	}
	if !validatePath(path) {
		return txn{}, keeperError(errBadArguments)
	}
	if t.find(path) != 0 {
		return txn{}, keeperError(errNodeExists)
	}
	if isEphemeralOwner(t.state(parent).owner) {
		return txn{}, keeperError(errNoChildrenForEphemerals)
	}
	var owner int64
	switch {
	case op == opCreateContainer || flags == modeContainer:
		// createContainer is the only way to make a container; a plain create
		// with flag 4 is refused by CreateMode checks on the client, and the
		// server treats it the same way.
		owner = containerOwner
	case isTTL:
		owner = ttlOwner(ttl)
	case flags == modeEphemeral || flags == modeEphemeralSequential:
		// checkSession: a session that expired while this request was on
		// its way must not leave an ephemeral behind.
		if _, live := t.sessions[c.session]; !live {
			return txn{}, keeperError(errSessionExpired)
		}
		owner = c.session
	}
	return txn{Type: opCreate, Path: path, Data: r.Data, ACL: acl, EphemeralOwner: owner, Cversion: t.state(parent).cversion + 1}, nil
}

func (t *tree) prepDelete(c *prepContext, r *deleteRequest) (txn, error) {
	// getParentPathAndValidate: no full path validation for deletes.
	path := r.Path
	if !strings.Contains(path, "/") || strings.IndexByte(path, 0) != -1 || isSpecialPath(path) {
		return txn{}, keeperError(errBadArguments)
	}
	parentPath, _ := parentOf(path)
	parent := t.lookup(parentPath)
	if parent == nil {
		return txn{}, keeperError(errNoNode)
	}
	if !checkACL(t.aclOf(parent), permDelete, c.auth) {
		return txn{}, keeperError(errNoAuth)
	}
	n := t.lookup(path)
	if n == nil {
		return txn{}, keeperError(errNoNode)
	}
	if _, err := checkVersion(n.version, r.Version); err != nil {
		return txn{}, err
	}
	if t.numChildren(n) > 0 {
		return txn{}, keeperError(errNotEmpty)
	}
	return txn{Type: opDelete, Path: path}, nil
}

// fixupACL is PrepRequestProcessor.fixupACL: duplicates dropped, "auth"
// expanded to the requester's authenticated ids, every id checked by its
// scheme's provider.
func fixupACL(auth []authID, acls []ACL) ([]ACL, error) {
	if len(acls) == 1 && acls[0].Scheme == "world" && acls[0].ID == "anyone" {
		return acls, nil // the common case, valid as it is
	}
	var uniq []ACL
	for _, a := range acls {
		if !slices.Contains(uniq, a) {
			uniq = append(uniq, a)
		}
	}
	if len(uniq) == 0 {
		return nil, keeperError(errInvalidACL)
	}
	var out []ACL
	for _, a := range uniq {
		switch {
		case a.Scheme == "world" && a.ID == "anyone":
			out = append(out, a)
		case a.Scheme == "auth":
			valid := false
			for _, id := range auth {
				if id.Scheme == "digest" { // the only provider that isAuthenticated
					valid = true
					out = append(out, ACL{Perms: a.Perms, Scheme: id.Scheme, ID: id.ID})
				}
			}
			if !valid {
				return nil, keeperError(errInvalidACL)
			}
		case a.Scheme == "digest" && strings.Count(a.ID, ":") == 1,
			a.Scheme == "ip" && validIPACL(a.ID):
			out = append(out, a)
		default:
			return nil, keeperError(errInvalidACL)
		}
	}
	return out, nil
}

// validIPACL is IPAuthenticationProvider.isValid: an address, optionally /bits.
func validIPACL(id string) bool {
	_, _, ok := parseIPACL(id)
	return ok
}

func parseIPACL(id string) (net.IP, int, bool) {
	addr, bitsStr, hasBits := strings.Cut(id, "/")
	ip := net.ParseIP(addr)
	if ip == nil {
		return nil, 0, false
	}
	if v4 := ip.To4(); v4 != nil && !strings.Contains(addr, ":") {
		ip = v4
	}
	bits := len(ip) * 8
	if hasBits {
		var b int
		if _, err := fmt.Sscanf(bitsStr, "%d", &b); err != nil || b < 0 || b > len(ip)*8 {
			return nil, 0, false
		}
		bits = b
	}
	return ip, bits, true
}

// ipMatches is IPAuthenticationProvider.matches: the client address against
// an ACL address with an optional mask.
func ipMatches(client, aclExpr string) bool {
	aclIP, bits, ok := parseIPACL(aclExpr)
	if !ok {
		return false
	}
	c := net.ParseIP(client)
	if c == nil {
		return false
	}
	if len(aclIP) == 4 {
		c = c.To4()
	}
	if len(c) != len(aclIP) {
		return false
	}
	return c.Mask(net.CIDRMask(bits, len(aclIP)*8)).Equal(aclIP.Mask(net.CIDRMask(bits, len(aclIP)*8)))
}

// checkACL is ZooKeeperServer.checkACL: super passes everything, world:anyone
// passes its permissions, otherwise an authenticated id of the same scheme
// must match.
func checkACL(acl *aclList, perm int32, auth []authID) bool {
	if acl == nil || len(acl.acl) == 0 {
		return true
	}
	for _, id := range auth {
		if id.Scheme == "super" {
			return true
		}
	}
	for _, a := range acl.acl {
		if a.Perms&perm == 0 {
			continue
		}
		if a.Scheme == "world" && a.ID == "anyone" {
			return true
		}
		for _, id := range auth {
			if id.Scheme != a.Scheme {
				continue
			}
			if (a.Scheme == "ip" && ipMatches(id.ID, a.ID)) || (a.Scheme != "ip" && id.ID == a.ID) {
				return true
			}
		}
	}
	return false
}

// digestOf is DigestAuthenticationProvider.generateDigest: "user:password"
// becomes "user:base64(sha1(user:password))".
func digestOf(userPassword string) string {
	user, _, _ := strings.Cut(userPassword, ":")
	sum := sha1.Sum([]byte(userPassword))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}
