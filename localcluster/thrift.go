package localcluster

import (
	"net"
	"strconv"

	"github.com/localstorm/localstorm/daemons/config"
)

// thriftAddr is where nimbus's Thrift service listens when Options leave it
// out: nimbus.thrift.port when the cluster's Conf sets it (`up -c
// nimbus.thrift.port=6627`), else a free port, so that several clusters and
// tests run side by side without fighting over Storm's 6627.
func thriftAddr(conf config.Conf) string {
	if _, set := conf[config.NimbusThriftPort]; set {
		if p, err := conf.Int(config.NimbusThriftPort); err == nil {
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		}
	}
	return "127.0.0.1:0"
}

// ThriftAddr is the address of nimbus's Thrift service (Storm's Nimbus
// service, for Storm's own clients), "127.0.0.1:PORT".
func (c *Cluster) ThriftAddr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nimbus == nil {
		return ""
	}
	return c.nimbus.ThriftAddr()
}

// ThriftPort is the port of nimbus's Thrift service (0 while nimbus restarts).
func (c *Cluster) ThriftPort() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nimbus == nil {
		return 0
	}
	return c.nimbus.ThriftPort()
}
