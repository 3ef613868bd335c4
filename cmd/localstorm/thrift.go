package main

import (
	"net"
	"strconv"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/config"
	"github.com/localstorm/localstorm/localcluster/registry"
)

// statusDoc is `status -o json`: the cluster summary, plus the address of
// nimbus's Thrift service when the cluster was found by name.
type statusDoc struct {
	*api.ClusterSummary
	NimbusThrift string `json:"nimbusThrift,omitempty"`
	// NimbusThriftPort is nimbus.thrift.port, what Storm's clients are given.
	NimbusThriftPort int `json:"nimbusThriftPort,omitempty"`
}

func statusOf(sum *api.ClusterSummary, rec *registry.Record) statusDoc {
	doc := statusDoc{ClusterSummary: sum}
	if rec != nil && rec.ThriftAddr != "" {
		doc.NimbusThrift = rec.ThriftAddr
		if _, p, err := net.SplitHostPort(rec.ThriftAddr); err == nil {
			doc.NimbusThriftPort, _ = strconv.Atoi(p)
		}
	}
	return doc
}

// standaloneThriftAddr is where a standalone nimbus serves Storm's Thrift
// service: nimbus.thrift.port (Storm's 6627 unless configured) on loopback.
func standaloneThriftAddr(conf config.Conf) string {
	p, err := conf.Int(config.NimbusThriftPort)
	if err != nil || p == 0 {
		p = 6627
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
}

// uiAddr is where a nimbus serves its HTTP API, which is Storm UI's REST
// API and web UI: 127.0.0.1:ui.port (Storm's default 8080).
func uiAddr(conf config.Conf) string {
	p, err := conf.Int(config.UIPort)
	if err != nil || p == 0 {
		p = 8080
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
}
