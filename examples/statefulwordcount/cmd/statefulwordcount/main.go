// Command statefulwordcount is the stateful word count as a topology
// binary (see package statefulwordcount).
package main

import (
	"github.com/localstorm/localstorm/examples/statefulwordcount"
	"github.com/localstorm/localstorm/topology/run"
)

func main() { run.Main("statefulwordcount", statefulwordcount.Builder()) }
