package api

import (
	"context"
	"encoding/json"
	"net/url"
)

// The ZooKeeper explorer: a read-only view of the cluster's ZooKeeper tree
// (under storm.zookeeper.root), with Storm's records decoded.
//
//	GET /api/v1/zk?path=/assignments/ID   ZNode
//
// The reply is bounded: at most ZNodeMaxChildren children are listed and at
// most ZNodeMaxData bytes of raw data are returned.
const (
	PathZK           = "/api/v1/zk"
	ZNodeMaxChildren = 1000
	ZNodeMaxData     = 64 << 10
)

// ZNode is one znode: its stat, its children, and its data, decoded when it
// is one of Storm's records.
type ZNode struct {
	Path string    `json:"path"`
	Stat ZNodeStat `json:"stat"`
	// Children are the child names, sorted; ChildrenTruncated says the
	// list stops at ZNodeMaxChildren of Stat.NumChildren.
	Children          []string `json:"children"`
	ChildrenTruncated bool     `json:"childrenTruncated,omitempty"`
	// Kind names the record the data holds ("assignment", "storm-base",
	// "supervisor-info", "worker-heartbeat", "error"), "" for other data.
	Kind string `json:"kind,omitempty"`
	// Record is the decoded record (its JSON form), when Kind is set and
	// the data decoded.
	Record json.RawMessage `json:"record,omitempty"`
	// DecodeError says why data that should be a record did not decode.
	DecodeError string `json:"decodeError,omitempty"`
	// Data is the raw data as text when it is valid UTF-8, else DataBase64
	// holds it; DataTruncated says either stops at ZNodeMaxData bytes.
	Data          string `json:"data,omitempty"`
	DataBase64    string `json:"dataBase64,omitempty"`
	DataTruncated bool   `json:"dataTruncated,omitempty"`
}

// ZNodeStat is ZooKeeper's Stat of a znode, with times in Unix ms.
type ZNodeStat struct {
	Czxid          int64 `json:"czxid"`
	Mzxid          int64 `json:"mzxid"`
	Pzxid          int64 `json:"pzxid"`
	Ctime          int64 `json:"ctime"`
	Mtime          int64 `json:"mtime"`
	Version        int32 `json:"version"`
	Cversion       int32 `json:"cversion"`
	Aversion       int32 `json:"aversion"`
	EphemeralOwner int64 `json:"ephemeralOwner"`
	DataLength     int32 `json:"dataLength"`
	NumChildren    int32 `json:"numChildren"`
}

// ZNode returns the znode at path (relative to the cluster's root, "/" is
// the root itself).
func (c *Client) ZNode(ctx context.Context, path string) (*ZNode, error) {
	var z ZNode
	return &z, c.get(ctx, "znode "+path, PathZK+"?"+url.Values{"path": {path}}.Encode(), &z)
}
