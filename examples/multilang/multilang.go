// Package multilang mixes Go and Python in one topology: a Go spout of
// sentences, Storm's split-sentence bolt in Python (a shell bolt speaking
// Storm's multilang protocol through resources/storm.py), and a Go counter.
package multilang

import (
	"embed"
	"io/fs"

	"github.com/localstorm/localstorm/examples/wordcount"
	"github.com/localstorm/localstorm/topology"
)

//go:embed resources/*.py
var files embed.FS

// Resources are the scripts the shell bolt runs, as a jar's resources/.
func Resources() fs.FS {
	sub, err := fs.Sub(files, "resources")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// Builder returns sentences (Go) → split (python3 splitsentence.py) → count (Go).
func Builder() *topology.Builder {
	b := topology.NewBuilder()
	b.SetSpout("sentences", func() topology.Spout { return &wordcount.SentenceSpout{} }, 1)
	b.SetShellBolt("split", []string{"python3", "splitsentence.py"},
		map[string]topology.StreamDef{topology.DefaultStream: {Fields: topology.Fields{"word"}}}, 2).
		ShuffleGrouping("sentences")
	b.SetBasicBolt("count", func() topology.BasicBolt { return wordcount.NewCountBolt() }, 2).
		FieldsGrouping("split", topology.Fields{"word"})
	b.SetConf("topology.workers", 2)
	b.SetConf("topology.max.spout.pending", 200)
	return b
}
