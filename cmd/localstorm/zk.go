package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/localstorm/localstorm/api"
	"github.com/localstorm/localstorm/internal/cli"
)

// runZK reads the cluster's ZooKeeper tree through nimbus's read-only
// explorer API: `zk ls PATH` lists a znode's children, `zk get PATH` shows
// its stat and its data, Storm's records decoded.
func runZK(ctx context.Context, s cli.Streams, g *globals, args []string) error {
	fs := newFlags(s, "zk", "ls|get [PATH] [flags]\n  ls PATH   the children of the znode at PATH (default /)\n  get PATH  its stat and data, Storm's records (assignments, storm bases,\n            supervisor infos, worker heartbeats, errors) decoded")
	g.register(fs)
	g.registerOutput(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 || (fs.Arg(0) != "ls" && fs.Arg(0) != "get") {
		return cli.Usagef("usage: zk ls|get [PATH], e.g. zk ls /assignments")
	}
	path := "/"
	if fs.NArg() == 2 {
		path = fs.Arg(1)
	}
	c, _, err := g.client()
	if err != nil {
		return err
	}
	z, err := c.ZNode(ctx, path)
	if err != nil {
		return err
	}
	if fs.Arg(0) == "ls" {
		return printOut(s, g, z, func(w io.Writer) { printChildren(w, z) })
	}
	return printOut(s, g, z, func(w io.Writer) { printZNode(w, z) })
}

func printChildren(w io.Writer, z *api.ZNode) {
	for _, c := range z.Children {
		fmt.Fprintln(w, c)
	}
	if z.ChildrenTruncated {
		fmt.Fprintf(w, "... (%d children, the first %d shown)\n", z.Stat.NumChildren, len(z.Children))
	}
}

func printZNode(w io.Writer, z *api.ZNode) {
	st := z.Stat
	ms := func(t int64) string { return time.UnixMilli(t).UTC().Format(time.RFC3339Nano) }
	fmt.Fprintf(w, "path           %s\n", z.Path)
	fmt.Fprintf(w, "czxid          0x%x\nmzxid          0x%x\npzxid          0x%x\n", st.Czxid, st.Mzxid, st.Pzxid)
	fmt.Fprintf(w, "ctime          %s\nmtime          %s\n", ms(st.Ctime), ms(st.Mtime))
	fmt.Fprintf(w, "version        %d\ncversion       %d\naversion       %d\n", st.Version, st.Cversion, st.Aversion)
	fmt.Fprintf(w, "ephemeralOwner 0x%x\ndataLength     %d\nnumChildren    %d\n", st.EphemeralOwner, st.DataLength, st.NumChildren)
	switch {
	case len(z.Record) > 0:
		var b bytes.Buffer
		if json.Indent(&b, z.Record, "", "  ") != nil {
			b.Reset()
			b.Write(z.Record)
		}
		fmt.Fprintf(w, "\n%s (decoded):\n%s\n", z.Kind, b.String())
	case z.DecodeError != "":
		fmt.Fprintf(w, "\n%s that does not decode: %s\n%s\n", z.Kind, z.DecodeError, z.Data)
	case z.Data != "":
		fmt.Fprintf(w, "\ndata:\n%s\n", z.Data)
	case z.DataBase64 != "":
		fmt.Fprintf(w, "\ndata (base64):\n%s\n", z.DataBase64)
	}
	if z.DataTruncated {
		fmt.Fprintf(w, "... (data cut at %d bytes)\n", api.ZNodeMaxData)
	}
}
