package cluster

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"regexp"
	"strings"

	"github.com/go-zookeeper/zk"

	"github.com/localstorm/localstorm/daemons/config"
)

// ErrNoAuth is ZooKeeper's NoAuth: the node's ACL does not let this
// session do what it asked.
var ErrNoAuth = zk.ErrNoAuth

// ACL is one ZooKeeper access control entry.
type ACL = zk.ACL

// Permission bits of an ACL (ZooKeeper's ZooDefs.Perms).
const (
	PermRead = zk.PermRead
	PermAll  = zk.PermAll
)

// Auth is the authentication a session adds when it is established
// (Storm's ZookeeperAuthInfo); the zero Auth adds none.
type Auth struct {
	Scheme  string
	Payload string
}

// AuthFromConf is Storm's ZookeeperAuthInfo: the topology's scheme and
// payload when both are set (a worker's configuration), else the daemons'.
func AuthFromConf(c config.Conf) Auth {
	scheme, _ := c[config.StormZookeeperTopologyAuthScheme].(string)
	payload, _ := c[config.StormZookeeperTopologyAuthPayload].(string)
	if c[config.StormZookeeperTopologyAuthScheme] == nil || c[config.StormZookeeperTopologyAuthPayload] == nil {
		scheme, _ = c[config.StormZookeeperAuthScheme].(string)
		payload, _ = c[config.StormZookeeperAuthPayload].(string)
	}
	return Auth{Scheme: scheme, Payload: payload}
}

// ServerAuthConfigured is Storm's isZkAuthenticationConfiguredStormServer:
// storm.zookeeper.auth.scheme is set.
func ServerAuthConfigured(c config.Conf) bool {
	s, _ := c[config.StormZookeeperAuthScheme].(string)
	return s != ""
}

// topologyAuthConfigured is Storm's isZkAuthenticationConfiguredTopology.
func topologyAuthConfigured(c config.Conf) bool {
	s, _ := c[config.StormZookeeperTopologyAuthScheme].(string)
	return s != ""
}

// creatorAll is ZooKeeper's CREATOR_ALL_ACL: every right for the identities
// the creating session authenticated as.
var creatorAll = zk.AuthACL(zk.PermAll)

// DaemonACL is the ACL of the nodes nimbus and supervisors create (Storm's
// DaemonType NIMBUS and SUPERVISOR): creator-only when the daemons
// authenticate, nil (open to all) otherwise.
func DaemonACL(c config.Conf) []ACL {
	if !ServerAuthConfigured(c) {
		return nil
	}
	return creatorAll
}

// WorkerACL is Storm's Utils.getWorkerACL: the nodes a worker creates
// (heartbeats, errors) belong to it and to storm.zookeeper.superACL, so that
// nimbus can read and remove them. nil without topology authentication.
func WorkerACL(c config.Conf) ([]ACL, error) {
	if !topologyAuthConfigured(c) {
		return nil, nil
	}
	super, err := superACL(c)
	if err != nil {
		return nil, err
	}
	return append(append([]ACL(nil), creatorAll...), super), nil
}

func superACL(c config.Conf) (ACL, error) {
	v, _ := c[config.StormZookeeperSuperACL].(string)
	if v == "" {
		return ACL{}, fmt.Errorf("ZooKeeper authentication is enabled but %s is not set: set it to the daemons' identity, "+
			"digest:USER:BASE64(SHA1(USER:PASSWORD)) for a storm.zookeeper.auth.payload of USER:PASSWORD", config.StormZookeeperSuperACL)
	}
	scheme, id, ok := strings.Cut(v, ":")
	if !ok || scheme == "" || id == "" {
		return ACL{}, fmt.Errorf("%s %q does not appear to be in the form scheme:acl, e.g. digest:storm:Base64Hash", config.StormZookeeperSuperACL, v)
	}
	return ACL{Perms: zk.PermAll, Scheme: scheme, ID: id}, nil
}

// TopologyACL is Storm's mkTopoReadOnlyAcls (perms PermRead) and
// mkTopoReadWriteAcls (PermAll): creator-only plus the given rights for the
// topology's own digest identity. nil without topology authentication.
func TopologyACL(topoConf config.Conf, perms int32) []ACL {
	if !topologyAuthConfigured(topoConf) {
		return nil
	}
	payload, _ := topoConf[config.StormZookeeperTopologyAuthPayload].(string)
	user, password, _ := strings.Cut(payload, ":")
	return append(append([]ACL(nil), creatorAll...), zk.DigestACL(perms, user, password)...)
}

// digestPayload is the form StormSubmitter accepts for a topology's payload.
var digestPayload = regexp.MustCompile(`^\S+:\S+$`)

// PrepareTopologyAuth does what Storm's submitter and nimbus do for a
// topology submitted to daemons that authenticate to ZooKeeper: the
// topology gets the digest scheme and its own payload (the one it brought
// when it is USER:PASSWORD, else a random one), and the cluster's
// storm.zookeeper.superACL, which its workers need. It changes nothing
// when the daemons do not authenticate, and fails when superACL is unset
// or malformed.
func PrepareTopologyAuth(daemonConf, topoConf config.Conf) error {
	if !ServerAuthConfigured(daemonConf) {
		delete(topoConf, config.StormZookeeperTopologyAuthScheme)
		delete(topoConf, config.StormZookeeperTopologyAuthPayload)
		return nil
	}
	if _, err := superACL(daemonConf); err != nil {
		return err
	}
	if p, _ := topoConf[config.StormZookeeperTopologyAuthPayload].(string); !digestPayload.MatchString(p) {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("generate the topology's ZooKeeper payload: %w", err)
		}
		topoConf[config.StormZookeeperTopologyAuthPayload] = fmt.Sprintf("%d:%d",
			binary.BigEndian.Uint64(b[:8])>>1, binary.BigEndian.Uint64(b[8:])>>1)
	}
	topoConf[config.StormZookeeperTopologyAuthScheme] = "digest"
	topoConf[config.StormZookeeperSuperACL] = daemonConf[config.StormZookeeperSuperACL]
	return nil
}
