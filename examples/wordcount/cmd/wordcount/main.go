// Command wordcount is the word-count topology as a topology binary:
// `wordcount describe`, `wordcount submit`, `wordcount local`, and the worker
// mode supervisors run.
package main

import (
	"github.com/localstorm/localstorm/examples/wordcount"
	"github.com/localstorm/localstorm/topology/run"
)

func main() { run.Main("wordcount", wordcount.Builder()) }
