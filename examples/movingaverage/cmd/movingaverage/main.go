// Command movingaverage is the windowed moving average as a topology
// binary (see package movingaverage).
package main

import (
	"github.com/localstorm/localstorm/examples/movingaverage"
	"github.com/localstorm/localstorm/topology/run"
)

func main() { run.Main("movingaverage", movingaverage.Builder()) }
