package nimbus

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/daemons/cluster"
)

// ZNode serves the read-only ZooKeeper explorer: the znode at path (relative
// to storm.zookeeper.root) with its stat, its children and Storm's record in
// it decoded. The reply is bounded (api.ZNodeMaxChildren, api.ZNodeMaxData).
func (n *Nimbus) ZNode(ctx context.Context, path string) (*api.ZNode, error) {
	if err := checkZNodePath(path); err != nil {
		return nil, err
	}
	r, ok := n.state.(cluster.NodeReader)
	if !ok {
		return nil, fmt.Errorf("%w: this nimbus's cluster state cannot list znodes", api.ErrInternal)
	}
	node, err := r.ReadNode(path)
	if err != nil {
		return nil, err
	}
	if node == nil {
		return nil, fmt.Errorf("%w: no znode %s", api.ErrNotFound, path)
	}
	return znodeReply(path, node), nil
}

// checkZNodePath refuses what is not a clean absolute znode path.
func checkZNodePath(path string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: znode path %q %s; give an absolute path such as / or /assignments", api.ErrInvalid, path, why)
	}
	switch {
	case !strings.HasPrefix(path, "/"):
		return bad("does not start with /")
	case path != "/" && strings.HasSuffix(path, "/"):
		return bad("ends with /")
	case strings.Contains(path, "//"):
		return bad("has an empty segment")
	case strings.ContainsRune(path, 0):
		return bad("holds a NUL byte")
	}
	for _, seg := range strings.Split(path[1:], "/") {
		if seg == "." || seg == ".." {
			return bad("holds . or ..")
		}
	}
	return nil
}

func znodeReply(path string, node *cluster.Node) *api.ZNode {
	st := node.Stat
	z := &api.ZNode{
		Path: path,
		Stat: api.ZNodeStat{
			Czxid: st.Czxid, Mzxid: st.Mzxid, Pzxid: st.Pzxid, Ctime: st.Ctime, Mtime: st.Mtime,
			Version: st.Version, Cversion: st.Cversion, Aversion: st.Aversion,
			EphemeralOwner: st.EphemeralOwner, DataLength: st.DataLength, NumChildren: st.NumChildren,
		},
		Children: node.Children,
	}
	if z.Children == nil {
		z.Children = []string{}
	}
	if len(z.Children) > api.ZNodeMaxChildren {
		z.Children, z.ChildrenTruncated = z.Children[:api.ZNodeMaxChildren], true
	}
	kind, rec, err := cluster.DecodeNode(path, node.Data)
	z.Kind = kind
	if err != nil {
		z.DecodeError = err.Error()
	} else if rec != nil {
		if b, err := json.Marshal(rec); err == nil && len(b) <= api.ZNodeMaxData {
			z.Record = b
		}
	}
	if z.Record == nil {
		data := node.Data
		if len(data) > api.ZNodeMaxData {
			data, z.DataTruncated = data[:api.ZNodeMaxData], true
		}
		if utf8.Valid(data) {
			z.Data = string(data)
		} else {
			z.DataBase64 = base64.StdEncoding.EncodeToString(data)
		}
	}
	return z
}
