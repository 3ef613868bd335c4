// Command movingsum is the stateful windowed moving sum as a topology
// binary (see movingaverage.StatefulBuilder).
package main

import (
	"github.com/localstorm/localstorm/examples/movingaverage"
	"github.com/localstorm/localstorm/topology/run"
)

func main() { run.Main("movingsum", movingaverage.StatefulBuilder()) }
